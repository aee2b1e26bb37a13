"""Queue mail in the outbox, inside the transaction of the change that causes it.

Nothing is sent here: a message is a row written with the change that caused it, so a rolled
back change sends nothing and a committed one cannot lose its message. What it says is
written later (``mail.render``), and it is sent by ``mail.delivery``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from email.utils import make_msgid
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm.attributes import set_committed_value

from symposium.models import (
    Certificate,
    Enrolment,
    EnrolmentStatus,
    OutboxMessage,
    OutboxStatus,
    Referral,
    Registration,
)
from symposium.services.mail.render import html_body

# Messages that list the registrant's programme: their places are kept as they were queued.
PROGRAMME_KINDS = frozenset(
    {
        "registered",
        "changed",
        "promoted",
        "enrolment_cancelled",
        "calendar_cancelled",
        "session_cancelled",
        "reminder",
    }
)


_INSERT_MESSAGE = insert(OutboxMessage.__table__)

_reg = Registration.__table__.c
# Takes the registration's next SEQUENCE in one statement, whatever the session has loaded.
_TAKE_SEQUENCE = (
    update(Registration.__table__)
    .where(_reg.id == bindparam("registration_id"))
    .values(ical_sequence=_reg.ical_sequence + 1)
    .returning(_reg.ical_sequence)
)


def queue(
    db: DbSession,
    registration: Registration,
    kind: str,
    now: datetime,
    *,
    invite: str | None = None,
    enrolment: Enrolment | None = None,
    old: Enrolment | None = None,
    about: dict[str, Any] | None = None,
    certificate: Certificate | None = None,
    to: str | None = None,
) -> None:
    """Add message ``kind`` for ``registration`` to the outbox; :func:`render` writes it later.

    ``invite``: the message carries the registrant's calendar invitation, "REQUEST" (all
    they attend as it now stands: the plenary sessions and their confirmed places) or
    "CANCEL" (withdraw it). ``about``: what else the message names (plain JSON values),
    e.g. the register whose number is missing. ``certificate``: the certificate whose PDF
    the worker attaches. ``to``: another address than the registration's (a new address to
    confirm, the old one told of the change).

    One change, one message: the invitation is one UID for everything the registrant
    attends (``programme.invitation``), so a change of several places (a registration, a
    switch, a cancellation) is a single calendar part in a single mail. Outlook and Gmail
    act on one text/calendar part per message and CalDAV servers refuse several UIDs in one
    object (docs/architecture.md, "Calendar invitations").

    Only what the message is about is stored now (the places it names and, with ``invite``,
    the confirmed places and the SEQUENCE the invitation takes, the registration's next).
    The text, HTML and iTIP calendar are rendered when the message is sent, outside the
    transaction that holds the places' locks and outside the request: rendering was a
    quarter of a registration's cost in a flash crowd. The registration must have been
    flushed. An anonymised registration (services.privacy) gets no mail: it has no address
    any more. A CANCEL for a registration never sent an invitation is left out.
    """
    if registration.anonymised_at is not None:
        return
    if invite == "CANCEL" and not registration.ical_sequence:
        invite = None  # nothing was ever put on their calendar
    _insert(db, registration, kind, now, invite, enrolment, old, about, certificate, to)


def _insert(
    db: DbSession,
    registration: Registration,
    kind: str,
    now: datetime,
    invite: str | None,
    enrolment: Enrolment | None,
    old: Enrolment | None,
    about: dict[str, Any] | None = None,
    certificate: Certificate | None = None,
    to: str | None = None,
) -> None:
    context: dict[str, Any] = {
        "enrolment": _as_now(enrolment) if enrolment is not None else None,
        "old": old.id if old is not None else None,
    }
    if about:
        context["about"] = about
    if kind in PROGRAMME_KINDS:
        context["places"] = [_as_now(e) for e in registration.enrolments if e.is_live]
    if invite is not None:
        taken = db.execute(_TAKE_SEQUENCE, {"registration_id": registration.id}).scalar_one()
        set_committed_value(registration, "ical_sequence", taken)
        context["invite"] = {
            "method": invite,
            "sequence": taken - 1,
            "places": [
                e.id for e in registration.enrolments if e.status is EnrolmentStatus.CONFIRMED
            ],
        }
    # A Core INSERT, not an object for the unit of work: this runs in every registration.
    db.execute(
        _INSERT_MESSAGE,
        _queued(
            now, kind, to or registration.email, registration.language, context,
            registration_id=registration.id, calendar_method=invite,
            certificate_id=certificate.id if certificate is not None else None,
        ),
    )  # fmt: skip


def _queued(
    now: datetime,
    kind: str,
    to_address: str,
    language: str,
    context: dict[str, Any],
    *,
    registration_id: int | None = None,
    referral_id: int | None = None,
    certificate_id: int | None = None,
    calendar_method: str | None = None,
) -> dict[str, Any]:
    """An outbox row waiting for the worker, which writes its subject and texts from
    ``context`` when it sends it: the one shape every queued message has."""
    return {
        "created_at": now,
        "registration_id": registration_id,
        "referral_id": referral_id,
        "kind": kind,
        "to_address": to_address,
        "language": language,
        "subject": "",
        "body_text": "",
        "body_html": "",
        "calendar_method": calendar_method,
        "message_id": make_msgid(domain=current_app.config["MAIL_DOMAIN"]),
        "status": OutboxStatus.QUEUED,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "render_context": context,
        "certificate_id": certificate_id,
    }


# Mail about a back-office account, written by the worker (see ``render.account_mail``).
ACCOUNT_KINDS = frozenset({"password_reset", "account_created"})


def queue_account_mail(
    db: DbSession, address: str, kind: str, language: str, now: datetime
) -> None:
    """Add a password link for the account of ``address``; the worker looks the account up.

    Nothing here depends on whether the account exists, so a request for an unknown address
    does the same work (one insert) as one for a known address.
    """
    if kind not in ACCOUNT_KINDS:
        raise ValueError(f"not a mail about an account: {kind}")
    db.execute(_INSERT_MESSAGE, _queued(now, kind, address, language, {"account": kind}))


# Mail to the referrer of a referral (services.referrals), written by the worker
# (``render.referral_mail``): a receipt, and a status update when the client agreed to it.
REFERRAL_KINDS = frozenset({"referral_received", "referral_status"})


def queue_referral_mail(
    db: DbSession, referral: Referral, kind: str, now: datetime, state: str | None = None
) -> None:
    """Add a mail to the referrer of ``referral``; ``state``: the step a status mail names.

    What it says is written when it is sent, from the referral's reference and this step
    only: no mail about a referral names the client or their need. The referral must have
    been flushed.
    """
    if kind not in REFERRAL_KINDS:
        raise ValueError(f"not a mail about a referral: {kind}")
    context: dict[str, Any] = {"referral": kind}
    if state is not None:
        context["state"] = state
    db.execute(
        _INSERT_MESSAGE,
        _queued(
            now, kind, referral.referrer_email, referral.language, context,
            referral_id=referral.id,
        ),
    )  # fmt: skip


def _as_now(enrolment: Enrolment) -> list[Any]:
    return [enrolment.id, str(enrolment.status), enrolment.waitlist_position, enrolment.replaces_id]


def compose(
    *,
    to_address: str,
    language: str,
    kind: str,
    subject: str,
    body: str,
    now: datetime,
    registration_id: int | None = None,
    links: Iterable[str] = (),
) -> OutboxMessage:
    """An outbox row, written at once (mail not about a registration, e.g. a password link).

    ``links``: the addresses the body holds that the HTML part may make clickable.
    """
    return OutboxMessage(
        created_at=now,
        registration_id=registration_id,
        kind=kind,
        to_address=to_address,
        language=language,
        subject=subject,
        body_text=body,
        body_html=html_body(subject, body, language, links),
        message_id=make_msgid(domain=current_app.config["MAIL_DOMAIN"]),
        next_attempt_at=now,
    )


def by_status(db: DbSession, status: OutboxStatus) -> list[OutboxMessage]:
    return list(
        db.scalars(
            select(OutboxMessage).where(OutboxMessage.status == status).order_by(OutboxMessage.id)
        )
    )


def forget(message: OutboxMessage) -> None:
    """Blank what a message says about its person (address, texts, calendar); kind, subject
    and dates stay for the counts. Used when their data is deleted (services.privacy) and by
    the worker for the last mail to someone already anonymised."""
    message.to_address = ""
    message.body_text = ""
    message.body_html = ""
    message.calendar = None
    message.qr_code = None
    message.certificate_id = None
    message.last_error = ""
    message.render_context = None
    message.list_unsubscribe = ""


def withdraws_calendar(message: OutboxMessage) -> bool:
    """Does this message (rendered or not yet) carry an iTIP CANCEL?"""
    if message.calendar_method == "CANCEL":
        return True
    invite = (message.render_context or {}).get("invite") or {}
    return invite.get("method") == "CANCEL"
