"""The Idempotency-Key protocol: a POST retried with the same key gets its first answer again.

Clients (a kiosk with a flaky connection, an integration that retries on a time-out) send a
key of their own with a request that changes something. An endpoint uses it like this::

    request = idempotency.begin(f"registrations:{event.id}", header_value, raw_body)
    stored = request.replay(db)  # the answer of an earlier request with this key, if any
    if stored is not None:
        return stored.body, stored.status_code
    ...  # make the change (not committed)
    stored = request.save(db, 201, body, now)  # in the change's transaction
    if stored is not None:  # a concurrent duplicate committed first; ours was rolled back
        return stored.body, stored.status_code
    db.commit()

A key belongs to a *scope* (the endpoint and whatever it acts on: an event, an actor), so the
same key sent to two events means two requests. The fingerprint is the SHA-256 of the raw
body: the same key with another body is the client's mistake, refused rather than replayed.
Only successful answers are stored; a refused request does not use up its key, so it can be
corrected and sent again. The stored answer is written in the same transaction as the change,
so either both exist or neither does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from symposium.models import IdempotencyKey

MAX_KEY_LENGTH = 200  # the column's length

_STORED = select(IdempotencyKey).where(
    IdempotencyKey.scope == bindparam("scope"), IdempotencyKey.key == bindparam("key")
)  # built once: every keyed request runs it


class IdempotencyError(Exception):
    """The key cannot be used for this request; ``code`` is stable (the API returns it)."""

    code = "idempotency_error"
    status = 409

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidKey(IdempotencyError):
    code = "invalid_idempotency_key"
    status = 400


class KeyReused(IdempotencyError):
    """The key was used before with another body."""

    code = "idempotency_key_reused"
    status = 422


class InProgress(IdempotencyError):
    """Another request with this key got there first, and its answer cannot be read (yet)."""

    code = "idempotency_conflict"
    status = 409


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True)
class IdempotentRequest:
    """One request's key within its scope; ``key`` None when the client sent none."""

    scope: str
    key: str | None
    fingerprint: str

    def replay(self, db: DbSession) -> StoredResponse | None:
        """The answer stored for this key, or None when there is none (or no key).

        Raises KeyReused when the key was stored with another body.
        """
        if self.key is None:
            return None
        stored = db.scalars(_STORED, {"scope": self.scope, "key": self.key}).one_or_none()
        if stored is None:
            return None
        if stored.request_hash != self.fingerprint:
            raise KeyReused("This Idempotency-Key was used with another body.")
        return StoredResponse(stored.status_code, stored.response)

    def save(
        self, db: DbSession, status_code: int, body: dict[str, Any], now: datetime
    ) -> StoredResponse | None:
        """Store the answer in the caller's transaction (flushed, not committed).

        Returns None when it is stored: the caller commits. When a concurrent request with
        the same key committed first, the unique key makes the insert fail: the whole
        transaction, the caller's change included, is rolled back and that request's answer
        returned, to be sent instead (raises KeyReused when it had another body, InProgress
        when its row cannot be read).

        On SQLite the change must be made in a write transaction begun after ``replay``
        (``services.core.locking.begin_write``), as any change that depends on a check.
        """
        if self.key is None:
            return None
        db.flush()  # the change's own errors are the caller's, not a duplicate key
        db.add(
            IdempotencyKey(
                scope=self.scope,
                key=self.key,
                request_hash=self.fingerprint,
                status_code=status_code,
                response=body,
                created_at=now,
            )
        )
        try:
            db.flush()
        except IntegrityError:
            db.rollback()
            stored = self.replay(db)
            if stored is None:
                raise InProgress("A request with this key is in progress.") from None
            return stored
        return None


def begin(scope: str, key: str | None, body: bytes) -> IdempotentRequest:
    """The request's key (the header's value, blank meaning none) and its body's fingerprint.

    Raises InvalidKey when the key is too long to store.
    """
    key = (key or "").strip() or None
    if key is not None and len(key) > MAX_KEY_LENGTH:
        raise InvalidKey("Idempotency-Key is too long.")
    return IdempotentRequest(scope, key, hashlib.sha256(body).hexdigest())
