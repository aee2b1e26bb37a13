"""How long personal data is kept, and the purge that anonymises it afterwards.

The one home of the retention rule (see docs/security.md, "Personal data"):

- everything a registration holds about a person is anonymised ``RETENTION_DAYS`` after its
  event ends (:func:`purge`, run by ``flask --app symposium purge``);
- what accreditation needs (today the register numbers) of those who attended stays until
  ``ACCREDITATION_RETENTION_DAYS`` after the event: the provider enters attendance in
  PE-online/GAIA up to two months after it, and corrections come later still;
- a certificate (name, profession, numbers, sessions and points as issued) stays checkable
  ``CERTIFICATE_RETENTION_DAYS`` after it is issued (registers re-register every five
  years), whatever became of the registration, and is then deleted; a deletion asked for
  by the person deletes their certificates at once (``privacy.deletion``).

Who counts as having attended, and what accreditation needs, are :func:`attended` (a
presence recorded at the door) and ``anonymise.drop_accreditation_data``: the certificate
feature extends the second (points and certificates beside the numbers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import object_session

from symposium.models import Certificate, Event, Presence, Registration, Session
from symposium.models.registration import EnrolmentStatus
from symposium.services.core import audit
from symposium.services.privacy import anonymise


@dataclass(frozen=True)
class Retention:
    """The two retention periods, in days after an event ends."""

    personal_days: int
    accreditation_days: int
    certificate_days: int = 1830  # after issue, not after the event

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Retention:
        return cls(
            int(config["RETENTION_DAYS"]),
            int(config["ACCREDITATION_RETENTION_DAYS"]),
            int(config["CERTIFICATE_RETENTION_DAYS"]),
        )

    def personal_until(self, event: Event) -> datetime:
        """When the personal data of the event's registrations is anonymised."""
        return event.ends_at + timedelta(days=self.personal_days)

    def accreditation_until(self, event: Event) -> datetime:
        """Until when the register numbers of those who attended are kept."""
        return event.ends_at + timedelta(days=self.accreditation_days)

    def last_until(self, event: Event) -> datetime:
        """When nothing personal is left of the event's registrations."""
        return max(self.personal_until(event), self.accreditation_until(event))


def attended(registration: Registration, now: datetime) -> bool:
    """Whether the person took part in an event that has ended.

    Taking part is a presence recorded at the door (check-in, paper sheet, walk-in), not
    undone. An event that never used the door (no presence at all) falls back to a
    confirmed place, so its organiser can still enter attendance by hand.
    """
    if registration.event.ends_at > now:
        return False
    db = object_session(registration)
    assert db is not None
    if db.scalar(
        select(Presence.id)
        .where(Presence.registration_id == registration.id, Presence.undone_at.is_(None))
        .limit(1)
    ):
        return True
    if db.scalar(
        select(Presence.id)
        .join(Session, Session.id == Presence.session_id)
        .where(Session.event_id == registration.event_id, Presence.undone_at.is_(None))
        .limit(1)
    ):
        return False  # the door was used, and they were not there
    return registration.is_active and any(
        e.status is EnrolmentStatus.CONFIRMED for e in registration.enrolments
    )


def keeps_accreditation_data(
    registration: Registration, now: datetime, retention: Retention
) -> bool:
    """Whether what accreditation needs must stay for now: they attended, the deadline is ahead."""
    return attended(registration, now) and now < retention.accreditation_until(registration.event)


@dataclass
class EventPurge:
    """What the purge does (or, in a dry run, would do) for one event."""

    event: Event
    personal_until: datetime
    accreditation_until: datetime
    anonymise: list[Registration] = field(default_factory=list)
    kept_for_accreditation: int = 0
    drop_accreditation: list[Registration] = field(default_factory=list)
    mail: int = 0
    certificates: int = 0  # issued longer ago than the certificate retention

    @property
    def changes(self) -> bool:
        return bool(self.anonymise or self.drop_accreditation or self.mail or self.certificates)


def plan(db: DbSession, now: datetime, retention: Retention) -> list[EventPurge]:
    """Per event that has ended, what is still to be removed from its registrations."""
    events = db.scalars(
        select(Event).where(Event.ends_at <= now).order_by(Event.ends_at, Event.id)
    ).all()
    plans = []
    for event in events:
        item = EventPurge(event, retention.personal_until(event), retention.last_until(event))
        registrations = db.scalars(
            select(Registration).where(Registration.event_id == event.id).order_by(Registration.id)
        ).all()
        for registration in registrations:
            keep = keeps_accreditation_data(registration, now, retention)
            if not registration.is_anonymised:
                if now < item.personal_until:
                    continue
                item.anonymise.append(registration)
                item.kept_for_accreditation += keep and bool(registration.identifiers)
            elif registration.identifiers and not keep:
                item.drop_accreditation.append(registration)
        item.certificates = (
            db.scalar(select(func.count()).where(*_old_certificates(item, now, retention))) or 0
        )
        due = [r.id for r in registrations if r.is_anonymised or r in item.anonymise]
        if due:
            item.mail = (
                db.scalar(select(func.count()).where(*anonymise.undelivered_mail_kept(due))) or 0
            )
        plans.append(item)
    return plans


def purge(
    db: DbSession, now: datetime, retention: Retention, *, dry_run: bool = False
) -> list[EventPurge]:
    """Anonymise what is due (see the module docstring); returns what was (or would be) done.

    Idempotent: a second run finds nothing left. The caller commits (or, for a dry run,
    there is nothing to commit).
    """
    plans = plan(db, now, retention)
    if dry_run:
        return plans
    for item in plans:
        if not item.changes:
            continue
        for registration in item.anonymise:
            keep = keeps_accreditation_data(registration, now, retention)
            anonymise.anonymise(db, registration, now, keep_accreditation=keep)
        for registration in item.drop_accreditation:
            anonymise.drop_accreditation_data(registration)
        ids = [
            r.id
            for r in db.scalars(
                select(Registration).where(
                    Registration.event_id == item.event.id, Registration.anonymised_at.is_not(None)
                )
            )
        ]
        anonymise.blank_delivered_mail(db, ids)
        if item.certificates:
            db.execute(delete(Certificate).where(*_old_certificates(item, now, retention)))
        audit.record(
            db, user=None, event=item.event, action="personal_data_purged", target="registrations",
            after={
                "anonymised": len(item.anonymise),
                "kept_for_accreditation": item.kept_for_accreditation,
                "accreditation_data_removed": len(item.drop_accreditation),
                "mail_blanked": item.mail,
                "certificates_deleted": item.certificates,
            },
            now=now,
        )  # fmt: skip
    db.flush()
    return plans


def _old_certificates(item: EventPurge, now: datetime, retention: Retention) -> list[Any]:
    """The event's certificates whose retention has run out (see the module)."""
    return [
        Certificate.event_id == item.event.id,
        Certificate.issued_at <= now - timedelta(days=retention.certificate_days),
    ]


@dataclass(frozen=True)
class EventPrivacy:
    """What the back-office shows about an event's personal data."""

    personal_until: datetime
    accreditation_until: datetime
    deletion_requests: int
    anonymised: int


def event_privacy(db: DbSession, event: Event, retention: Retention) -> EventPrivacy:
    requests, anonymised = db.execute(
        select(
            func.count(Registration.deletion_requested_at),
            func.count(Registration.anonymised_at),
        ).where(Registration.event_id == event.id)
    ).one()
    return EventPrivacy(
        retention.personal_until(event), retention.last_until(event), requests, anonymised
    )
