"""Anonymising one registration: what it blanks, what it keeps, and why.

Kept: the row itself, its profession, language, status, dates and enrolments (with their
history), so reports can still count who attended how many sessions, per profession.
Blanked: name, e-mail address (replaced by a unique placeholder), phone, organisation, needs,
the form's key; the manage and feed links stop working, the check-in code is replaced;
mail to the person loses its address, text, HTML and calendar (subject, kind and dates
stay); the audit trail loses their address; stored API answers that named the registration go.

The register numbers are what accreditation needs; they are kept when the caller says so
(``retention.keeps_accreditation_data``) and dropped by :func:`drop_accreditation_data`, which
the attendance and certificate features extend with presence, points and certificates.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session as DbSession

from symposium.models import (
    AuditEntry,
    IdempotencyKey,
    OutboxMessage,
    OutboxStatus,
    Registration,
)
from symposium.services.checkin import tickets
from symposium.services.core.tokens import new_nonce, token_hash
from symposium.services.mail import outbox, render

# Still sent after a deletion: the notice (it carries the invitation's CANCEL), and any
# other waiting calendar cancellation (outbox.withdraws_calendar).
FINAL_KINDS = frozenset({"registration_cancelled"})

# What a replay of the API request that made a since-deleted registration is answered.
DELETED_ANSWER = {
    "code": "registration_deleted",
    "message": "This registration and its data were deleted at the registrant's request.",
}


def placeholder_email(registration: Registration) -> str:
    """Unique per registration (one per address and event), and never deliverable."""
    return f"{registration.id}@anonymised.invalid"


def anonymise(
    db: DbSession, registration: Registration, now: datetime, *, keep_accreditation: bool
) -> bool:
    """Blank the person's details now; False when already done (a second run changes nothing)."""
    if registration.is_anonymised:
        if not keep_accreditation:
            drop_accreditation_data(registration)
        return False
    _scrub_audit(db, registration)
    _forget_mail(db, registration)
    _forget_api_answers(db, registration)
    registration.name = ""
    registration.email = placeholder_email(registration)
    registration.phone = ""
    registration.organisation = ""
    registration.needs = ""
    registration.submission_key = None
    # New secrets whose links nobody has: the old manage and feed links stop working.
    registration.token_nonce = new_nonce()
    registration.token_hash = token_hash(secrets.token_urlsafe(32))
    registration.feed_nonce = new_nonce()
    registration.feed_token_hash = token_hash(secrets.token_urlsafe(32))
    registration.checkin_code = _unused_code(db, registration.event_id)
    if not keep_accreditation:
        drop_accreditation_data(registration)
    registration.anonymised_at = now
    db.flush()
    return True


def _unused_code(db: DbSession, event_id: int) -> str:
    """A fresh check-in code: the old one (printed on a badge) no longer finds anyone."""
    while tickets.code_taken(db, event_id, code := tickets.new_code()):
        pass
    return code


def drop_accreditation_data(registration: Registration) -> bool:
    """Remove what was kept for accreditation (register numbers); False when none was left."""
    if not registration.identifiers:
        return False
    registration.identifiers = {}
    return True


def undelivered_mail_kept(registration_ids: Sequence[int]) -> list[ColumnElement[bool]]:
    """Mail to these registrations that still holds an address or a text, and is not waiting
    to be sent (the one final message keeps its address until it has gone)."""
    return [
        OutboxMessage.registration_id.in_(list(registration_ids)),
        OutboxMessage.status != OutboxStatus.QUEUED,
        (OutboxMessage.to_address != "") | (OutboxMessage.body_text != ""),
    ]


def blank_delivered_mail(db: DbSession, registration_ids: Sequence[int]) -> int:
    """Blank every sent or failed message to these registrations; returns how many."""
    if not registration_ids:
        return 0
    messages = db.scalars(select(OutboxMessage).where(*undelivered_mail_kept(registration_ids)))
    count = 0
    for message in messages:
        outbox.forget(message)
        count += 1
    return count


def _forget_mail(db: DbSession, registration: Registration) -> None:
    """Waiting mail goes (it would carry a dead link), except the final notice and every
    waiting calendar cancellation (a place left earlier, a cancelled session: without it the
    invitation would stay in their calendar), which are written now, while the name is still
    known; sent and failed mail is blanked. The worker blanks those last ones once sent."""
    messages = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.registration_id == registration.id)
        .order_by(OutboxMessage.id)
    ).all()
    for message in messages:
        if message.status is not OutboxStatus.QUEUED:
            outbox.forget(message)
        elif message.kind in FINAL_KINDS or outbox.withdraws_calendar(message):
            if message.render_context is not None:
                render.render(db, message)
        else:
            db.delete(message)


def _scrub_audit(db: DbSession, registration: Registration) -> None:
    """Replace the person's address wherever the event's audit trail mentions it."""
    address = registration.email
    label = f"registration {registration.id}"
    entries = db.scalars(select(AuditEntry).where(AuditEntry.event_id == registration.event_id))
    for entry in entries:
        if entry.target.startswith(f"{label} ") or entry.target == label:
            # The whole target: it may hold only part of a long address (targets are clipped).
            entry.target = label
        else:
            entry.target = entry.target.replace(address, label)
        entry.note = entry.note.replace(address, label)
        for name in ("before", "after"):
            value = getattr(entry, name)
            if (replaced := _replace(value, address, label)) != value:
                setattr(entry, name, replaced)


def _replace(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_replace(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _replace(v, old, new) for k, v in value.items()}
    return value


def _forget_api_answers(db: DbSession, registration: Registration) -> None:
    """Stored answers to API registrations carry the manage link and the person's details:
    they are replaced by a 410, and the key stays spent, so a client replaying its request
    cannot register the deleted person again."""
    keys = db.scalars(
        select(IdempotencyKey).where(
            IdempotencyKey.scope == f"registrations:{registration.event_id}"
        )
    ).all()
    for key in keys:
        if (key.response.get("registration") or {}).get("id") == registration.id:
            key.status_code = 410
            key.response = {"error": DELETED_ANSWER}
