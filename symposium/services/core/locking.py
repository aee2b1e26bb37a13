"""How a write transaction guards capacity on each database, and how long it waits for a lock.

PostgreSQL stays at READ COMMITTED: after ``SELECT … FOR UPDATE`` returns, every later
statement in the transaction sees the rows other transactions committed while we waited, so
the count taken under the lock is the true count. Under REPEATABLE READ the count would come
from the older snapshot (or the transaction would abort with a serialization error), which is
exactly how a quota gets oversold.

SQLite has no row locks: a transaction begun IMMEDIATE holds the database's write lock until it
ends, so every capacity check and insert in it is serialised with all other writers.

No request waits longer than ``LOCK_TIMEOUT_SECONDS`` for a lock: on PostgreSQL every lock
statement below also sets the transaction's ``lock_timeout`` (``set_config(…, true)`` is
``SET LOCAL``: it ends with the transaction), inside its own WHERE clause, so the limit costs no
round trip of its own and also bounds every later wait in the same transaction; on SQLite the
connection's busy timeout is set to the same value (``create_app``). Either database's "gave
up waiting" error reaches callers as :class:`Busy` (see ``symposium.extensions``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import Select, bindparam, func, select, true
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import scoped_session

from symposium.config import Defaults
from symposium.models import Event, Session

# PostgreSQL's lock_not_available: raised by lock_timeout (and by NOWAIT, which we do not use).
LOCK_NOT_AVAILABLE = "55P03"


class Busy(OperationalError):
    """A lock was not granted within LOCK_TIMEOUT_SECONDS: nothing was written; try again soon.

    Raised in place of the driver's own error (PostgreSQL ``LockNotAvailable``, SQLite
    "database is locked") so that one app-level handler can answer every route the same way:
    503 with Retry-After. Still an ``OperationalError``, so code that handled those still does.
    """


def is_lock_timeout(error: BaseException) -> bool:
    """Whether a DBAPI error means "waited too long for a lock" (psycopg 3 or sqlite3)."""
    if isinstance(error, sqlite3.OperationalError):
        # SQLITE_BUSY and its extended codes (e.g. SQLITE_BUSY_SNAPSHOT) in the low byte.
        code = getattr(error, "sqlite_errorcode", None)  # absent when raised by hand
        return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY
    return getattr(error, "sqlstate", None) == LOCK_NOT_AVAILABLE


def lock_timeout_seconds() -> float:
    """The configured limit (the default outside an app, e.g. in a bench script)."""
    if has_app_context():
        return float(current_app.config["LOCK_TIMEOUT_SECONDS"])
    return float(Defaults.LOCK_TIMEOUT_SECONDS)


def _lock_timeout_ms() -> str:
    return str(max(1, round(lock_timeout_seconds() * 1000)))


# Built once (every registration runs them); Core columns, no ORM entities to load.
_s, _ev = Session.__table__.c, Event.__table__.c
_LOCK_SESSIONS = (
    select(_s.id, _s.capacity)
    .where(_s.id.in_(bindparam("ids", expanding=True)))
    .order_by(_s.id)
    .with_for_update()
)
_LOCK_EVENT = select(_ev.id).where(_ev.id == bindparam("id")).with_for_update()
# PostgreSQL's twins of the two: a row passes the WHERE clause, so set_config has run, before
# LockRows tries to lock it (EXPLAIN: LockRows above the scan that filters).
_WITHIN_TIMEOUT = func.set_config("lock_timeout", bindparam("lock_timeout"), true()).is_not(None)
_LOCK_SESSIONS_PG = _LOCK_SESSIONS.where(_WITHIN_TIMEOUT)
_LOCK_EVENT_PG = _LOCK_EVENT.where(_WITHIN_TIMEOUT)


def _lock(
    db: DbSession, sqlite: Select[Any], postgresql: Select[Any], params: dict[str, Any]
) -> Any:
    if db.get_bind().dialect.name == "postgresql":
        return db.execute(postgresql, {**params, "lock_timeout": _lock_timeout_ms()})
    return db.execute(sqlite, params)


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


def lock_event(db: DbSession, event_id: int) -> None:
    """Lock an event's row: what guards work done once per event (issuing certificates),
    taken in the same place of the order as a registration or a programme change takes it."""
    _lock(db, _LOCK_EVENT, _LOCK_EVENT_PG, {"id": event_id})


def lock_programme(db: DbSession, event_id: int, session_ids: Iterable[int]) -> None:
    """Lock for an organiser's change to the programme: the event row, then the sessions.

    The change gives the event a new programme stamp (an UPDATE of its row), so its row is
    taken first, in the order registrations take theirs; otherwise a registration holding
    the event row (events with a total capacity) and an edit holding a session could wait
    for each other.
    """
    _lock(db, _LOCK_EVENT, _LOCK_EVENT_PG, {"id": event_id})
    lock_capacity(db, None, session_ids)


def lock_capacity(
    db: DbSession, event: Event | None, session_ids: Iterable[int]
) -> dict[int, int | None]:
    """Lock the rows that guard the counts, always in the same order; return fresh capacities.

    Order: the event row (only when it has a total capacity), then sessions by id, so two
    transactions never wait for each other in a cycle.
    """
    if event is not None and event.capacity is not None:
        _lock(db, _LOCK_EVENT, _LOCK_EVENT_PG, {"id": event.id})
    ids = sorted(set(session_ids))
    if not ids:
        return {}
    return dict(_lock(db, _LOCK_SESSIONS, _LOCK_SESSIONS_PG, {"ids": ids}).all())
