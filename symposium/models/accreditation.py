"""The accreditation aggregate: which registers accredited an event, and for how many points.

Each accrediting register gives its own activity ID and awards its own points per session
(the norm is one point per net contact hour, but registers differ for the same programme);
``services.accreditation.points`` turns these and the recorded presence into points per
person, and an organiser may override one person's result with a written reason.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from symposium.models.account import User
from symposium.models.base import Base, UTCDateTime, str_enum
from symposium.models.catalogue import Register
from symposium.models.event import Event, Session
from symposium.models.registration import Registration


class Scope(enum.StrEnum):
    """What a register accredits: each session on its own, or only the whole event."""

    SESSION = "session"  # points for every accredited session attended in full
    EVENT = "event"  # all points for attending every accredited session in full, else none


class Rounding(enum.StrEnum):
    """How a register rounds a person's points, always down (never more than attended)."""

    NONE = "none"
    HALF = "half"
    WHOLE = "whole"


class Accreditation(Base):
    """One register's accreditation of an event."""

    __tablename__ = "accreditations"
    __table_args__ = (
        UniqueConstraint("event_id", "register_id"),
        CheckConstraint("daily_cap IS NULL OR daily_cap > 0", name="daily_cap_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("registers.id"))
    # Who granted it: the register itself, or a body such as ABC1 or a regional GP foundation.
    body: Mapped[str] = mapped_column(String(200), default="")
    # The ID the register gave the activity (GAIA-ID, PE-online course ID, Registerplein ID).
    activity_id: Mapped[str] = mapped_column(String(60), default="")
    scope: Mapped[Scope] = mapped_column(str_enum(Scope), default=Scope.SESSION)
    daily_cap: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    rounding: Mapped[Rounding] = mapped_column(str_enum(Rounding), default=Rounding.NONE)
    # The last day on which presence may be entered with the register.
    deadline: Mapped[date | None] = mapped_column(Date)
    position: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship()
    register: Mapped[Register] = relationship()
    sessions: Mapped[list[AccreditedSession]] = relationship(
        back_populates="accreditation", cascade="all, delete-orphan"
    )


class AccreditedSession(Base):
    """The points one register awards for attending one session in full."""

    __tablename__ = "accredited_sessions"
    __table_args__ = (CheckConstraint("points >= 0", name="points_not_negative"),)

    accreditation_id: Mapped[int] = mapped_column(
        ForeignKey("accreditations.id", ondelete="CASCADE"), primary_key=True
    )
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    points: Mapped[Decimal] = mapped_column(Numeric(5, 2))

    accreditation: Mapped[Accreditation] = relationship(back_populates="sessions")
    session: Mapped[Session] = relationship()


class PointsOverride(Base):
    """An organiser's decision on one person's points for one register, with the reason."""

    __tablename__ = "points_overrides"
    __table_args__ = (
        UniqueConstraint("registration_id", "accreditation_id"),
        CheckConstraint("points >= 0", name="points_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    accreditation_id: Mapped[int] = mapped_column(
        ForeignKey("accreditations.id", ondelete="CASCADE"), index=True
    )
    points: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    reason: Mapped[str] = mapped_column(Text)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    registration: Mapped[Registration] = relationship()
    accreditation: Mapped[Accreditation] = relationship()
    by: Mapped[User | None] = relationship()


class ListExport(Base):
    """An attendance list taken out for a register: the overview says who did, and when."""

    __tablename__ = "list_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    accreditation_id: Mapped[int] = mapped_column(
        ForeignKey("accreditations.id", ondelete="CASCADE"), index=True
    )
    format: Mapped[str] = mapped_column(String(10))
    day: Mapped[date | None] = mapped_column(Date)
    people: Mapped[int]
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    by: Mapped[User | None] = relationship()
