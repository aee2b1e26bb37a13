"""API tokens for scanner apps at one event's door (``models.DoorToken``).

A token is made for a door account (or an organiser) and one event, shown once, and stored
only as its SHA-256. It signs in as that account for the check-in API of that event only,
and only while the account may check people in there: taking the role away, deactivating
the account or revoking the token ends it.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import DoorToken, Event, User
from symposium.services.accounts import access
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.core.tokens import token_hash

PREFIX = "sdt_"  # recognisable in a leaked log or a secret scanner
# ``last_used_at`` is written at most this often, not on every scan.
TOUCH_EVERY = timedelta(minutes=5)


def create(
    db: DbSession, actor: User | None, user: User, event: Event, label: str, now: datetime
) -> tuple[DoorToken, str]:
    """A new token for ``user`` at ``event``'s door: the row, and the token (shown once)."""
    if not access.can(user, access.CHECKIN, event):
        raise RuleError(
            "not_a_door_account",
            _l("This account may not check people in at this event."),
            "email",
        )
    token = PREFIX + secrets.token_urlsafe(32)
    row = DoorToken(
        user_id=user.id, event_id=event.id, token_hash=token_hash(token), label=label[:120],
        created_at=now,
    )  # fmt: skip
    db.add(row)
    db.flush()
    audit.record(
        db, user=actor, event=event, action="door_token_created",
        target=f"user {user.email}", note=f"token {row.id} {label}".strip(), now=now,
    )  # fmt: skip
    return row, token


def authenticate(db: DbSession, event: Event, token: str, now: datetime) -> User | None:
    """The account a token signs in as at ``event``, or None (unknown, revoked, inactive)."""
    if not token.startswith(PREFIX):
        return None
    row = db.scalars(
        select(DoorToken).where(
            DoorToken.token_hash == token_hash(token),
            DoorToken.event_id == event.id,
            DoorToken.revoked_at.is_(None),
        )
    ).one_or_none()
    if row is None or not row.user.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        row.last_used_at = now
    return row.user


def revoke(
    db: DbSession,
    actor: User | None,
    token_id: int,
    now: datetime,
    *,
    user: User | None = None,
    event: Event | None = None,
) -> DoorToken:
    """Stop a token (idempotent: revoking it again changes nothing); with ``user`` and
    ``event``, only a token of theirs (the command names both, so a typo hits nothing)."""
    row = db.get(DoorToken, token_id)
    if (
        row is None
        or (user is not None and row.user_id != user.id)
        or (event is not None and row.event_id != event.id)
    ):
        raise RuleError("not_found", _l("No such token."), status=404)
    if row.revoked_at is None:
        row.revoked_at = now
        audit.record(
            db, user=actor, event=row.event, action="door_token_revoked",
            target=f"user {row.user.email}", note=f"token {row.id} {row.label}".strip(), now=now,
        )  # fmt: skip
    return row
