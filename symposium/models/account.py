"""Back-office accounts and the roles that say what each may do, globally or per event."""

from __future__ import annotations

import enum
import hmac
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from symposium.models.base import Base, UTCDateTime, str_enum
from symposium.models.event import Event


class Role(enum.StrEnum):
    ADMIN = "admin"  # everything, users included; always global
    ORGANISER = "organiser"  # the events it is assigned to (all events when global)
    DOOR = "door"  # only the check-in pages of its events


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of every session cookie (see get_id); a new one ends every sign-in of the account.
    session_token: Mapped[str] = mapped_column(String(32), default=lambda: new_session_token())

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated account cannot log in
        return self.active

    def get_id(self) -> str:
        """Flask-Login's "alternative id": the cookie names the account and its sign-in round."""
        return f"{self.id}:{self.session_token}"

    def holds_session(self, token: str) -> bool:
        return hmac.compare_digest(self.session_token.encode(), token.encode())

    def end_sessions(self) -> None:
        """A new session token: every cookie carrying the old one stops signing anyone in."""
        self.session_token = new_session_token()

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)  # scrypt

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


def new_session_token() -> str:
    return secrets.token_hex(16)


# Made once, at import: made on the first unknown sign-in, that one answer would take twice
# as long as any other and so tell that the account does not exist.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))


def check_dummy_password(password: str) -> bool:
    """Hash ``password`` as a sign-in with an account would, for an address without one, so
    the answer takes as long whether or not the account exists. Always False."""
    check_password_hash(_DUMMY_HASH, password)
    return False


class Membership(Base):
    """A role for one event, or for every event when ``event_id`` is None."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "event_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(str_enum(Role))

    user: Mapped[User] = relationship(back_populates="memberships")
    event: Mapped[Event | None] = relationship()


class DoorToken(Base):
    """An API token for a scanner app at one event's door, on behalf of an account.

    Only the token's SHA-256 is stored (it is shown once, when made); the account's roles
    still decide what it may do, so revoking its door role stops the token too.
    """

    __tablename__ = "door_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    event: Mapped[Event] = relationship()
