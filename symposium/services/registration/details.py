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
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import Registration
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
        {"r": registration.id, "from": registration.email, "to": new, "at": now.isoformat()},
        separators=(",", ":"),
    ).encode()
    body = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    return f"{body}.{_sign(secret_key, payload)}"


def _read_token(secret_key: str, token: str) -> dict[str, object] | None:
    body, _, signature = token.partition(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        data = json.loads(payload)
    except (ValueError, TypeError):
        return None
    if not hmac.compare_digest(signature, _sign(secret_key, payload)) or not isinstance(data, dict):
        return None
    return data


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
    if registration.email != data.get("from") or now - made > timedelta(days=EMAIL_LINK_DAYS):
        raise refused
    _check_open(registration, now)
    new = str(data["to"])
    if _taken(db, registration, new):
        raise RuleError(
            "email_taken", _l("This address is already registered for this event."), status=409
        )
    old = registration.email
    registration.email = new
    audit.record(
        db, user=None, event=registration.event, action="email_changed",
        target=f"registration:{registration.id}", after={"fields": ["email"]}, now=now,
        note="by the registrant, confirmed from the new address",
    )  # fmt: skip
    db.flush()
    outbox.queue(db, registration, "email_changed", now, to=old, about={"new_email": new})
    return registration
