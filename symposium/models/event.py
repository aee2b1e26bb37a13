"""The programme aggregate: an event, its rounds, sessions and the meetings of group sessions."""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from symposium.models.base import Base, UTCDateTime, str_enum
from symposium.models.catalogue import Profession, Theme

# An event's address in URLs and event files: lower-case words joined by single hyphens.
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class EventStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class EventKind(enum.StrEnum):
    """A symposium (professionals register themselves) or a series of groups for clients,
    who are referred by a professional (services.referrals)."""

    SYMPOSIUM = "symposium"
    SERIES = "series"


class SessionKind(enum.StrEnum):
    PLENARY = "plenary"
    WORKSHOP = "workshop"
    GROUP = "group"


event_professions = Table(
    "event_professions",
    Base.metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("profession_id", ForeignKey("professions.id", ondelete="CASCADE"), primary_key=True),
)

session_professions = Table(
    "session_professions",
    Base.metadata,
    Column("session_id", ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("profession_id", ForeignKey("professions.id", ondelete="CASCADE"), primary_key=True),
)

session_themes = Table(
    "session_themes",
    Base.metadata,
    Column("session_id", ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", ForeignKey("themes.id", ondelete="CASCADE"), primary_key=True),
)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    subtitle: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[str] = mapped_column(Text, default="")
    objectives: Mapped[list[str]] = mapped_column(JSON, default=list)
    venue: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Amsterdam")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    capacity: Mapped[int | None]
    status: Mapped[EventStatus] = mapped_column(str_enum(EventStatus), default=EventStatus.DRAFT)
    kind: Mapped[EventKind] = mapped_column(
        str_enum(EventKind), default=EventKind.SYMPOSIUM, server_default=EventKind.SYMPOSIUM.value
    )
    # A series' referrals (health data) are anonymised this many months after they close.
    referral_retention_months: Mapped[int] = mapped_column(default=12, server_default="12")
    organiser_name: Mapped[str] = mapped_column(String(200), default="")
    organiser_email: Mapped[str] = mapped_column(String(254), default="")
    organiser_phone: Mapped[str] = mapped_column(String(40), default="")
    languages: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["nl"])
    # Arriving up to this many minutes late, or leaving this many early, still counts as
    # attending a session in full (services.checkin.attendance).
    late_tolerance_minutes: Mapped[int] = mapped_column(default=10, server_default="10")
    early_tolerance_minutes: Mapped[int] = mapped_column(default=10, server_default="10")
    # Changes whenever anything the programme shows changes (see ``restamp``): the key of
    # every cache of the programme, in any worker, so none of them can serve a stale one.
    programme_stamp: Mapped[str] = mapped_column(String(32), default=lambda: new_stamp())
    # The current version of the organiser's part of the privacy statement (0: none yet);
    # read with the event, so recording a consent's version costs a registration no query.
    privacy_addition_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Registrants get a reminder this many days before the event (0: none), with the
    # practical information (what to bring, parking …) that the organiser writes here.
    reminder_days: Mapped[int] = mapped_column(default=2, server_default="2")
    practical_info: Mapped[str] = mapped_column(Text, default="", server_default="")
    # When the reminders were put in the outbox: they go once.
    reminders_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Branding (services.programme.branding): "#rrggbb" with enough contrast for white text,
    # or empty for the site's own colour.
    accent_colour: Mapped[str] = mapped_column(String(7), default="", server_default="")

    # Professions the event admits; empty means every profession in the catalogue.
    professions: Mapped[list[Profession]] = relationship(
        secondary=event_professions, order_by="Profession.position"
    )
    rounds: Mapped[list[Round]] = relationship(
        back_populates="event", order_by="Round.starts_at", cascade="all, delete-orphan"
    )
    sessions: Mapped[list[Session]] = relationship(
        back_populates="event", order_by="Session.position", cascade="all, delete-orphan"
    )
    logo: Mapped[EventLogo | None] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_series(self) -> bool:
        return self.kind is EventKind.SERIES


class EventLogo(Base):
    """An event's logo, as checked and re-encoded on upload (services.programme.branding).

    In the database, not on disk: every app host serves it and every worker prints it in
    PDFs without shared storage, and a backup of the database holds it.
    """

    __tablename__ = "event_logos"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    content_type: Mapped[str] = mapped_column(String(20))  # image/png or image/jpeg
    # SHA-256 of ``data``: the ETag, and the version in the logo's URL.
    digest: Mapped[str] = mapped_column(String(64))
    width: Mapped[int]
    height: Mapped[int]
    # Loaded only when the image itself is served or printed.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class Round(Base):
    """A time slot in which sessions run in parallel; a registrant picks one session per round."""

    __tablename__ = "rounds"
    __table_args__ = (
        UniqueConstraint("event_id", "key"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship(back_populates="rounds")
    sessions: Mapped[list[Session]] = relationship(
        back_populates="round", order_by="Session.position"
    )


class Session(Base):
    """A plenary talk, a workshop or a (multi-meeting) group inside an event."""

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("event_id", "key"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    round_id: Mapped[int | None] = mapped_column(
        ForeignKey("rounds.id", ondelete="SET NULL"), index=True
    )
    key: Mapped[str] = mapped_column(String(60))
    kind: Mapped[SessionKind] = mapped_column(str_enum(SessionKind), default=SessionKind.WORKSHOP)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    speakers: Mapped[list[str]] = mapped_column(JSON, default=list)
    room: Mapped[str] = mapped_column(String(120), default="")
    # Own times; when empty the round's times apply (see ``effective_*``).
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    capacity: Mapped[int | None]
    hours: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    position: Mapped[int] = mapped_column(default=0)
    # Set when the organiser cancels the session: it stays visible, marked, and takes no one.
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship(back_populates="sessions")
    round: Mapped[Round | None] = relationship(back_populates="sessions")
    themes: Mapped[list[Theme]] = relationship(secondary=session_themes, order_by="Theme.position")
    # Professions allowed to join; empty means everyone the event admits.
    professions: Mapped[list[Profession]] = relationship(
        secondary=session_professions, order_by="Profession.position"
    )
    quotas: Mapped[list[SessionQuota]] = relationship(
        back_populates="session", cascade="all, delete-orphan"
    )
    meetings: Mapped[list[Meeting]] = relationship(
        back_populates="session", order_by="Meeting.starts_at", cascade="all, delete-orphan"
    )

    @property
    def effective_starts_at(self) -> datetime | None:
        if self.starts_at is not None:
            return self.starts_at
        if self.round is not None:
            return self.round.starts_at
        return self.meetings[0].starts_at if self.meetings else None

    @property
    def effective_ends_at(self) -> datetime | None:
        if self.ends_at is not None:
            return self.ends_at
        if self.round is not None:
            return self.round.ends_at
        return self.meetings[-1].ends_at if self.meetings else None

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    def admits(self, profession: Profession) -> bool:
        """Whether this profession may join (the rule: :func:`open_to`)."""
        return open_to([p.id for p in self.professions], profession.id)


class SessionQuota(Base):
    """At most ``places`` registrants of one profession in a session."""

    __tablename__ = "session_quotas"
    __table_args__ = (CheckConstraint("places >= 0", name="places_not_negative"),)

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    profession_id: Mapped[int] = mapped_column(
        ForeignKey("professions.id", ondelete="CASCADE"), primary_key=True
    )
    places: Mapped[int]

    session: Mapped[Session] = relationship(back_populates="quotas")
    profession: Mapped[Profession] = relationship()


class Meeting(Base):
    """One dated meeting of a group session that meets several times."""

    __tablename__ = "meetings"
    __table_args__ = (
        UniqueConstraint("session_id", "key"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200), default="")
    room: Mapped[str] = mapped_column(String(120), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)

    session: Mapped[Session] = relationship(back_populates="meetings")


def open_to(allowed: Collection[int], profession_id: int) -> bool:
    """Who may join a session: the professions it names, everyone when it names none.

    The single home of that rule, for ORM sessions and the registration rules' copies alike.
    """
    return not allowed or profession_id in allowed


def new_stamp() -> str:
    """A programme stamp: random, so a cache keyed by it survives databases being recreated."""
    return uuid.uuid4().hex
