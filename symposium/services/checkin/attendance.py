"""Reading presence: who was in a session, late arrivals and early leavers, a person's history.

Accreditation awards points only for sessions attended in full, so "in full" has one home
here (``in_full``); ``presence`` imports these names too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

from symposium.models import Presence, Registration, Session

# Arriving up to this much after the start, or leaving this much before the end, is not
# reported as late or early (a queue at the door, a coat to fetch).
LATE_AFTER = timedelta(minutes=5)
EARLY_BEFORE = timedelta(minutes=5)


def late_by(presence: Presence) -> timedelta | None:
    """How late they came in, when later than ``LATE_AFTER`` after the start; else None."""
    start = presence.session.effective_starts_at
    if start is None or presence.checked_in_at <= start + LATE_AFTER:
        return None
    return presence.checked_in_at - start


def early_by(presence: Presence) -> timedelta | None:
    """How early they left, when earlier than ``EARLY_BEFORE`` before the end; else None."""
    end = presence.session.effective_ends_at
    if end is None or presence.checked_out_at is None:
        return None
    if presence.checked_out_at >= end - EARLY_BEFORE:
        return None
    return end - presence.checked_out_at


def in_full(presence: Presence) -> bool:
    """Present from the start to the end (within the margins), as accreditation counts it.

    Someone never checked out counts as staying to the end: "everyone left" closes a room.
    """
    return presence.is_live and late_by(presence) is None and early_by(presence) is None


def session_presences(db: DbSession, session: Session) -> list[Presence]:
    """The live presences of a session, with who recorded them."""
    return list(
        db.scalars(
            select(Presence)
            .where(Presence.session_id == session.id, Presence.undone_at.is_(None))
            .options(
                selectinload(Presence.registration),
                selectinload(Presence.checked_in_by),
                selectinload(Presence.checked_out_by),
            )
            .order_by(Presence.checked_in_at, Presence.id)
        )
    )


@dataclass(frozen=True)
class Counts:
    """A session's door figures: checked in (ever, not undone), checked out, still in."""

    checked_in: int
    checked_out: int

    @property
    def still_in(self) -> int:
        return self.checked_in - self.checked_out


def session_counts(db: DbSession, session: Session) -> Counts:
    """The door figures of a session, in one query (the scanner's answers carry them)."""
    checked_in, checked_out = db.execute(
        select(func.count(), func.count(Presence.checked_out_at)).where(
            Presence.session_id == session.id, Presence.undone_at.is_(None)
        )
    ).one()
    return Counts(checked_in, checked_out)


def registration_presences(db: DbSession, registration: Registration) -> list[Presence]:
    """A person's presence history, undone ones included (the participant page shows both)."""
    return list(
        db.scalars(
            select(Presence)
            .where(Presence.registration_id == registration.id)
            .options(selectinload(Presence.session))
            .order_by(Presence.checked_in_at, Presence.id)
        )
    )


def presences_by_registration(
    db: DbSession, registration_ids: Iterable[int]
) -> dict[int, list[Presence]]:
    """Live presences per registration (exports, certificates), in one query."""
    ids = list(registration_ids)
    found: dict[int, list[Presence]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = db.scalars(
        select(Presence)
        .where(Presence.registration_id.in_(ids), Presence.undone_at.is_(None))
        .order_by(Presence.checked_in_at)
    )
    for presence in rows:
        found[presence.registration_id].append(presence)
    return found
