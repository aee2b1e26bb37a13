"""The registration aggregate: a person's registration for an event and their enrolments."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from symposium.models.base import Base, UTCDateTime, str_enum
from symposium.models.catalogue import Profession
from symposium.models.event import Event, Session


class RegistrationStatus(enum.StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class EnrolmentStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class Registration(Base):
    """One person at one event (one per e-mail address), reached through a manage link."""

    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("event_id", "email"),
        UniqueConstraint("event_id", "checkin_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    profession_id: Mapped[int] = mapped_column(ForeignKey("professions.id"))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    needs: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(5), default="nl")
    # Register code -> identifier, e.g. {"BIG": "19012345601"}.
    identifiers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[RegistrationStatus] = mapped_column(
        str_enum(RegistrationStatus), default=RegistrationStatus.ACTIVE
    )
    # The manage link is an HMAC of this nonce; only the link's SHA-256 is stored.
    token_nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The calendar feed has its own token (HMAC of this nonce), revoked by a new nonce.
    feed_nonce: Mapped[str] = mapped_column(String(64))
    feed_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The ticket's check-in code (services.checkin.tickets): random, unique per event.
    checkin_code: Mapped[str] = mapped_column(String(13))
    # Hidden one-time key of the form that created it: a resubmit finds this row.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The privacy statement agreed to (services.privacy.statement): "s1+e2" is the standard
    # text's version 1 with the organiser's addition version 2. None: before versions.
    privacy_version: Mapped[str | None] = mapped_column(String(20))
    # Unsubscribed from the organiser's messages (List-Unsubscribe); mail about the
    # registration itself still comes.
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The registrant asked for their data to be deleted (services.privacy.deletion).
    deletion_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Name, address and the other personal details were blanked (services.privacy.anonymise);
    # what accreditation needs may stay until the registers' deadline (privacy.retention).
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SEQUENCE the next calendar message about the registrant's invitation carries (one UID
    # for all they attend, services.programme.invitation); 0 while none has been queued.
    ical_sequence: Mapped[int] = mapped_column(default=0, server_default="0")

    event: Mapped[Event] = relationship()
    profession: Mapped[Profession] = relationship()
    enrolments: Mapped[list[Enrolment]] = relationship(
        back_populates="registration", order_by="Enrolment.id", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:
        return self.status is RegistrationStatus.ACTIVE

    @property
    def is_anonymised(self) -> bool:
        return self.anonymised_at is not None


class Enrolment(Base):
    """A registration's place (or waiting-list spot) in one session."""

    __tablename__ = "enrolments"
    __table_args__ = (
        Index("ix_enrolments_session_id_status", "session_id", "status"),
        # One live enrolment per registration and session.
        Index(
            "uq_enrolments_live",
            "registration_id",
            "session_id",
            unique=True,
            sqlite_where=text("status != 'cancelled'"),
            postgresql_where=text("status != 'cancelled'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    # Copied from the registration so quota counts need no join.
    profession_id: Mapped[int] = mapped_column(ForeignKey("professions.id"))
    status: Mapped[EnrolmentStatus] = mapped_column(str_enum(EnrolmentStatus))
    # 1-based place in the session's waiting list while waitlisted, else None.
    waitlist_position: Mapped[int | None]
    # A waitlisted switch: when this enrolment is confirmed, the one it replaces is released.
    replaces_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrolments.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # SEQUENCE of this place's calendar invitation: raised by every update or cancellation.
    ical_sequence: Mapped[int] = mapped_column(default=0)

    registration: Mapped[Registration] = relationship(back_populates="enrolments")
    session: Mapped[Session] = relationship()
    replaces: Mapped[Enrolment | None] = relationship(remote_side="Enrolment.id")
    changes: Mapped[list[EnrolmentChange]] = relationship(
        back_populates="enrolment", order_by="EnrolmentChange.id", cascade="all, delete-orphan"
    )

    @property
    def is_live(self) -> bool:
        return self.status is not EnrolmentStatus.CANCELLED


class EnrolmentChange(Base):
    """History of an enrolment: every status change with its time and reason."""

    __tablename__ = "enrolment_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolments.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(60))

    enrolment: Mapped[Enrolment] = relationship(back_populates="changes")
