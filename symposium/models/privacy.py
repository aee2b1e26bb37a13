"""What an event's organiser writes to registrants: their part of the privacy statement, kept
per version (a consent names the version agreed to, ``Registration.privacy_version``), and
the messages they send to all registrants or to one session's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
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


class OrganiserMessage(Base):
    """A message an organiser sent through the outbox: to whom (everyone registered, or one
    session's confirmed participants), and to how many; its form key makes a second click
    on "send" send nothing again."""

    __tablename__ = "organiser_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    recipients: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
