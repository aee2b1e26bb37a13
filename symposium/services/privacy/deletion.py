"""Deletion on request: the registrant asks from their manage page, and it happens at once.

Their places are cancelled through the registration lifecycle (so the waiting lists move up
and the calendar invitations are withdrawn), then their details are anonymised
(``privacy.anonymise``), except what accreditation needs if they attended
(``retention.keeps_accreditation_data``); the purge removes that after the registers' deadline.
Their certificates are deleted at once: they asked for everything to go.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session as DbSession

from symposium.models import Certificate, Registration
from symposium.services.core import audit
from symposium.services.core.locking import begin_write
from symposium.services.privacy import anonymise
from symposium.services.privacy.retention import Retention, keeps_accreditation_data
from symposium.services.registration import lifecycle
from symposium.services.registration.places import lock_event_sessions


def request_deletion(
    db: DbSession, registration: Registration, now: datetime, retention: Retention
) -> bool:
    """Cancel the places and anonymise the registration; False when it was already asked for
    (a repeated or concurrent submit changes nothing more)."""
    event = registration.event
    begin_write(db)
    # The event row first, as issuing certificates takes it: a certificate being issued
    # now is committed before this deletes it, or not issued at all.
    lock_event_sessions(db, event, programme=True)
    db.refresh(registration)  # as it stands under the lock: a concurrent request may have won
    if registration.deletion_requested_at is not None:
        return False
    # Decided before the places are cancelled: whether they took part, not what is left.
    keep = keeps_accreditation_data(registration, now, retention)
    if registration.is_active and now < event.ends_at:
        lifecycle.cancel_registration(db, registration, now)
    registration.deletion_requested_at = now
    # Their certificates go too: a check by code then finds nothing (their mail, if not
    # sent yet, loses its certificate and is dropped by the worker).
    certificates = db.execute(
        delete(Certificate).where(Certificate.registration_id == registration.id)
    ).rowcount
    anonymise.anonymise(db, registration, now, keep_accreditation=keep)
    audit.record(
        db, user=None, event=event, action="personal_data_deleted",
        target=f"registration {registration.id}",
        after={"kept_for_accreditation": sorted(registration.identifiers),
               "certificates_deleted": certificates},
        note="asked for by the registrant", now=now,
    )  # fmt: skip
    db.flush()
    return True
