"""The audit trail: one entry per action of a back-office user, in the same transaction.

Services write it (never views), so a form, the API and the CLI leave the same trail. The
actor is the signed-in user, or None for the system (the CLI, an event file, a worker).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

from symposium.models import AuditEntry, Event, Registration, User

TARGET_LENGTH = AuditEntry.__table__.c.target.type.length


def record(
    db: DbSession,
    *,
    user: User | None,
    event: Event | None,
    action: str,
    target: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
    now: datetime,
) -> AuditEntry:
    entry = AuditEntry(
        at=now,
        user_id=user.id if user is not None else None,
        event_id=event.id if event is not None else None,
        action=action,
        # A label, not a key: "user <address>" can exceed the column for a long address.
        target=target[:TARGET_LENGTH],
        before=before or {},
        after=after or {},
        note=note,
    )
    db.add(entry)
    return entry


def for_event(db: DbSession, event: Event, limit: int = 500) -> list[AuditEntry]:
    """The newest entries first."""
    return list(
        db.scalars(
            select(AuditEntry)
            .where(AuditEntry.event_id == event.id)
            .options(selectinload(AuditEntry.user))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )


def registration_statuses(registration: Registration) -> dict[str, str]:
    """Where someone stands, per session key: ``confirmed`` or ``waitlisted 3``."""
    return {
        e.session.key: (f"{e.status}" + (f" {e.waitlist_position}" if e.waitlist_position else ""))
        for e in registration.enrolments
        if e.is_live
    }


def record_participant(
    db: DbSession,
    actor: User | None,
    registration: Registration,
    action: str,
    now: datetime,
    *,
    before: dict[str, str] | None = None,
    note: str = "",
) -> AuditEntry:
    """An action on someone's registration, with their statuses before and after it."""
    return record(
        db,
        user=actor,
        event=registration.event,
        action=action,
        target=f"registration {registration.id} {registration.email}",
        before=before,
        after=registration_statuses(registration),
        note=note,
        now=now,
    )
