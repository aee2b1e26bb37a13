"""The certificate aggregate: an attendance certificate (bewijs van deelname) as issued.

A certificate keeps what it said when it was issued (name, numbers, sessions, points per
register): the PDF is rebuilt from these fields, so a reprint or a mail retried a day later
is the same document, and its verification page shows what the paper shows. A correction
(points, a number, the name) revokes it and issues a new one that the old one points to.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from symposium.models.account import User
from symposium.models.base import Base, UTCDateTime, str_enum
from symposium.models.event import Event
from symposium.models.registration import Registration


class CertificateRule(enum.StrEnum):
    """Who gets a certificate when the organiser issues them."""

    POINTS = "points"  # earned points with at least one accrediting register
    ATTENDANCE = "attendance"  # attended at least one session (a group series: a meeting)
    OFF = "off"  # the event issues none


class CertificateDesign(Base):
    """An event's certificate settings: who gets one, and who signs it."""

    __tablename__ = "certificate_designs"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    rule: Mapped[CertificateRule] = mapped_column(
        str_enum(CertificateRule), default=CertificateRule.POINTS
    )
    signatory_name: Mapped[str] = mapped_column(String(200), default="")
    signatory_role: Mapped[str] = mapped_column(String(200), default="")
    # A PNG or JPEG of the signature (checked and scaled down on upload); loaded only when
    # a PDF is built.
    signature: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    signature_type: Mapped[str] = mapped_column(String(20), default="")

    event: Mapped[Event] = relationship()


class Certificate(Base):
    """One attendee's certificate for one event, as issued."""

    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("event_id", "serial"),
        # One valid certificate per registration: issuing twice (or twice at once) finds it.
        Index(
            "uq_certificates_live",
            "registration_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    # None once the registration's data is deleted; the certificate stays verifiable.
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registrations.id", ondelete="SET NULL"), index=True
    )
    # The verification code: 100 random bits in Crockford's base32 (services.certificates).
    code: Mapped[str] = mapped_column(String(20), unique=True)
    serial: Mapped[int]
    # The certificate number people quote: "7ROSES-2027-0012".
    number: Mapped[str] = mapped_column(String(60))
    language: Mapped[str] = mapped_column(String(5), default="nl")
    name: Mapped[str] = mapped_column(String(200))
    profession: Mapped[str] = mapped_column(String(200), default="")
    # What it says, as issued: sessions attended, points per register, the numbers.
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")
    replaced_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificates.id", ondelete="SET NULL"), index=True
    )

    event: Mapped[Event] = relationship()
    registration: Mapped[Registration | None] = relationship()
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    replaced_by: Mapped[Certificate | None] = relationship(remote_side="Certificate.id")

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None
