"""The audit trail: one call per organiser action, in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

from symposium.models import AuditEntry, Event, User


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
        target=target,
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
