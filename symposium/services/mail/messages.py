"""An organiser's message to everyone registered for an event, or to one session's
participants: previewed and counted first, sent through the outbox once (a second click
sends nothing), and honouring who unsubscribed.

Only these messages are bulk mail: they carry ``List-Unsubscribe`` with one-click
``List-Unsubscribe-Post`` (RFC 8058; Gmail and Yahoo require it of bulk senders). Mail
about a person's own registration (confirmations, invitations, reminders, certificates) is
transactional and keeps coming.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import (
    Enrolment,
    EnrolmentStatus,
    Event,
    OrganiserMessage,
    Registration,
    RegistrationStatus,
    Session,
    User,
)
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.core.locking import begin_write, lock_event
from symposium.services.core.text import has_control, normal_lines, single_line_problem
from symposium.services.mail import outbox

SUBJECT_LIMIT = 200
BODY_LIMIT = 10_000


@dataclass(frozen=True)
class Audience:
    """Who a message would reach: the recipients, and how many unsubscribed are left out."""

    recipients: list[Registration]
    unsubscribed: int


def audience(db: DbSession, event: Event, session: Session | None = None) -> Audience:
    """Active registrations of the event (of ``session``: its confirmed participants), with
    an address (not anonymised), minus those who unsubscribed."""
    query = select(Registration).where(
        Registration.event_id == event.id,
        Registration.status == RegistrationStatus.ACTIVE,
        Registration.anonymised_at.is_(None),
    )
    if session is not None:
        query = query.where(
            Registration.id.in_(
                select(Enrolment.registration_id).where(
                    Enrolment.session_id == session.id,
                    Enrolment.status == EnrolmentStatus.CONFIRMED,
                )
            )
        )
    everyone = list(db.scalars(query.order_by(Registration.id)))
    recipients = [r for r in everyone if r.unsubscribed_at is None]
    return Audience(recipients, len(everyone) - len(recipients))


def check(subject: str, body: str) -> None:
    """A subject on one line and a body, both within their limits (see :func:`paragraphs`
    for the body's line breaks)."""
    if not subject.strip():
        raise RuleError("subject_required", _l("Write a subject."), "subject")
    if len(subject) > SUBJECT_LIMIT or single_line_problem(subject) or has_control(subject):
        raise RuleError(
            "invalid_subject",
            _l("One line of at most %(num)d characters.", num=SUBJECT_LIMIT),
            "subject",
        )
    if not body.strip():
        raise RuleError("body_required", _l("Write the message."), "body")
    if len(body) > BODY_LIMIT:
        raise RuleError("field_too_long", _l("At most %(num)d characters.", num=BODY_LIMIT), "body")


def send(
    db: DbSession,
    actor: User | None,
    event: Event,
    subject: str,
    body: str,
    session: Session | None,
    key: str,
    now: datetime,
) -> tuple[OrganiserMessage, bool]:
    """Queue the message for its audience; (the message, whether it was queued now). The
    preview's ``key`` makes a replayed or double-clicked send return the first one: the
    event's lock makes a second click wait for the first and then find it."""
    check(subject, body)
    begin_write(db)
    lock_event(db, event.id)
    done = db.scalars(select(OrganiserMessage).where(OrganiserMessage.key == key)).one_or_none()
    if done is not None:
        if done.event_id != event.id:
            raise RuleError("unknown_message", _l("This form could not be checked."), status=404)
        return done, False
    found = audience(db, event, session)
    if not found.recipients:
        raise RuleError("no_recipients", _l("No one would receive this message."), "audience")
    message = OrganiserMessage(
        event_id=event.id,
        session_id=session.id if session is not None else None,
        subject=subject.strip(),
        body=normal_lines(body),
        key=key,
        recipients=len(found.recipients),
        created_at=now,
        created_by_id=actor.id if actor is not None else None,
    )
    db.add(message)
    db.flush()
    for registration in found.recipients:
        outbox.queue(db, registration, "organiser_message", now, about={"message": message.id})
    audit.record(
        db, user=actor, event=event, action="message_sent",
        target=f"session:{session.key}" if session is not None else "",
        after={"subject": message.subject, "count": message.recipients}, now=now,
    )  # fmt: skip
    db.flush()
    return message, True


def sent(db: DbSession, event: Event) -> list[OrganiserMessage]:
    """The event's messages, newest first."""
    return list(
        db.scalars(
            select(OrganiserMessage)
            .where(OrganiserMessage.event_id == event.id)
            .order_by(OrganiserMessage.id.desc())
        )
    )


def unsubscribe(db: DbSession, registration: Registration, now: datetime) -> bool:
    """No more organiser messages for this registration; True when it changed (a second
    click, or a mail client's one-click POST after the person's own, changes nothing)."""
    if registration.unsubscribed_at is not None:
        return False
    registration.unsubscribed_at = now
    audit.record(
        db, user=None, event=registration.event, action="unsubscribed",
        target=f"registration:{registration.id}", now=now, note="by the registrant",
    )  # fmt: skip
    db.flush()
    return True
