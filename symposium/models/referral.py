"""A referral: a professional (a GP, a social worker …) refers a client to a group series.

Health data (special category under the AVG): only the series' coordinators see it
(services.accounts.access.REFERRALS), every look at one is in the audit trail, and it is
anonymised a retention period after it closes (services.referrals.retention), keeping only
what the funder's counts need.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from symposium.models.account import User
from symposium.models.base import Base, UTCDateTime, str_enum
from symposium.models.event import Event, Session


class ReferralState(enum.StrEnum):
    """Where a referral stands; the allowed steps are in services.referrals.inbox."""

    NEW = "new"
    CONTACTED = "contacted"
    INTAKE_DONE = "intake_done"
    PLACED = "placed"
    WAITING = "waiting"
    DECLINED = "declined"
    CLOSED = "closed"


class Referral(Base):
    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("event_id", "number"),
        UniqueConstraint("event_id", "submission_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    # Per event 1, 2, 3 …; the reference shown and mailed is e.g. WOR-2027-0042.
    number: Mapped[int]
    reference: Mapped[str] = mapped_column(String(30))
    # The form's one-time key: the same form sent twice makes one referral.
    submission_key: Mapped[str | None] = mapped_column(String(64))
    referred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The language the referrer used the form in: their mails are in it.
    language: Mapped[str] = mapped_column(String(5), default="nl")

    # The referrer (a professional, at work).
    referrer_name: Mapped[str] = mapped_column(String(200))
    referrer_organisation: Mapped[str] = mapped_column(String(200))
    # A code of services.referrals.intake.PROFESSIONS: kept after anonymising, for the counts.
    referrer_profession: Mapped[str] = mapped_column(String(40))
    referrer_email: Mapped[str] = mapped_column(String(254))
    referrer_phone: Mapped[str] = mapped_column(String(40))
    agb_code: Mapped[str] = mapped_column(String(8), default="")

    # The client: only what the coordinator needs to make contact.
    client_name: Mapped[str] = mapped_column(String(100))
    client_phone: Mapped[str] = mapped_column(String(40), default="")
    client_email: Mapped[str] = mapped_column(String(254), default="")
    client_language: Mapped[str] = mapped_column(String(20), default="")
    # Theme codes the client prefers; empty: the coordinator chooses.
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The need in a few words: seen by the coordinators only, never mailed.
    need: Mapped[str] = mapped_column(Text, default="")
    # The client agreed that the referrer hears how the referral went.
    feedback_consent: Mapped[bool] = mapped_column(default=False)

    state: Mapped[ReferralState] = mapped_column(str_enum(ReferralState), default=ReferralState.NEW)
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The group chosen when placed (the capacity rules come with the next slice).
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), index=True
    )
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()
    group: Mapped[Session | None] = relationship()
    changes: Mapped[list[ReferralChange]] = relationship(
        back_populates="referral", order_by="ReferralChange.id", cascade="all, delete-orphan"
    )

    @property
    def is_anonymised(self) -> bool:
        return self.anonymised_at is not None


class ReferralChange(Base):
    """One step of a referral (who, when, from, to) with the coordinator's note."""

    __tablename__ = "referral_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    from_state: Mapped[ReferralState | None] = mapped_column(str_enum(ReferralState))
    to_state: Mapped[ReferralState] = mapped_column(str_enum(ReferralState))
    # Intake notes: health data, blanked with the referral.
    note: Mapped[str] = mapped_column(Text, default="")

    referral: Mapped[Referral] = relationship(back_populates="changes")
    user: Mapped[User | None] = relationship()
