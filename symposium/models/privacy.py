"""What an event's organiser adds to the privacy statement, kept per version: a registrant's
consent names the version they agreed to (``Registration.privacy_version``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from symposium.models.base import Base, UTCDateTime


class PrivacyAddition(Base):
    """One version of the organiser's own part of an event's privacy statement (their role
    as controller, contact for privacy questions, anything particular to the event)."""

    __tablename__ = "privacy_additions"
    __table_args__ = (UniqueConstraint("event_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    text_nl: Mapped[str] = mapped_column(Text, default="")
    text_en: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
