"""How a write transaction guards capacity on each database.

PostgreSQL stays at READ COMMITTED: after ``SELECT … FOR UPDATE`` returns, every later
statement in the transaction sees the rows other transactions committed while we waited, so
the count taken under the lock is the true count. Under REPEATABLE READ the count would come
from the older snapshot (or the transaction would abort with a serialization error), which is
exactly how a quota gets oversold.

SQLite has no row locks: a transaction begun IMMEDIATE holds the database's write lock until it
ends, so every capacity check and insert in it is serialised with all other writers.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import scoped_session

from symposium.models import Event, Session

# Built once (every registration runs them); Core columns, no ORM entities to load.
_s, _ev = Session.__table__.c, Event.__table__.c
_LOCK_SESSIONS = (
    select(_s.id, _s.capacity)
    .where(_s.id.in_(bindparam("ids", expanding=True)))
    .order_by(_s.id)
    .with_for_update()
)
_LOCK_EVENT = select(_ev.id).where(_ev.id == bindparam("id")).with_for_update()


def begin_write(db: DbSession) -> None:
    """Start the transaction in which places are counted and taken.

    Ends whatever read-only transaction the request had open (it must hold no unflushed
    writes), so that on SQLite the next one begins IMMEDIATE.
    """
    if db.get_bind().dialect.name != "sqlite":
        return
    session = db() if isinstance(db, scoped_session) else db
    if session.in_transaction() and db.connection().get_execution_options().get("sqlite_begin"):
        return  # already holding the write lock (one service calling another): stay atomic
    db.commit()
    db.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def lock_programme(db: DbSession, event_id: int, session_ids: Iterable[int]) -> None:
    """Lock for an organiser's change to the programme: the event row, then the sessions.

    The change gives the event a new programme stamp (an UPDATE of its row), so its row is
    taken first, in the order registrations take theirs; otherwise a registration holding
    the event row (events with a total capacity) and an edit holding a session could wait
    for each other.
    """
    db.execute(_LOCK_EVENT, {"id": event_id})
    lock_capacity(db, None, session_ids)


def lock_capacity(
    db: DbSession, event: Event | None, session_ids: Iterable[int]
) -> dict[int, int | None]:
    """Lock the rows that guard the counts, always in the same order; return fresh capacities.

    Order: the event row (only when it has a total capacity), then sessions by id, so two
    transactions never wait for each other in a cycle.
    """
    if event is not None and event.capacity is not None:
        db.execute(_LOCK_EVENT, {"id": event.id})
    ids = sorted(set(session_ids))
    if not ids:
        return {}
    return dict(db.execute(_LOCK_SESSIONS, {"ids": ids}).all())
