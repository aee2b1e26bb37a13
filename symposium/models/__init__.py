"""Domain model, one module per aggregate; importing this package registers every table."""

from symposium.models.account import DoorToken, Membership, Role, User
from symposium.models.api import IdempotencyKey
from symposium.models.audit import AuditEntry
from symposium.models.base import Base, UTCDateTime
from symposium.models.catalogue import Profession, Register, Theme
from symposium.models.event import (
    Event,
    EventStatus,
    Meeting,
    Round,
    Session,
    SessionKind,
    SessionQuota,
)
from symposium.models.outbox import OutboxMessage, OutboxStatus
from symposium.models.presence import CheckinScan, Presence, Via
from symposium.models.registration import (
    Enrolment,
    EnrolmentChange,
    EnrolmentStatus,
    Registration,
    RegistrationStatus,
)
from symposium.models.stamps import restamp  # noqa: F401  (registers the flush hook)

__all__ = [
    "AuditEntry",
    "Base",
    "CheckinScan",
    "DoorToken",
    "Enrolment",
    "EnrolmentChange",
    "EnrolmentStatus",
    "Event",
    "EventStatus",
    "IdempotencyKey",
    "Meeting",
    "Membership",
    "OutboxMessage",
    "OutboxStatus",
    "Presence",
    "Profession",
    "Register",
    "Registration",
    "RegistrationStatus",
    "Role",
    "Round",
    "Session",
    "SessionKind",
    "SessionQuota",
    "Theme",
    "UTCDateTime",
    "User",
    "Via",
]
