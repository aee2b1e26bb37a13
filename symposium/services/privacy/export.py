"""The registrant's download of everything kept about them (AVG/GDPR art. 15 and 20).

Every column of a registration and an enrolment is either exported or listed in ``SECRET``
with the reason it is not; ``tests/privacy/test_export.py`` walks the models, so a new column
fails the test until someone decides which it is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session as DbSession

from symposium.models import (
    AuditEntry,
    Certificate,
    CheckinScan,
    Enrolment,
    OutboxMessage,
    Presence,
    Registration,
)

# Registration columns not in the download: secrets that work as keys to the registration
# (a leaked download must not act as the manage link), not data about the person.
SECRET = {
    "token_nonce": "makes the manage link",
    "token_hash": "checks the manage link",
    "feed_nonce": "makes the calendar feed's link",
    "feed_token_hash": "checks the calendar feed's link",
    "submission_key": "the form's one-time key",
}

# The check-in code is exported: it is printed on the ticket and badge, opens nothing (not
# the manage page, not the data) and is replaced when the registration is anonymised.

# Columns given under another name or as what they point to.
REGISTRATION_FIELDS = (
    "id", "event_id", "email", "name", "profession_id", "organisation", "phone", "needs",
    "language", "identifiers", "status", "created_at", "consent_at", "privacy_version",
    "unsubscribed_at", "cancelled_at", "deletion_requested_at", "anonymised_at",
    "checkin_code", "ical_sequence",
)  # fmt: skip
ENROLMENT_FIELDS = (
    "id", "registration_id", "session_id", "profession_id", "status", "waitlist_position",
    "replaces_id", "created_at", "changed_at", "ical_sequence",
)  # fmt: skip
# Presence at the door: every column, except which back-office accounts recorded it (the
# organiser's data, like the audit log's actors): given as "door" or None instead.
PRESENCE_FIELDS = (
    "id", "session_id", "meeting_id", "registration_id", "enrolment_id", "checked_in_at",
    "checked_in_via",
    "admitted_anyway", "checked_out_at", "checked_out_via", "undone_at", "recorded_at",
)  # fmt: skip
PRESENCE_ACCOUNTS = ("checked_in_by_id", "checked_out_by_id", "undone_by_id")
SCAN_FIELDS = ("session_id", "direction", "verdict", "reason", "scanned_at", "received_at")


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def personal_data(db: DbSession, registration: Registration) -> dict[str, Any]:
    """Everything kept about this registration, as JSON-ready data."""
    event = registration.event
    data: dict[str, Any] = {
        "event": {
            "slug": event.slug,
            "title": event.title,
            "starts_at": _value(event.starts_at),
            "ends_at": _value(event.ends_at),
            "organiser": {"name": event.organiser_name, "email": event.organiser_email},
        },
        "registration": {name: _value(getattr(registration, name)) for name in REGISTRATION_FIELDS},
        "profession": {
            "code": registration.profession.code,
            "name_nl": registration.profession.name_nl,
            "name_en": registration.profession.name_en,
        },
        "enrolments": [_enrolment(e) for e in registration.enrolments],
        "presence": _presence(db, registration),
        "scans": _scans(db, registration),
        "history": _history(db, registration),
        "mail": _mail(db, registration),
        "certificates": _certificates(db, registration),
    }
    # The register numbers under their own heading as well: what the registers receive.
    data["register_numbers"] = dict(registration.identifiers)
    return data


def _certificates(db: DbSession, registration: Registration) -> list[dict[str, Any]]:
    """Each certificate as issued (what it says), valid or revoked."""
    rows = db.scalars(
        select(Certificate)
        .where(Certificate.registration_id == registration.id)
        .order_by(Certificate.serial)
    )
    return [
        {
            "number": c.number, "code": c.code, "name": c.name, "profession": c.profession,
            "content": c.content, "issued_at": _value(c.issued_at),
            "revoked_at": _value(c.revoked_at),
        }
        for c in rows
    ]  # fmt: skip


def _enrolment(enrolment: Enrolment) -> dict[str, Any]:
    session = enrolment.session
    out = {name: _value(getattr(enrolment, name)) for name in ENROLMENT_FIELDS}
    out["session"] = {
        "key": session.key,
        "title": session.title,
        "round": session.round.title if session.round is not None else None,
        "room": session.room,
        "starts_at": _value(session.effective_starts_at),
        "ends_at": _value(session.effective_ends_at),
        "meetings": [
            {"starts_at": _value(m.starts_at), "ends_at": _value(m.ends_at), "room": m.room}
            for m in session.meetings
        ],
    }
    out["changes"] = [
        {"at": _value(c.at), "from": c.from_status, "to": c.to_status, "reason": c.reason}
        for c in enrolment.changes
    ]
    return out


def _presence(db: DbSession, registration: Registration) -> list[dict[str, Any]]:
    """Their check-ins and check-outs, undone ones included (certificates are built from them)."""
    rows = db.scalars(
        select(Presence)
        .where(Presence.registration_id == registration.id)
        .order_by(Presence.checked_in_at, Presence.id)
    )
    out = []
    for row in rows:
        item = {name: _value(getattr(row, name)) for name in PRESENCE_FIELDS}
        for name in PRESENCE_ACCOUNTS:
            item[name.removesuffix("_id")] = "door" if getattr(row, name) is not None else None
        item["session"] = row.session.key
        item["meeting"] = row.meeting.key if row.meeting is not None else None
        out.append(item)
    return out


def _scans(db: DbSession, registration: Registration) -> list[dict[str, Any]]:
    """Every scan of their ticket at the door, with its answer."""
    rows = db.scalars(
        select(CheckinScan)
        .where(CheckinScan.registration_id == registration.id)
        .order_by(CheckinScan.scanned_at, CheckinScan.id)
    )
    return [{name: _value(getattr(row, name)) for name in SCAN_FIELDS} for row in rows]


def _history(db: DbSession, registration: Registration) -> list[dict[str, Any]]:
    """The audit entries about them; who in the back-office acted is the organiser's data."""
    # Services write "registration 12 …" or "registration:12 …": both are about them.
    labels = (f"registration {registration.id}", f"registration:{registration.id}")
    entries = db.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.event_id == registration.event_id,
            or_(
                *(AuditEntry.target == label for label in labels),
                *(AuditEntry.target.startswith(label + " ") for label in labels),
            ),
        )
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    return [
        {
            "at": _value(e.at),
            "action": e.action,
            "by": "organiser" if e.user_id is not None else "system",
            "before": e.before,
            "after": e.after,
            "note": e.note,
        }
        for e in entries
    ]


def _mail(db: DbSession, registration: Registration) -> list[dict[str, Any]]:
    messages = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.registration_id == registration.id)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    return [
        {
            "kind": m.kind,
            "subject": m.subject,
            "to": m.to_address,
            "queued_at": _value(m.created_at),
            "sent_at": _value(m.sent_at),
            "status": _value(m.status),
        }
        for m in messages
    ]
