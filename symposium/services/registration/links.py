"""A registration's personal links: the manage page and the calendar feed (see core.tokens)."""

from __future__ import annotations

import hmac
import re

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.input_guard import whole_number
from symposium.models import Registration
from symposium.services.core.tokens import new_nonce, token_for, token_hash

# How long the link that confirms a new e-mail address works (``registration.details``).
EMAIL_LINK_DAYS = 2


def manage_token(secret_key: str, registration: Registration) -> str:
    return token_for(secret_key, registration.token_nonce)


def feed_token(secret_key: str, registration: Registration) -> str:
    return token_for(secret_key, registration.feed_nonce, "feed")


def renew_feed_token(db: DbSession, registration: Registration, secret_key: str) -> str:
    """Revoke the calendar feed's address (a leaked link) and return the new token."""
    registration.feed_nonce = new_nonce()
    token = feed_token(secret_key, registration)
    registration.feed_token_hash = token_hash(token)
    return token


def find_by_feed_token(db: DbSession, token: str) -> Registration | None:
    return db.scalars(
        select(Registration).where(Registration.feed_token_hash == token_hash(token))
    ).one_or_none()


def find_by_token(db: DbSession, token: str) -> Registration | None:
    return db.scalars(
        select(Registration).where(Registration.token_hash == token_hash(token))
    ).one_or_none()


_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{24}")


def _signature(secret_key: str, registration: Registration) -> str:
    """The manage link's HMAC for another purpose, over the id too, cut to 144 bits."""
    nonce = f"{registration.id}:{registration.token_nonce}"
    return token_for(secret_key, nonce, "unsubscribe")[:24]


def unsubscribe_token(secret_key: str, registration: Registration) -> str:
    """The registration's id and an HMAC over it and its manage nonce: it works without a
    lookup table, names no one, and stops working when the registration is anonymised."""
    return f"{registration.id}.{_signature(secret_key, registration)}"


def find_by_unsubscribe_token(db: DbSession, secret_key: str, token: str) -> Registration | None:
    number, _, signature = token.partition(".")
    found = whole_number(number)
    if found is None or not _SIGNATURE.fullmatch(signature):
        return None
    registration = db.get(Registration, found)
    if registration is None or registration.anonymised_at is not None:
        return None
    if not hmac.compare_digest(signature.encode(), _signature(secret_key, registration).encode()):
        return None
    return registration
