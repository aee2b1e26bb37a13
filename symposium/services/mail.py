"""Queue mail in the outbox, in the registrant's language, inside the current transaction.

Nothing is sent here: a message is a row written with the change that caused it, so a rolled
back change sends nothing and a committed one cannot lose its message.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import make_msgid, parseaddr
from typing import Any

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import Enrolment, OutboxMessage, OutboxStatus, Registration
from symposium.services import calendar

SUBJECTS = {
    "registered": _l("Your registration for %(event)s"),
    "manage_link": _l("Your link for %(event)s"),
    "promoted": _l("You have a place: %(session)s"),
    "changed": _l("Your programme for %(event)s has changed"),
    "enrolment_cancelled": _l("Cancelled: %(session)s"),
    "registration_cancelled": _l("Your registration for %(event)s is cancelled"),
    "calendar_cancelled": _l("Removed from your calendar: %(session)s"),
    "session_changed": _l("Changed: %(session)s"),
    "session_cancelled": _l("Cancelled: %(session)s"),
    "event_cancelled": _l("Cancelled: %(event)s"),
}


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL, also outside a request (then based on the BASE_URL setting)."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        return url_for(endpoint, _external=True, **values)


def queue(
    db: DbSession,
    registration: Registration,
    kind: str,
    now: datetime,
    *,
    invite: tuple[str, list[Enrolment]] | None = None,
    **context: Any,
) -> OutboxMessage:
    """Render message ``kind`` for ``registration`` and add it to the outbox.

    ``invite`` = (method, enrolments) adds an iTIP calendar (REQUEST or CANCEL) for those
    places, each with its UID and current SEQUENCE.
    """
    from symposium.services.enrolment import manage_token

    token = context.pop("token", None) or manage_token(
        current_app.config["SECRET_KEY"], registration
    )
    event = registration.event
    with force_locale(registration.language):
        values = {
            "registration": registration,
            "event": event,
            "manage_url": external_url("manage.show", token=token),
            **context,
        }
        enrolment = context.get("enrolment")
        session_title = enrolment.session.title if enrolment is not None else ""
        subject = SUBJECTS[kind] % {"event": event.title, "session": session_title}
        body = render_template(f"mail/{kind}.txt", **values)
    message = compose(
        to_address=registration.email,
        language=registration.language,
        kind=kind,
        subject=str(subject),
        body=body,
        now=now,
        registration_id=registration.id,
    )
    if invite is not None:
        method, enrolments = invite
        message.calendar_method = method
        message.calendar = invitation(registration, method, enrolments, now, values["manage_url"])
    db.add(message)
    return message


def compose(
    *,
    to_address: str,
    language: str,
    kind: str,
    subject: str,
    body: str,
    now: datetime,
    registration_id: int | None = None,
) -> OutboxMessage:
    """An outbox row with the plain text and its HTML rendering (links made clickable)."""
    with force_locale(language):
        html = render_template(
            "mail/layout.html",
            subject=subject,
            language=language,
            paragraphs=[
                [line.strip() for line in block.splitlines() if line.strip()]
                for block in body.split("\n\n")
                if block.strip()
            ],
        )
    return OutboxMessage(
        created_at=now,
        registration_id=registration_id,
        kind=kind,
        to_address=to_address,
        language=language,
        subject=subject,
        body_text=body,
        body_html=html,
        message_id=make_msgid(domain=current_app.config["MAIL_DOMAIN"]),
        next_attempt_at=now,
    )


def sender_address() -> str:
    """The bare address of MAIL_SENDER: also the invitations' ORGANIZER, as iMIP expects."""
    return parseaddr(current_app.config["MAIL_SENDER"])[1]


def sequences(registration: Registration, enrolments: list[Enrolment]) -> dict[str, int]:
    """Calendar UID -> SEQUENCE of these places (a group's meetings share their place's)."""
    return {
        calendar.invite_uid(registration, item): e.ical_sequence
        for e in enrolments
        for item in (e.session.meetings or [e.session])
    }


def invitation(
    registration: Registration,
    method: str,
    enrolments: list[Enrolment],
    now: datetime,
    manage_url: str,
) -> str:
    """The calendar for these places, each VEVENT carrying its place's SEQUENCE."""
    return calendar.invite(
        registration,
        [e.session for e in enrolments],
        method=method,
        sequence=sequences(registration, enrolments).__getitem__,
        manage_url=manage_url,
        now=now,
        organizer_email=sender_address(),
    ).decode()


def by_status(db: DbSession, status: OutboxStatus) -> list[OutboxMessage]:
    return list(
        db.scalars(
            select(OutboxMessage).where(OutboxMessage.status == status).order_by(OutboxMessage.id)
        )
    )
