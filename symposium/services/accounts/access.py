"""Who may do what in the back-office: the one home of the role and password rules."""

from __future__ import annotations

import secrets
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import Event, Membership, Role, User
from symposium.models.account import check_dummy_password
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.mail import outbox

# What a route needs; every back-office view declares one (see blueprints/admin/__init__.py).
MANAGE = "manage"  # an event's programme, capacities and participants
CHECKIN = "checkin"  # an event's check-in pages
USERS = "users"  # accounts
SIGNED_IN = "signed_in"  # any account (its own overview)
CREATE_EVENT = "create_event"  # admins, and organisers of every event
REFERRALS = "referrals"  # a series' referrals (health data): its own coordinators and admins

MIN_PASSWORD_LENGTH = 10


class AccessError(RuleError):
    """An account or role change that the rules refuse."""


def check_password_rule(password: str) -> None:
    """The one password rule, for new accounts and resets alike."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccessError(
            "password_too_short",
            _l("A password needs at least %(num)d characters.", num=MIN_PASSWORD_LENGTH),
            "password",
        )


def set_password(db: DbSession, user: User, password: str, now: datetime) -> None:
    """Give ``user`` a new password (from a reset link, or chosen with a new account).

    Ends every sign-in of the account: whoever knew the old password is signed out too.
    """
    check_password_rule(password)
    user.set_password(password)
    user.end_sessions()
    audit.record(db, user=user, event=None, action="password_set", target=f"user {user.email}",
                 after={"sessions_ended": True}, now=now)  # fmt: skip


def sign_out(db: DbSession, user: User, now: datetime) -> None:
    """End every sign-in of ``user`` (all browsers), not only this session's cookie."""
    user.end_sessions()
    audit.record(db, user=user, event=None, action="signed_out", target=f"user {user.email}",
                 after={"sessions_ended": True}, now=now)  # fmt: skip
    db.flush()


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
    if permission == REFERRALS:
        return is_coordinator(user, event)
    return False


def is_coordinator(user: User, event: Event | None) -> bool:
    """Whether ``user`` is a coordinator of this series: an organiser of exactly this event.

    Referrals are health data, so an organiser of every event (a global role, given to see
    the symposia) does not see them by that role alone; admins pass in :func:`can`.
    """
    if event is None or not event.is_series:
        return False
    return any(m.role is Role.ORGANISER and m.event_id == event.id for m in user.memberships)


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
        raise AccessError("invalid_email", _l("Enter a valid e-mail address."), "email") from exc
    if role is Role.ADMIN and event is not None:
        raise AccessError(
            "admin_is_global", _l("Admin is a role for all events; choose no event."), "event"
        )
    if password is not None:
        check_password_rule(password)
    user = db.scalars(select(User).where(User.email == address)).one_or_none()
    generated = None
    if user is None:
        generated = None if password else secrets.token_urlsafe(12)
        user = User(email=address, name=name, created_at=now)
        user.set_password(password or generated)  # type: ignore[arg-type]
        db.add(user)
    elif password:
        user.set_password(password)
        user.end_sessions()
    event_id = event.id if event is not None else None
    if not any(m.role is role and m.event_id == event_id for m in user.memberships):
        user.memberships.append(Membership(role=role, event=event))
    db.flush()
    return user, generated


def grant_role(
    db: DbSession,
    actor: User | None,
    email: str,
    role: Role,
    now: datetime,
    *,
    event: Event | None = None,
    name: str = "",
    password: str | None = None,
) -> tuple[User, str | None]:
    """:func:`create_user` by someone (an admin, or None for the CLI), in the audit trail."""
    user, generated = create_user(db, email, role, now, event=event, name=name, password=password)
    audit.record(
        db, user=actor, event=event, action="role_granted", target=f"user {user.email}",
        after={"role": role.value, "event": event.slug if event else None}, now=now,
    )  # fmt: skip
    return user, generated


def revoke_role(db: DbSession, actor: User, membership: Membership, now: datetime) -> None:
    """Take a role away; nobody takes away their own admin role (someone must stay admin).

    Ends every sign-in of the account, so that no open page keeps what the role allowed.
    """
    if membership.user_id == actor.id and membership.role is Role.ADMIN:
        raise AccessError(
            "own_admin_role", _l("You cannot take away your own admin role."), status=409
        )
    audit.record(
        db, user=actor, event=membership.event, action="role_revoked",
        target=f"user {membership.user.email}", before={"role": membership.role.value},
        after={"sessions_ended": True}, now=now,
    )  # fmt: skip
    membership.user.end_sessions()
    db.delete(membership)
    db.flush()


def authenticate(db: DbSession, email: str, password: str, now: datetime) -> User | None:
    """The account these credentials sign in to, or None.

    An unknown or deactivated account costs one password hash too, so the time of the
    answer does not tell whether an address has an account.
    """
    user = db.scalars(select(User).where(User.email == email.strip().lower())).one_or_none()
    if user is None or not user.active:
        check_dummy_password(password)
        return None
    if not user.check_password(password):
        return None
    user.last_login_at = now
    return user


def request_password_link(
    db: DbSession, address: str, kind: str, language: str, now: datetime
) -> None:
    """Queue a one-time password link (``kind``: password_reset, account_created).

    The same work whether or not ``address`` has an account: one outbox row, nothing looked
    up. The mail worker looks the account up and writes the link; for an address without an
    active account it sends nothing and deletes the row, so the typed address is not kept.
    """
    outbox.queue_account_mail(db, address.strip().lower(), kind, language, now)
