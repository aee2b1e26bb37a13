"""The presence aggregate: who was in which session, from when to when, recorded by whom.

Accreditation points and certificates are computed from these rows, so they keep the whole
story: an undone check-in is marked, not deleted, and every time says who recorded it and how.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from symposium.models.account import User
from symposium.models.base import Base, UTCDateTime, str_enum
from symposium.models.event import Meeting, Session
from symposium.models.registration import Enrolment, Registration


class Via(enum.StrEnum):
    """How a check-in or check-out was recorded."""

    SCAN = "scan"  # the QR code, by the door page's camera (or a scanner app through the API)
    TYPED = "typed"  # the code typed at the door
    SEARCH = "search"  # found by name at the door
    PAPER = "paper"  # ticked on a printed sign-in sheet, entered afterwards
    WALK_IN = "walk_in"  # added at the door
    END = "end"  # "everyone still here left at the end"
    API = "api"  # a client of the API naming the registration by id


class Presence(Base):
    """One person's attendance of one session, or of one meeting of a group session:
    check-in, optional check-out."""

    __tablename__ = "presences"
    __table_args__ = (
        # One live presence per person and session (per meeting in a group that meets
        # several times): a double scan, or two doors at once, finds the first one instead
        # of counting twice.
        Index(
            "uq_presences_live",
            "registration_id",
            "session_id",
            unique=True,
            sqlite_where=text("undone_at IS NULL AND meeting_id IS NULL"),
            postgresql_where=text("undone_at IS NULL AND meeting_id IS NULL"),
        ),
        Index(
            "uq_presences_meeting_live",
            "registration_id",
            "meeting_id",
            unique=True,
            sqlite_where=text("undone_at IS NULL AND meeting_id IS NOT NULL"),
            postgresql_where=text("undone_at IS NULL AND meeting_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    # The meeting of a group session that meets several times (None for any other session).
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    # The place it was for; None for a plenary session or someone admitted anyway.
    enrolment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrolments.id", ondelete="SET NULL")
    )
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    checked_in_via: Mapped[Via] = mapped_column(str_enum(Via))
    # Let in although their place is in another session of the round (the organiser sees it).
    admitted_anyway: Mapped[bool] = mapped_column(default=False)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_out_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    checked_out_via: Mapped[Via | None] = mapped_column(str_enum(Via))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # When the row was written (checked_in_at is when the scan was made, maybe offline).
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    session: Mapped[Session] = relationship()
    registration: Mapped[Registration] = relationship()
    meeting: Mapped[Meeting | None] = relationship()
    enrolment: Mapped[Enrolment | None] = relationship()
    checked_in_by: Mapped[User | None] = relationship(foreign_keys=[checked_in_by_id])
    checked_out_by: Mapped[User | None] = relationship(foreign_keys=[checked_out_by_id])
    undone_by: Mapped[User | None] = relationship(foreign_keys=[undone_by_id])

    @property
    def is_live(self) -> bool:
        return self.undone_at is None

    @property
    def starts_at(self) -> datetime | None:
        """When what they attended began: the meeting's start, else the session's."""
        return self.meeting.starts_at if self.meeting else self.session.effective_starts_at

    @property
    def ends_at(self) -> datetime | None:
        """When what they attended ended: the meeting's end, else the session's."""
        return self.meeting.ends_at if self.meeting else self.session.effective_ends_at


class CheckinScan(Base):
    """One scan as the door page (or an API client) sent it, under the id the client gave it.

    The id is accepted once per event: a batch of offline scans sent again, or a form
    submitted twice, finds its row and gets the first answer back instead of counting again.
    """

    __tablename__ = "checkin_scans"
    __table_args__ = (UniqueConstraint("event_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    direction: Mapped[str] = mapped_column(String(3))  # "in" or "out"
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    presence_id: Mapped[int | None] = mapped_column(ForeignKey("presences.id", ondelete="SET NULL"))
    verdict: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(40))
    # What the answer named besides the person: the other session (orange), the other event.
    detail: Mapped[str] = mapped_column(Text, default="")
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
