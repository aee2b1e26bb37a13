"""Mail as data: every message is a row, written in the transaction that caused it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from symposium.models.base import Base, UTCDateTime, str_enum


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registrations.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    # An iTIP calendar (REQUEST/CANCEL) sent inline and as invite.ics, when there is one.
    calendar_method: Mapped[str | None] = mapped_column(String(20))
    calendar: Mapped[str | None] = mapped_column(Text)
    # The check-in code the HTML part shows as an inline QR image (cid:), when it has one.
    qr_code: Mapped[str | None] = mapped_column(String(13))
    # The certificate whose PDF the worker attaches (built when sent, not when queued).
    certificate_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificates.id", ondelete="SET NULL"), index=True
    )
    # A mail about a referral (services.referrals.notices): blanked when the referral is.
    referral_id: Mapped[int | None] = mapped_column(
        ForeignKey("referrals.id", ondelete="SET NULL"), index=True
    )
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus), default=OutboxStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # Attempts whose outcome the worker cannot know: the connection was cut after the whole
    # message had gone out and before the server's reply. The message is sent again (at
    # least once), so the registrant may have it twice; this count says how often that may be.
    maybe_sent: Mapped[int] = mapped_column(default=0, server_default="0")
    # What a message about a registration is about, until ``mail.render`` writes it (then
    # None): the places it names and the invitation's method and SEQUENCEs.
    render_context: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # A message sent in bulk (an organiser's message): the link that unsubscribes its
    # recipient in one click, sent as List-Unsubscribe (RFC 8058). Empty: transactional mail.
    list_unsubscribe: Mapped[str] = mapped_column(String(500), default="", server_default="")
