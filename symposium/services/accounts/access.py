"""Who may do what in the back-office: the one home of the role rules."""

from __future__ import annotations

import secrets
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import Event, Membership, Role, User

# What a route needs; every back-office view declares one (see blueprints/admin/__init__.py).
MANAGE = "manage"  # an event's programme, capacities and participants
CHECKIN = "checkin"  # an event's check-in pages
USERS = "users"  # accounts
SIGNED_IN = "signed_in"  # any account (its own overview)
CREATE_EVENT = "create_event"  # admins, and organisers of every event

RESET_MAX_AGE = 3600  # seconds a password-reset link stays valid


class AccessError(ValueError):
    pass


def roles_for(user: User, event: Event | None) -> set[Role]:
    """The user's roles that apply to ``event`` (global roles apply to every event)."""
    return {
        m.role
        for m in user.memberships
        if m.event_id is None or (event is not None and m.event_id == event.id)
    }


def can(user: User, permission: str, event: Event | None = None) -> bool:
    roles = roles_for(user, event)
    if Role.ADMIN in roles:
        return True
    if permission == SIGNED_IN:
        return True
    if permission == MANAGE:
        return event is not None and Role.ORGANISER in roles
    if permission == CREATE_EVENT:
        return any(m.role is Role.ORGANISER and m.event_id is None for m in user.memberships)
    if permission == CHECKIN:
        return event is not None and bool(roles & {Role.ORGANISER, Role.DOOR})
    return False


def is_admin(user: User) -> bool:
    """Admins alone may override capacity (with a written reason)."""
    return Role.ADMIN in roles_for(user, None)


def visible_events(db: DbSession, user: User) -> list[Event]:
    """The events the user has any role for, soonest first."""
    query = select(Event).order_by(Event.starts_at)
    if not any(m.event_id is None for m in user.memberships):
        ids = {m.event_id for m in user.memberships}
        query = query.where(Event.id.in_(ids))
    return list(db.scalars(query))


def create_user(
    db: DbSession,
    email: str,
    role: Role,
    now: datetime,
    *,
    event: Event | None = None,
    name: str = "",
    password: str | None = None,
) -> tuple[User, str | None]:
    """Create an account (or add a role to an existing one).

    Returns the user and, when no password was given, a generated one to show once.
    """
    try:
        address = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AccessError(f"not an e-mail address: {email}") from exc
    if role is Role.ADMIN and event is not None:
        raise AccessError("admin is a global role; give no event")
    if password is not None and len(password) < 10:
        raise AccessError("a password needs at least 10 characters")
    user = db.scalars(select(User).where(User.email == address)).one_or_none()
    generated = None
    if user is None:
        generated = None if password else secrets.token_urlsafe(12)
        user = User(email=address, name=name, created_at=now)
        user.set_password(password or generated)  # type: ignore[arg-type]
        db.add(user)
    elif password:
        user.set_password(password)
    event_id = event.id if event is not None else None
    if not any(m.role is role and m.event_id == event_id for m in user.memberships):
        user.memberships.append(Membership(role=role, event=event))
    db.flush()
    return user, generated


def authenticate(db: DbSession, email: str, password: str, now: datetime) -> User | None:
    user = db.scalars(select(User).where(User.email == email.strip().lower())).one_or_none()
    if user is None or not user.active or not user.check_password(password):
        return None
    user.last_login_at = now
    return user


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
