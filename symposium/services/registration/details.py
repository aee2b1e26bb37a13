"""A registrant corrects their own details: name, organisation, phone and needs until the
registration closes; a new e-mail address only once a link sent to it has been followed.

The same checks as the registration form (``registration.validation``). The organiser's
history records which details changed and when, not the values: the participant page shows
the current ones, and the log need not keep personal data of its own. Register numbers have
their own deadline (``accreditation.corrections``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from symposium.models import OutboxMessage, Registration
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.mail import outbox
from symposium.services.registration import validation
from symposium.services.registration.links import EMAIL_LINK_DAYS

DETAILS = ("name", "organisation", "phone", "needs")


@dataclass
class Details:
    name: str
    organisation: str = ""
    phone: str = ""
    needs: str = ""


def can_correct(registration: Registration, now: datetime) -> bool:
    """Whether the person may still correct their details: an active registration, while
    the event takes registrations."""
    return (
        registration.is_active
        and registration.anonymised_at is None
        and validation.is_open(registration.event, now)
    )


def _check_open(registration: Registration, now: datetime) -> None:
    if not can_correct(registration, now):
        raise RuleError(
            "details_closed",
            _l("Registration has closed: ask the organiser to correct your details."),
            status=409,
        )


def correct(
    db: DbSession, registration: Registration, details: Details, now: datetime
) -> list[str]:
    """Store the corrected details; the names of the fields that changed (none: nothing to
    do, so a replayed form is harmless). Raises ``RegistrationInvalid`` listing problems."""
    _check_open(registration, now)
    errors: list[RuleError] = []

    def fail(code: str, message: object, field: str) -> None:
        errors.append(RuleError(code, message, field))

    typed = {key: getattr(details, key) for key in DETAILS}
    validation.check_texts(typed, fail)
    validation.check_person(details.name, details.organisation, details.phone, details.needs,
                            fail)  # fmt: skip
    if errors:
        raise validation.RegistrationInvalid(errors)
    changed = [key for key in DETAILS if getattr(registration, key) != typed[key].strip()]
    for key in changed:
        setattr(registration, key, typed[key].strip())
    if changed:
        audit.record(
            db, user=None, event=registration.event, action="details_corrected",
            target=f"registration:{registration.id}", after={"fields": changed}, now=now,
            note="by the registrant",
        )  # fmt: skip
        db.flush()
    return changed


def _sign(secret_key: str, payload: bytes) -> str:
    digest = hmac.new(secret_key.encode(), b"email-change:" + payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def email_token(secret_key: str, registration: Registration, new: str, now: datetime) -> str:
    """A link token naming the registration, its current and its new address, and when it
    was made: it changes nothing once the address has changed (or changed back)."""
    payload = json.dumps(
        {
            "r": registration.id,
            "from": _digest(registration.email),
            "to": new,
            "at": now.isoformat(),
        },
        separators=(",", ":"),
    ).encode()
    body = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    return f"{body}.{_sign(secret_key, payload)}"


# A link token: base64url JSON, a dot, and its 43-character HMAC; anything else is refused
# before it is decoded.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,2000}\.[A-Za-z0-9_-]{43}")


def _read_token(secret_key: str, token: str) -> dict[str, object] | None:
    if not _TOKEN.fullmatch(token):
        return None
    body, _, signature = token.partition(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        return None
    if not hmac.compare_digest(signature.encode(), _sign(secret_key, payload).encode()):
        return None
    try:  # signed by us, so plain JSON; read defensively all the same
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _digest(email: str) -> str:
    """The old address in the link, without writing it out (links end up in logs)."""
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def _taken(db: DbSession, registration: Registration, email: str) -> bool:
    return (
        db.scalar(
            select(Registration.id).where(
                Registration.event_id == registration.event_id,
                Registration.email == email,
                Registration.id != registration.id,
            )
        )
        is not None
    )


# Links to new addresses one registration may have mailed in a day: the form mails an
# address someone typed, so it must not become a way to send mail to anyone.
LINKS_PER_DAY = 3


def _links_sent(db: DbSession, registration: Registration, now: datetime) -> int:
    return db.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.registration_id == registration.id,
            OutboxMessage.kind == "email_confirm",
            OutboxMessage.created_at > now - timedelta(days=1),
        )
    )


def request_email_change(
    db: DbSession, registration: Registration, typed: str, now: datetime, secret_key: str
) -> str:
    """Mail a confirmation link to the new address; returns it, normalised. Nothing changes
    until the link is followed, so a mistyped address loses nothing."""
    _check_open(registration, now)
    errors: list[RuleError] = []
    email = validation.checked_email(
        typed, lambda code, message, field: errors.append(RuleError(code, message, field))
    )
    if errors:
        raise validation.RegistrationInvalid(errors)
    if email == registration.email:
        raise RuleError(
            "email_unchanged", _l("This is already the address of your registration."), "email"
        )
    if _taken(db, registration, email):
        raise RuleError(
            "email_taken",
            _l("This address is already registered for this event."),
            "email",
            status=409,
        )
    if _links_sent(db, registration, now) >= LINKS_PER_DAY:
        raise RuleError(
            "email_links_exhausted",
            _l("We have sent several links already today: use one of those, or try again "
               "tomorrow."),
            "email", status=429,
        )  # fmt: skip
    token = email_token(secret_key, registration, email, now)
    outbox.queue(db, registration, "email_confirm", now, to=email,
                 about={"new_email": email, "token": token})  # fmt: skip
    return email


def confirm_email_change(db: DbSession, token: str, now: datetime, secret_key: str) -> Registration:
    """Follow the link: the registration's address becomes the new one and the old address
    is told. Following it again changes nothing; a stale or foreign link is refused."""
    data = _read_token(secret_key, token)
    refused = RuleError(
        "email_link_invalid",
        _l("This link is not valid (any more). Ask for a new one on your registration page."),
        status=404,
    )
    if data is None:
        raise refused
    registration = db.get(Registration, data.get("r"))
    if registration is None or registration.anonymised_at is not None:
        raise refused
    if registration.email == data.get("to"):
        return registration  # already done: a second click
    made = datetime.fromisoformat(str(data.get("at")))
    if _digest(registration.email) != data.get("from") or now - made > timedelta(
        days=EMAIL_LINK_DAYS
    ):
        raise refused
    _check_open(registration, now)
    new = str(data["to"])
    if _taken(db, registration, new):
        raise RuleError(
            "email_taken", _l("This address is already registered for this event."), status=409
        )
    old = registration.email
    registration.email = new
    try:
        db.flush()  # the address taken meanwhile by another registration: its unique key
    except IntegrityError:
        raise RuleError(
            "email_taken", _l("This address is already registered for this event."), status=409
        ) from None
    audit.record(
        db, user=None, event=registration.event, action="email_changed",
        target=f"registration:{registration.id}", after={"fields": ["email"]}, now=now,
        note="by the registrant, confirmed from the new address",
    )  # fmt: skip
    db.flush()
    outbox.queue(db, registration, "email_changed", now, to=old, about={"new_email": new})
    return registration
