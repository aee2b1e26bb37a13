"""Write a queued message: subject, text, HTML and calendar invitation, in its language.

Messages about a registration are rendered just before they are sent (the delivery worker
calls :func:`rendered`), from what :func:`~symposium.services.mail.outbox.queue` stored, so
the request that caused them does not pay for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from email.utils import parseaddr
from typing import Any
from urllib.parse import quote_plus

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import (
    Certificate,
    Enrolment,
    EnrolmentStatus,
    OrganiserMessage,
    OutboxMessage,
    Referral,
    Registration,
    User,
)
from symposium.services.accounts import passwords
from symposium.services.certificates import codes
from symposium.services.checkin import tickets
from symposium.services.core.urls import external_url
from symposium.services.programme import calendar
from symposium.services.registration.links import (
    EMAIL_LINK_DAYS,
    manage_token,
    unsubscribe_token,
)

SUBJECTS = {
    "registered": _l("Your registration for %(event)s"),
    "manage_link": _l("Your link for %(event)s"),
    "promoted": _l("You have a place: %(session)s"),
    "changed": _l("Your programme for %(event)s has changed"),
    "enrolment_cancelled": _l("Cancelled: %(session)s"),
    "registration_cancelled": _l("Your registration for %(event)s is cancelled"),
    "calendar_cancelled": _l("Removed from your calendar: %(session)s"),
    "invitation": _l("Calendar invitation: %(session)s"),
    "invitation_cancelled": _l("Removed from your calendar: %(session)s"),
    "session_changed": _l("Changed: %(session)s"),
    "session_cancelled": _l("Cancelled: %(session)s"),
    "event_cancelled": _l("Cancelled: %(event)s"),
    "number_missing": _l("Your register number for %(event)s"),
    "certificate": _l("Your certificate for %(event)s"),
    "email_confirm": _l("Confirm your e-mail address for %(event)s"),
    "reminder": _l("See you soon: %(event)s"),
    # The organiser's own subject (OrganiserMessage.subject), after the event's name.
    "organiser_message": "%(event)s: %(subject)s",
    "email_changed": _l("Your e-mail address for %(event)s has changed"),
    "password_reset": _l("Set a new password for symposium"),
    "account_created": _l("Your symposium account"),
    "referral_received": _l("Referral received: %(reference)s"),
    "referral_status": _l("News about referral %(reference)s"),
}


# Messages that carry the ticket: its code as text and, in the HTML part, as a QR image.
TICKET_KINDS = frozenset({"registered", "reminder"})


def qr_cid(message_id: str) -> str:
    """The Content-ID of a message's QR image: unique, as RFC 2392 asks, and the same when
    the message is written (the HTML's ``cid:`` link) and when it is built for sending."""
    return f"qr.{message_id.strip('<>')}"


class NothingToSend(LookupError):
    """The message has lost its reason to be sent: the worker drops it."""


class NoAccount(NothingToSend):
    """A password link asked for an address without an active account: send nothing."""


class Withdrawn(NothingToSend):
    """The certificate the message would carry was revoked (or replaced) before it left."""


def rendered(db: DbSession, message: OutboxMessage) -> dict[str, Any]:
    """A queued message's subject, text, HTML and calendar, from the current programme.

    Only reads (the caller stores the result, see :func:`render`). Times and rooms are
    today's (a session moved since is shown where it is now); the places an invitation
    names and their SEQUENCEs are those stored by :func:`queue`.
    """
    context = message.render_context
    if context is None:
        return {}
    if "account" in context:
        return account_mail(db, message)
    if "referral" in context:
        return referral_mail(db, message)
    registration = db.get(Registration, message.registration_id)
    if registration is None:
        raise LookupError("the registration of this message no longer exists")
    enrolment = _as_queued(db, context["enrolment"]) if context.get("enrolment") else None
    places = [_as_queued(db, state) for state in context.get("places", [])]
    old = db.get(Enrolment, context["old"]) if context.get("old") else None
    event = registration.event
    manage_url = external_url(
        "manage.show", token=manage_token(current_app.config["SECRET_KEY"], registration)
    )
    ticket = message.kind in TICKET_KINDS and registration.is_active
    ticket_url = external_url(
        "manage.ticket", token=manage_token(current_app.config["SECRET_KEY"], registration)
    )
    code = tickets.format_code(registration.checkin_code)
    certificate = None
    if message.certificate_id is not None or message.kind == "certificate":
        certificate = db.get(Certificate, message.certificate_id or 0)
        if certificate is None or certificate.revoked_at is not None:
            raise Withdrawn("the certificate of this message was revoked")
    verify_url = (
        external_url("certificates.verify", code=codes.format_code(certificate.code))
        if certificate is not None
        else ""
    )
    about = context.get("about") or {}
    # The link that confirms a new address (``registration.details``), mailed to that address.
    confirm_url = (
        external_url("manage.confirm_email", token=about["token"])
        if message.kind == "email_confirm"
        else ""
    )
    if message.kind == "reminder" and not registration.is_active:
        raise Withdrawn("the registration was cancelled after its reminder was queued")
    bulk, unsubscribe_url = _bulk(db, message.kind, registration, about)
    with force_locale(registration.language):
        session_title = enrolment.session.title if enrolment is not None else ""
        subject = str(SUBJECTS[message.kind]) % {
            "event": event.title,
            "session": session_title,
            "subject": bulk.subject if bulk is not None else "",
        }
        body = render_template(
            f"mail/{message.kind}.txt",
            registration=registration,
            event=event,
            manage_url=manage_url,
            enrolment=enrolment,
            old=old,
            places=places,
            ticket=ticket,
            ticket_url=ticket_url,
            code=code,
            about=about,
            confirm_url=confirm_url,
            email_link_days=EMAIL_LINK_DAYS,
            certificate=certificate,
            verify_url=verify_url,
            organiser_message=bulk,
            unsubscribe_url=unsubscribe_url,
            route_url=route_url(event),
        )
    qr = (code, qr_cid(message.message_id)) if ticket else None
    values: dict[str, Any] = {
        "subject": subject,
        "body_text": body,
        "body_html": html_body(
            subject,
            body,
            registration.language,
            links=[
                manage_url,
                ticket_url,
                *[
                    url
                    for url in (route_url(event), verify_url, confirm_url, unsubscribe_url)
                    if url
                ],
            ],
            qr=qr,
        ),
        "qr_code": registration.checkin_code if ticket else None,
        "render_context": None,
        "list_unsubscribe": unsubscribe_url,
    }
    if "invite" in context:
        stored = {int(k): v for k, v in context["invite"]["sequences"].items()}
        enrolments = [e for e in registration.enrolments if e.id in stored]
    if "invite" in context and any(calendar.has_times(e.session) for e in enrolments):
        # A place whose times were cleared since it was queued goes without a calendar.
        values["calendar"] = invitation(
            registration,
            context["invite"]["method"],
            enrolments,
            message.created_at,
            manage_url,
            sequence_of=stored,
        )
    return values


def _bulk(
    db: DbSession, kind: str, registration: Registration, about: dict[str, Any]
) -> tuple[OrganiserMessage | None, str]:
    """An organiser's message (``mail.messages``) and its recipient's one-click unsubscribe
    link; (None, "") for every other kind: transactional mail carries no such link."""
    if kind != "organiser_message":
        return None, ""
    if registration.unsubscribed_at is not None or not registration.is_active:
        raise Withdrawn("unsubscribed (or cancelled) since the message was queued")
    found = db.get(OrganiserMessage, about.get("message") or 0)
    if found is None:
        raise Withdrawn("the organiser's message no longer exists")
    token = unsubscribe_token(current_app.config["SECRET_KEY"], registration)
    return found, external_url("manage.unsubscribe", token=token)


def route_url(event: Any) -> str:
    """A route planner for the venue (OpenStreetMap, no tracking); "" without an address."""
    if not event.address:
        return ""
    place = ", ".join(p for p in (event.venue, event.address) if p)
    return "https://www.openstreetmap.org/search?query=" + quote_plus(place)


def account_mail(db: DbSession, message: OutboxMessage) -> dict[str, Any]:
    """A password link for the account of the message's address, or :class:`NoAccount`.

    Written here, by the worker, so the request that asked for it did the same work whether
    or not the account exists. The link is valid for an hour from the request and is built
    from BASE_URL, never from a request's Host header.
    """
    user = db.scalars(select(User).where(User.email == message.to_address)).one_or_none()
    if user is None or not user.active:
        raise NoAccount("no active account for this address")
    token = passwords.reset_token(user, current_app.config["SECRET_KEY"], message.created_at)
    link = external_url("admin.password_reset_confirm", token=token)
    with force_locale(message.language):
        subject = str(SUBJECTS[message.kind])
        body = render_template(f"mail/{message.kind}.txt", user=user, link=link)
    return {
        "subject": subject,
        "body_text": body,
        "body_html": html_body(subject, body, message.language, links=[link]),
        "render_context": None,
    }


def referral_mail(db: DbSession, message: OutboxMessage) -> dict[str, Any]:
    """A mail to a referrer: the reference and, for a status mail, the step it names.

    Nothing about the client (name, language, themes, need) is put in: a mail can go astray,
    and the referrer finds the client in their own file by the reference.
    """
    referral = db.get(Referral, message.referral_id or 0)
    if referral is None or referral.is_anonymised:
        raise Withdrawn("the referral of this message was deleted or anonymised")
    state = (message.render_context or {}).get("state", "")
    event = referral.event
    with force_locale(message.language):
        subject = str(SUBJECTS[message.kind]) % {"reference": referral.reference}
        body = render_template(
            f"mail/{message.kind}.txt",
            referrer=referral.referrer_name,
            reference=referral.reference,
            feedback=referral.feedback_consent,
            state=state,
            event=event,
        )
    return {
        "subject": subject,
        "body_text": body,
        "body_html": html_body(subject, body, message.language),
        "render_context": None,
    }


def render(db: DbSession, message: OutboxMessage) -> None:
    """Write a queued message now (see :func:`rendered`)."""
    for name, value in rendered(db, message).items():
        setattr(message, name, value)


class AsQueued:
    """An enrolment as it stood when its message was queued (status, position, switch)."""

    def __init__(self, enrolment: Enrolment, status: str, position: int | None, replaces: Any):
        self.enrolment = enrolment
        self.status = EnrolmentStatus(status)
        self.waitlist_position = position
        self.replaces = replaces

    def __getattr__(self, name: str) -> Any:  # session, ids, sequence: the enrolment's own
        return getattr(self.enrolment, name)


def _as_queued(db: DbSession, state: list[Any]) -> AsQueued:
    enrolment_id, status, position, replaces_id = state
    enrolment = db.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise LookupError(f"enrolment {enrolment_id} of this message no longer exists")
    replaces = db.get(Enrolment, replaces_id) if replaces_id else None
    return AsQueued(enrolment, status, position, replaces)


def render_pending(db: DbSession, session_ids: list[int] | None = None) -> int:
    """Write every queued message not written yet; returns how many.

    With ``session_ids``, only those of registrants with a place in these sessions: called
    before sessions are deleted, since their enrolments go with them and a message about a
    place (a cancellation and its calendar CANCEL above all) must still be written. Without,
    all of them (the CLI and tests read messages whole).
    """
    query = select(OutboxMessage).where(OutboxMessage.render_context.is_not(None))
    if session_ids is not None:
        query = query.where(
            OutboxMessage.registration_id.in_(
                select(Enrolment.registration_id).where(Enrolment.session_id.in_(session_ids))
            )
        )
    pending = db.scalars(query.order_by(OutboxMessage.id)).all()
    for message in pending:
        try:
            render(db, message)
        except NothingToSend:
            db.delete(message)  # nothing to send, and the typed address is not kept
    return len(pending)


def html_body(
    subject: str,
    body: str,
    language: str,
    links: Iterable[str] = (),
    qr: tuple[str, str] | None = None,
) -> str:
    """The HTML alternative of a plain-text body, paragraphs kept.

    Only ``links``, the addresses the system itself put into the body (a manage link, a
    password link), become clickable: a line that is exactly one of them. Text someone typed
    (a name, needs, an organisation, an event title) is never made a link, whatever it looks
    like. Matching a prefix such as BASE_URL would not do: anyone may type a line that starts
    with the site's address (a path of their choosing, or a login page look-alike).

    ``qr``: (a line of the body, a Content-ID): the QR image follows that line's paragraph.
    """
    with force_locale(language):
        return render_template(
            "mail/layout.html",
            subject=subject,
            language=language,
            links=frozenset(links),
            qr=qr,
            paragraphs=[
                [line.strip() for line in block.splitlines() if line.strip()]
                for block in body.split("\n\n")
                if block.strip()
            ],
        )


def sender_address() -> str:
    """The bare address of MAIL_SENDER: also the invitations' ORGANIZER, as iMIP expects."""
    return parseaddr(current_app.config["MAIL_SENDER"])[1]


def sequences(
    registration: Registration,
    enrolments: list[Enrolment],
    sequence_of: dict[int, int] | None = None,
) -> dict[str, int]:
    """Calendar UID -> SEQUENCE of these places (one UID per place, a group's included).

    ``sequence_of`` (enrolment id -> SEQUENCE) overrides the places' current ones.
    """
    return {
        calendar.invite_uid(registration, e.session): (sequence_of or {}).get(e.id, e.ical_sequence)
        for e in enrolments
    }


def invitation(
    registration: Registration,
    method: str,
    enrolments: list[Enrolment],
    now: datetime,
    manage_url: str,
    sequence_of: dict[int, int] | None = None,
) -> str:
    """The iTIP calendar for one place (one UID), carrying its place's SEQUENCE."""
    return calendar.invite(
        registration,
        [e.session for e in enrolments],
        method=method,
        sequence=sequences(registration, enrolments, sequence_of).__getitem__,
        manage_url=manage_url,
        now=now,
        organizer_email=sender_address(),
    ).decode()
