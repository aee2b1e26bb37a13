"""Changing a published programme from the back-office, under the same rules as event files.

Both paths (forms and ``load-event``) go through :func:`places.limit_problems`,
:func:`places.fill_places` and :func:`lifecycle.sessions_rescheduled`, so they can never
disagree about what a capacity change or a moved session means for registrants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import (
    Enrolment,
    Event,
    EventStatus,
    Profession,
    Round,
    Session,
    SessionKind,
    SessionQuota,
    User,
)
from symposium.models.event import SLUG
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.core.locking import begin_write, lock_programme
from symposium.services.registration import lifecycle, places


def schedule(session: Session) -> tuple[object, ...]:
    """What a calendar entry shows of a session: its times and rooms."""
    return (
        session.effective_starts_at,
        session.effective_ends_at,
        session.room,
        tuple((m.key, m.starts_at, m.ends_at, m.room) for m in session.meetings),
    )


@dataclass
class SessionChanges:
    title: str
    description: str
    room: str
    starts_at: datetime | None
    ends_at: datetime | None
    capacity: int | None
    hours: Decimal | None
    professions: list[Profession]
    quotas: dict[Profession, int] = field(default_factory=dict)


@dataclass
class SessionUpdate:
    before: dict[str, Any]
    after: dict[str, Any]
    promoted: list[Enrolment]
    calendar_updates: int


def _snapshot(session: Session) -> dict[str, Any]:
    return {
        "title": session.title,
        "room": session.room,
        "starts_at": session.starts_at.isoformat() if session.starts_at else None,
        "ends_at": session.ends_at.isoformat() if session.ends_at else None,
        "capacity": session.capacity,
        "hours": str(session.hours) if session.hours is not None else None,
        "professions": sorted(p.code for p in session.professions),
        "quotas": {q.profession.code: q.places for q in session.quotas},
    }


def update_session(
    db: DbSession, actor: User | None, session: Session, changes: SessionChanges, now: datetime
) -> SessionUpdate:
    """Apply an organiser's edit: refuse limits below what is confirmed, promote into new room,
    and send updated invitations when the time or room moved."""
    begin_write(db)
    lock_programme(db, session.event_id, [session.id])
    db.refresh(session)
    quotas = {p.id: n for p, n in changes.quotas.items()}
    for where, confirmed in places.limit_problems(db, session.id, changes.capacity, quotas):
        if where.startswith("quotas."):
            profession = next(p for p in changes.quotas if p.id == int(where[7:]))
            where = f"quota_{profession.code}"
        raise places.limit_error(where, confirmed)
    check_times(changes.starts_at, changes.ends_at)
    before, moved_from = _snapshot(session), schedule(session)
    session.title = changes.title
    session.description = changes.description
    session.room = changes.room
    if session.round is None:  # a round's sessions take the round's times
        session.starts_at, session.ends_at = changes.starts_at, changes.ends_at
    session.capacity = changes.capacity
    session.hours = changes.hours
    session.professions = changes.professions
    current = {q.profession_id: q for q in session.quotas}
    for profession, n in changes.quotas.items():
        if profession.id in current:
            current.pop(profession.id).places = n
        else:
            session.quotas.append(SessionQuota(profession=profession, places=n))
    for stale in current.values():
        session.quotas.remove(stale)
    db.flush()
    promoted = places.fill_places(db, [session.id], now, "promoted:limit_raised")
    updates = 0
    if schedule(session) != moved_from:
        updates = lifecycle.sessions_rescheduled(db, [session.id], now)
    result = SessionUpdate(before, _snapshot(session), promoted, updates)
    audit.record(
        db, user=actor, event=session.event, action="session_edited",
        target=f"session {session.key}", before=result.before, after=result.after, now=now,
    )  # fmt: skip
    return result


def set_status(
    db: DbSession, actor: User | None, event: Event, status: EventStatus, now: datetime
) -> int:
    """Publish, unpublish or cancel; cancelling withdraws every invitation. Returns notices."""
    begin_write(db)
    lock_programme(db, event.id, [])
    db.refresh(event)  # a concurrent change may have committed while we waited
    if event.status is status:
        return 0
    was = event.status
    event.status = status
    db.flush()
    audit.record(
        db, user=actor, event=event, action="event_status",
        before={"status": was.value}, after={"status": status.value}, now=now,
    )  # fmt: skip
    if status is EventStatus.CANCELLED and was is not EventStatus.CANCELLED:
        return lifecycle.event_cancelled(db, event, now)
    return 0


def _refuse(code: str, message: object, field: str) -> RuleError:
    return RuleError(code, message, field)


def check_times(start: datetime | None, end: datetime | None, field: str = "ends_at") -> None:
    if start is not None and end is not None and end <= start:
        raise _refuse("invalid_times", _l("The end must be after the start."), field)


def create_event(
    db: DbSession,
    actor: User | None,
    *,
    slug: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    timezone: str = "Europe/Amsterdam",
) -> Event:
    """A new draft event; the slug is the one the event file would use."""
    if not SLUG.fullmatch(slug):
        raise _refuse(
            "invalid_slug", _l("Use lower-case letters, digits and single hyphens."), "slug"
        )
    if db.scalar(select(Event.id).where(Event.slug == slug)) is not None:
        raise _refuse("slug_taken", _l("Another event already uses this address."), "slug")
    check_times(starts_at, ends_at)
    event = Event(slug=slug, title=title, starts_at=starts_at, ends_at=ends_at, timezone=timezone)
    db.add(event)
    db.flush()
    audit.record(
        db, user=actor, event=event, action="event_created",
        after={"slug": event.slug, "title": event.title}, now=now,
    )  # fmt: skip
    return event


def update_event(
    db: DbSession, actor: User | None, event: Event, values: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """Change an event's descriptive fields and window; returns what changed (before)."""
    begin_write(db)
    lock_programme(db, event.id, [])
    db.refresh(event)  # a concurrent change may have committed while we waited
    check_times(values["starts_at"], values["ends_at"])
    check_times(
        values["registration_opens_at"], values["registration_closes_at"], "registration_closes_at"
    )
    if values["capacity"] is not None:
        active = places.active_registrations(db, event.id)
        if values["capacity"] < active:
            raise places.limit_error("capacity", active)
    before = {}
    for name, value in values.items():
        if getattr(event, name) != value:
            old = getattr(event, name)
            before[name] = old.isoformat() if isinstance(old, datetime) else old
            setattr(event, name, value)
    if "starts_at" in before:
        event.reminders_queued_at = None  # postponed: a reminder before the new date
    db.flush()
    if before:
        audit.record(
            db, user=actor, event=event, action="event_edited", before=before,
            after={k: str(values[k]) for k in before}, now=now,
        )  # fmt: skip
    return before


def save_round(
    db: DbSession,
    actor: User | None,
    event: Event,
    round_: Round | None,
    *,
    key: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
) -> tuple[Round, int]:
    """Create or change a round; moving it updates the invitations of its sessions."""
    begin_write(db)
    lock_programme(db, event.id, [])
    db.refresh(event)  # a concurrent change may have committed while we waited
    check_times(starts_at, ends_at)
    if any(r.key == key and r is not round_ for r in event.rounds):
        raise _refuse("key_taken", _l("Another round already uses this key."), "key")
    created, updates = round_ is None, 0
    if round_ is None:
        round_ = Round(event=event, key=key, title=title, starts_at=starts_at, ends_at=ends_at)
        db.add(round_)
        db.flush()
    else:
        before = {s.id: schedule(s) for s in round_.sessions}
        round_.key, round_.title = key, title
        round_.starts_at, round_.ends_at = starts_at, ends_at
        db.flush()
        moved = [s.id for s in round_.sessions if schedule(s) != before[s.id]]
        updates = lifecycle.sessions_rescheduled(db, moved, now) if moved else 0
    audit.record(
        db, user=actor, event=event, action="round_created" if created else "round_edited",
        target=f"round {round_.key}", after={"title": round_.title, "calendar_updates": updates},
        now=now,
    )  # fmt: skip
    return round_, updates


def create_session(
    db: DbSession,
    actor: User | None,
    event: Event,
    *,
    key: str,
    kind: SessionKind,
    round_: Round | None,
    changes: SessionChanges,
    now: datetime,
) -> Session:
    """A new session, with the same fields the event file has."""
    begin_write(db)
    lock_programme(db, event.id, [])
    db.refresh(event)  # a concurrent change may have committed while we waited
    if any(s.key == key for s in event.sessions):
        raise _refuse("key_taken", _l("Another session already uses this key."), "key")
    if round_ is None and (changes.starts_at is None or changes.ends_at is None):
        raise _refuse(
            "time_required", _l("Give a start and an end, or choose a round."), "starts_at"
        )
    check_times(changes.starts_at, changes.ends_at)
    session = Session(
        event=event,
        key=key,
        kind=kind,
        round=round_,
        title=changes.title,
        description=changes.description,
        room=changes.room,
        starts_at=None if round_ else changes.starts_at,
        ends_at=None if round_ else changes.ends_at,
        capacity=changes.capacity,
        hours=changes.hours,
        professions=changes.professions,
        position=len(event.sessions),
    )
    for profession, n in changes.quotas.items():
        session.quotas.append(SessionQuota(profession=profession, places=n))
    db.add(session)
    db.flush()
    audit.record(
        db, user=actor, event=event, action="session_created", target=f"session {session.key}",
        after={"title": session.title}, now=now,
    )  # fmt: skip
    return session
