"""Write a queued message: subject, text, HTML and calendar invitation, in its language.

Messages about a registration are rendered just before they are sent (the delivery worker
calls :func:`rendered`), from what :func:`~symposium.services.mail.outbox.queue` stored, so
the request that caused them does not pay for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from email.utils import parseaddr
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium import filters
from symposium.models import (
    Certificate,
    Enrolment,
    EnrolmentStatus,
    Event,
    OrganiserMessage,
    OutboxMessage,
    Referral,
    Registration,
    Session,
    User,
)
from symposium.services.accounts import passwords
from symposium.services.certificates import codes
from symposium.services.checkin import tickets
from symposium.services.core.urls import external_url
from symposium.services.mail import layout
from symposium.services.programme import branding, calendar, invitation
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

# Messages about coming to the event: they say where it is, with a route link.
VENUE_KINDS = frozenset(
    {
        "registered",
        "manage_link",
        "changed",
        "promoted",
        "session_changed",
        "invitation",
        "reminder",
    }
)

# Messages that show the times (and rooms) of the sessions they are about.
TIMES_KINDS = frozenset({"session_changed", "invitation"})

# Messages without the manage link: the registration is gone, or the mail goes to an
# address that must not get it (a new address still to confirm, the old one told).
NO_MANAGE_LINK = frozenset(
    {"registration_cancelled", "event_cancelled", "email_confirm", "email_changed"}
)

# Messages that say what their calendar invitation holds (others say it in their words).
CALENDAR_NOTE_KINDS = frozenset({"registered", "changed", "promoted", "enrolment_cancelled"})


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
    today's (a session moved since is shown where it is now); the places a message names,
    and the places and SEQUENCE of its invitation, are those stored by :func:`queue`.
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
    secret = current_app.config["SECRET_KEY"]
    manage_url = external_url("manage.show", token=manage_token(secret, registration))
    ticket = message.kind in TICKET_KINDS and registration.is_active
    certificate = None
    if message.certificate_id is not None or message.kind == "certificate":
        certificate = db.get(Certificate, message.certificate_id or 0)
        if certificate is None or certificate.revoked_at is not None:
            raise Withdrawn("the certificate of this message was revoked")
    about = context.get("about") or {}
    if message.kind == "reminder" and not registration.is_active:
        raise Withdrawn("the registration was cancelled after its reminder was queued")
    bulk, unsubscribe_url = _bulk(db, message.kind, registration, about)
    sessions = _sessions(db, enrolment, about)
    method, ical = _calendar(registration, context.get("invite"), message.created_at, manage_url)
    values: dict[str, Any] = {
        "registration": registration,
        "event": event,
        "manage_url": manage_url,
        "enrolment": enrolment,
        "old": old,
        "places": places,
        "ticket": ticket,
        "ticket_url": external_url("manage.ticket", token=manage_token(secret, registration)),
        "code": tickets.format_code(registration.checkin_code),
        "qr": qr_cid(message.message_id) if ticket else None,
        "about": about,
        "email_link_days": EMAIL_LINK_DAYS,
        "certificate": certificate,
        "verify_url": external_url("certificates.verify", code=codes.format_code(certificate.code))
        if certificate is not None
        else "",
        # The programme where the message lists it (its places were stored when queued).
        "rows": layout.programme(event, places) if "places" in context else None,
        "sessions": sessions,
        "times": sessions if message.kind in TIMES_KINDS else [],
        "venue": message.kind in VENUE_KINDS,
        "action": None if message.kind in NO_MANAGE_LINK else "manage",
        "calendar_note": method == "REQUEST" and message.kind in CALENDAR_NOTE_KINDS,
        # An organiser's message (mail.messages): its text, and the one-click unsubscribe
        # link its note ends with (a link in the HTML part too).
        "organiser_message": bulk,
        "unsubscribe_url": unsubscribe_url,
        "links": frozenset({unsubscribe_url} if unsubscribe_url else ()),
    }
    if message.kind == "email_confirm":  # the link that confirms a new address (details.py)
        values["inline_link"] = external_url("manage.confirm_email", token=about["token"])
    with force_locale(registration.language):
        values["inline_label"] = _("Confirm your e-mail address")
        title = sessions[0].title if sessions else ""
        several = message.kind == "session_changed" and len(sessions) > 1
        kind = "changed" if several else message.kind
        subject = str(SUBJECTS[kind]) % {
            "event": event.title,
            "session": title,
            "subject": bulk.subject if bulk is not None else "",
        }
        text, html = _write(message, subject, values, event)
    found: dict[str, Any] = {
        "subject": subject,
        "body_text": text,
        "body_html": html,
        "qr_code": registration.checkin_code if ticket else None,
        "render_context": None,
        "list_unsubscribe": unsubscribe_url,
    }
    if "invite" in context:
        found |= {"calendar": ical, "calendar_method": method}
    return found


def _write(
    message: OutboxMessage, subject: str, values: dict[str, Any], event: Event | None
) -> tuple[str, str]:
    """Text and HTML of ``message`` (inside its language): the event's facts added."""
    values = {
        "subject": subject,
        "language": message.language,
        "session_times": layout.session_times,
        "organiser": (event.organiser_name or event.title) if event else _site_name(),
        "route": layout.route_url(event) if event else "",
        "when": _when(event) if event else "",
        "several_days": event is not None and _days(event)[0] != _days(event)[1],
        **values,
    }
    return layout.write(message.kind, values, _brand(event))


def _brand(event: Event | None) -> layout.Brand:
    """The event's look in its mail: its accent colour and logo (``programme.branding``),
    checked (:meth:`layout.Brand.checked`) before they reach the HTML."""
    if event is None:  # account mail: the site's own look
        return layout.Brand.checked(layout.DEFAULT_ACCENT, None)
    brand = branding.for_mail(event)
    return layout.Brand.checked(brand.accent, brand.logo_url)


def _days(event: Event) -> tuple[date, date]:
    return (
        event.starts_at.astimezone(event.tz).date(),
        event.ends_at.astimezone(event.tz).date(),
    )


def _when(event: Event) -> str:
    """The event's date and hours, or its first and last day, in the current language."""
    first, last = _days(event)
    if first != last:
        return filters.date_span(first, last)
    start = filters.local_time(event.starts_at, event.timezone)
    end = filters.local_time(event.ends_at, event.timezone)
    return f"{filters.local_date(event.starts_at, event.timezone)}, {start}–{end}"


def _site_name() -> str:
    return parseaddr(current_app.config["MAIL_SENDER"])[0] or "symposium"


def _sessions(db: DbSession, enrolment: Any, about: dict[str, Any]) -> list[Session]:
    """The sessions a message is about, by start: a plenary session or several moved ones
    (``about``), else the place's."""
    ids = about.get("sessions") or ([about["session"]] if about.get("session") else [])
    found = [s for s in (db.get(Session, i) for i in ids) if s is not None]
    if not found and enrolment is not None:
        found = [enrolment.session]
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(found, key=lambda s: (s.effective_starts_at or far, s.position))


def _calendar(
    registration: Registration,
    invite: dict[str, Any] | None,
    created_at: datetime,
    manage_url: str,
) -> tuple[str | None, str | None]:
    """(method, iCalendar) of the message's invitation, or (None, None).

    The registrant's one invitation (``programme.invitation``) with the confirmed places
    and SEQUENCE stored when queued. A REQUEST left with nothing to put on a calendar
    (their last timed place gone, or its times cleared) withdraws the invitation instead,
    when one was sent before; never sent, there is nothing to send.
    """
    if not invite:
        return None, None
    if "sequences" in invite:
        return _one_place(registration, invite, created_at, manage_url)
    chosen = set(invite["places"])
    sessions = [e.session for e in registration.enrolments if e.id in chosen]
    method = invite["method"]
    if method == "REQUEST" and not invitation.attended(registration, sessions):
        if not invite["sequence"]:
            return None, None
        method = "CANCEL"
    ical = invitation.invitation(
        registration,
        sessions,
        method=method,
        sequence=invite["sequence"],
        manage_url=manage_url,
        now=created_at,
        organizer_email=sender_address(),
    )
    return method, ical.decode()


def _one_place(
    registration: Registration, invite: dict[str, Any], created_at: datetime, manage_url: str
) -> tuple[str | None, str | None]:
    """A message queued before the invitation was one UID: its one place's calendar."""
    stored = {int(k): v for k, v in invite["sequences"].items()}
    enrolments = [e for e in registration.enrolments if e.id in stored]
    if not any(calendar.has_times(e.session) for e in enrolments):
        return None, None
    method = invite["method"]
    ical = calendar_invitation(
        registration, method, enrolments, created_at, manage_url, sequence_of=stored
    )
    return method, ical


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
        label = ACCOUNT_BUTTONS[message.kind]
        values = {"user": user, "link": link, "inline_link": link, "inline_label": label}
        text, html = _write(message, subject, _NOTHING | values, None)
    return {"subject": subject, "body_text": text, "body_html": html, "render_context": None}


# What the layouts ask of a message that is not about a registration.
_NOTHING: dict[str, Any] = {
    "registration": None,
    "event": None,
    "rows": None,
    "sessions": [],
    "times": [],
    "venue": False,
    "action": None,
    "ticket": False,
    "certificate": None,
    "calendar_note": False,
}

ACCOUNT_BUTTONS = {
    "password_reset": _l("Set a new password"),
    "account_created": _l("Choose your password"),
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


def html_body(subject: str, body: str, language: str, links: Iterable[str] = ()) -> str:
    """The HTML of a message written as plain text (``outbox.compose``): each line of
    ``body`` a paragraph in the mail layout.

    Only ``links``, the addresses the system itself put into the body (a password link),
    become clickable: a line that is exactly one of them. Text someone typed (a name, an
    organisation, an event title) is never made a link, whatever it looks like. Matching a
    prefix such as BASE_URL would not do: anyone may type a line that starts with the
    site's address (a path of their choosing, or a login page look-alike).
    """
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    with force_locale(language):
        return render_template(
            "mail/layout.html",
            **_NOTHING,
            subject=subject,
            language=language,
            organiser=_site_name(),
            greeting="",
            lead=lines,
            note=[],
            links=frozenset(links),
            preheader="",
            brand=_brand(None),
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


def calendar_invitation(
    registration: Registration,
    method: str,
    enrolments: list[Enrolment],
    now: datetime,
    manage_url: str,
    sequence_of: dict[int, int] | None = None,
) -> str:
    """The iTIP calendar for one place (one UID), carrying its place's SEQUENCE: the form of
    messages queued before the registrant's invitation became one UID for everything."""
    return calendar.invite(
        registration,
        [e.session for e in enrolments],
        method=method,
        sequence=sequences(registration, enrolments, sequence_of).__getitem__,
        manage_url=manage_url,
        now=now,
        organizer_email=sender_address(),
    ).decode()
