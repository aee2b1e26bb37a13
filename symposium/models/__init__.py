"""Domain model, one module per aggregate; importing this package registers every table."""

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

__all__ = [
    "Base",
    "Event",
    "EventStatus",
    "Meeting",
    "Profession",
    "Register",
    "Round",
    "Session",
    "SessionKind",
    "SessionQuota",
    "Theme",
    "UTCDateTime",
]
