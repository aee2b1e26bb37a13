"""Password-reset tokens: signed, valid for an hour, and single-use.

A token names the account and the end of its password hash, so setting a password (with
that link or otherwise) makes every earlier link stop working.
"""

from __future__ import annotations

from datetime import datetime

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.orm import Session as DbSession

from symposium.models import User

RESET_MAX_AGE = 3600  # seconds a password-reset link stays valid


class _ClockSigner(TimestampSigner):
    """Timestamps from the app's clock, so expiry is testable without waiting."""

    now: datetime

    def get_timestamp(self) -> int:
        return int(self.now.timestamp())


def _serializer(secret_key: str, now: datetime) -> URLSafeTimedSerializer:
    signer = type("Signer", (_ClockSigner,), {"now": now})
    return URLSafeTimedSerializer(secret_key, salt="password-reset", signer=signer)


def reset_token(user: User, secret_key: str, now: datetime) -> str:
    # The end of the current password hash makes the link single-use: resetting changes it.
    return _serializer(secret_key, now).dumps({"u": user.id, "h": user.password_hash[-12:]})


def user_for_reset_token(db: DbSession, token: str, secret_key: str, now: datetime) -> User | None:
    try:
        data = _serializer(secret_key, now).loads(token, max_age=RESET_MAX_AGE)
    except (SignatureExpired, BadSignature):
        return None
    user = db.get(User, data.get("u"))
    if user is None or not user.active or user.password_hash[-12:] != data.get("h"):
        return None
    return user
