"""Domain model, one module per aggregate; importing this package registers every table."""

from symposium.models.account import DoorToken, Membership, Role, User
from symposium.models.accreditation import (
    Accreditation,
    AccreditedSession,
    ListExport,
    PointsOverride,
    Rounding,
    Scope,
)
from symposium.models.api import IdempotencyKey
from symposium.models.audit import AuditEntry
from symposium.models.base import Base, UTCDateTime
from symposium.models.catalogue import Profession, Register, Theme
from symposium.models.certificate import Certificate, CertificateDesign, CertificateRule
from symposium.models.event import (
    Event,
    EventKind,
    EventLogo,
    EventStatus,
    Meeting,
    Round,
    Session,
    SessionKind,
    SessionQuota,
)
from symposium.models.outbox import OutboxMessage, OutboxStatus
from symposium.models.presence import CheckinScan, Presence, Via
from symposium.models.privacy import OrganiserMessage, PrivacyAddition
from symposium.models.referral import Referral, ReferralChange, ReferralState
from symposium.models.registration import (
    Enrolment,
    EnrolmentChange,
    EnrolmentStatus,
    Registration,
    RegistrationStatus,
)
from symposium.models.stamps import restamp  # noqa: F401  (registers the flush hook)

__all__ = [
    "Accreditation",
    "AccreditedSession",
    "AuditEntry",
    "Base",
    "Certificate",
    "CertificateDesign",
    "CertificateRule",
    "CheckinScan",
    "DoorToken",
    "Enrolment",
    "EnrolmentChange",
    "EnrolmentStatus",
    "Event",
    "EventKind",
    "EventLogo",
    "EventStatus",
    "IdempotencyKey",
    "ListExport",
    "Meeting",
    "Membership",
    "OrganiserMessage",
    "OutboxMessage",
    "OutboxStatus",
    "PointsOverride",
    "Presence",
    "PrivacyAddition",
    "Profession",
    "Referral",
    "ReferralChange",
    "ReferralState",
    "Register",
    "Registration",
    "RegistrationStatus",
    "Role",
    "Round",
    "Rounding",
    "Scope",
    "Session",
    "SessionKind",
    "SessionQuota",
    "Theme",
    "UTCDateTime",
    "User",
    "Via",
]
