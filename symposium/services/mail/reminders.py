"""The reminder a few days before an event (``Event.reminder_days``, 2 unless the organiser
chose otherwise, 0 for none): where, when, how to get there, what to bring, and the ticket.

The mail worker (``flask send-mail``) asks for due reminders on every round; an event's
reminders are queued once, under the event's row lock, so two workers queue them once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

from symposium.models import Event, EventStatus, Registration, RegistrationStatus
from symposium.services.core import audit
from symposium.services.core.locking import Busy, begin_write, lock_event
from symposium.services.mail import outbox


def due(event: Event, now: datetime) -> bool:
    """Whether the event's reminders should go now: published, reminders on, within its
    reminder days before the start, and not sent yet."""
    return (
        event.status is EventStatus.PUBLISHED
        and event.reminder_days > 0
        and event.reminders_queued_at is None
        and event.starts_at - timedelta(days=event.reminder_days) <= now < event.starts_at
    )


def queue_due(db: DbSession, now: datetime) -> int:
    """Queue the reminders of every event whose moment has come; how many were queued.
    Commits per event, so a long list does not hold one event's lock for the others."""
    candidates = db.scalars(
        select(Event.id).where(
            Event.status == EventStatus.PUBLISHED,
            Event.reminder_days > 0,
            Event.reminders_queued_at.is_(None),
            Event.starts_at > now,
        )
    ).all()
    queued = 0
    for event_id in candidates:
        try:
            queued += _queue_event(db, event_id, now)
        except Busy:  # another worker holds the event: it queues them, or the next round does
            db.rollback()
    return queued


def _queue_event(db: DbSession, event_id: int, now: datetime) -> int:
    event = db.get(Event, event_id)
    if event is None or not due(event, now):
        return 0
    begin_write(db)
    lock_event(db, event_id)
    db.refresh(event)
    if not due(event, now):  # another worker was first
        db.commit()
        return 0
    people = db.scalars(
        select(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.ACTIVE,
            Registration.anonymised_at.is_(None),
        )
        .options(selectinload(Registration.enrolments))  # the programme each one lists
    ).all()
    for registration in people:
        outbox.queue(db, registration, "reminder", now)
    event.reminders_queued_at = now
    audit.record(
        db, user=None, event=event, action="reminders_queued",
        after={"count": len(people)}, now=now,
    )  # fmt: skip
    db.commit()
    return len(people)
