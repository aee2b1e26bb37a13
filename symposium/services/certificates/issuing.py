"""Who earns a certificate, and issuing, re-issuing and revoking them: the one home of the
certificate rule.

The event's rule (``CertificateDesign.rule``) says who gets one: those who earned points
with at least one register (``accreditation.points``: presence, tolerances, caps, overrides)
or those who attended at least one session. Everyone else is listed with the reason.

Issuing is idempotent: it runs under the event row's lock and a person holds at most one
valid certificate (a partial unique index), so a second run, or two at once, issues nothing
new and mails no one twice. Each new certificate queues one mail whose PDF the worker builds
(``mail.delivery``), never the request. A certificate keeps what it said (``content``); a
correction is made by re-issuing: the old one is revoked and points to its successor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

from symposium.models import (
    Certificate,
    CertificateRule,
    Event,
    Presence,
    Registration,
    RegistrationStatus,
    SessionKind,
    User,
)
from symposium.services.accreditation import numbers, points
from symposium.services.certificates import codes, design
from symposium.services.checkin import attendance
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.core.locking import begin_write, lock_event
from symposium.services.mail import outbox

ZERO = Decimal("0")


@dataclass
class Standing:
    """One registration's standing: may it have a certificate, and does it have one."""

    registration: Registration
    eligible: bool
    reason: Any = None  # why not (a lazy message), when not eligible
    results: list[points.Result] = field(default_factory=list)
    presences: list[Presence] = field(default_factory=list)
    certificate: Certificate | None = None  # the valid one, if issued
    # The last one revoked without a successor: issuing all skips the person (the organiser
    # withdrew it on purpose); "issue again" on its row gives a new one.
    withdrawn: Certificate | None = None
    changed: bool = False  # what it would say now differs from the issued one (or the
    # person no longer meets the rule at all: ``eligible`` is then False)

    @property
    def earned(self) -> list[points.Result]:
        return [r for r in self.results if r.points > 0]


@dataclass
class Report:
    """What issuing did (or, in a dry run, would do)."""

    issued: list[Certificate] = field(default_factory=list)
    would_issue: list[Standing] = field(default_factory=list)
    already: list[Standing] = field(default_factory=list)
    not_eligible: list[Standing] = field(default_factory=list)


def standings(
    db: DbSession, event: Event, registration_ids: Iterable[int] | None = None
) -> list[Standing]:
    """Every active registration of the event (or those named), by name, with its standing;
    cancelled ones only when they still hold a valid certificate."""
    rule = design.rule_of(db, event)
    only = list(registration_ids) if registration_ids is not None else None
    query = (
        select(Registration)
        .where(Registration.event_id == event.id)
        .options(selectinload(Registration.profession))
        .order_by(Registration.name, Registration.id)
    )
    valid: dict[int | None, Certificate] = {}
    withdrawn: dict[int | None, Certificate] = {}
    for c in db.scalars(
        select(Certificate)
        .where(Certificate.event_id == event.id, Certificate.replaced_by_id.is_(None))
        .order_by(Certificate.serial)
    ):
        (valid if c.revoked_at is None else withdrawn)[c.registration_id] = c
    if only is not None:
        query = query.where(Registration.id.in_(only or [0]))
    people = [
        r for r in db.scalars(query) if r.status is RegistrationStatus.ACTIVE or r.id in valid
    ]
    ids = [r.id for r in people]
    found = points.event_points(db, event, ids).results if rule is CertificateRule.POINTS else {}
    present = attendance.presences_by_registration(db, ids)
    out = []
    for registration in people:
        standing = _standing(
            rule, registration, found.get(registration.id, []), present.get(registration.id, [])
        )
        standing.certificate = valid.get(registration.id)
        if standing.certificate is None:
            standing.withdrawn = withdrawn.get(registration.id)
        elif not standing.eligible:
            # No longer earned (points overridden, presence undone): flagged. A certificate
            # outlives its registration's data, a cancellation and the rule set to "off".
            standing.changed = (
                rule is not CertificateRule.OFF
                and registration.is_active
                and not registration.is_anonymised
            )
        else:
            fresh = content(event, standing, registration.language)
            standing.changed = _comparable(fresh) != _comparable(standing.certificate.content)
        out.append(standing)
    return out


def _standing(
    rule: CertificateRule,
    registration: Registration,
    results: list[points.Result],
    presences: list[Presence],
) -> Standing:
    standing = Standing(registration, False, None, results, presences)
    if rule is CertificateRule.OFF:
        standing.reason = _l("This event issues no certificates.")
    elif registration.is_anonymised:
        standing.reason = _l("Their personal data has been deleted.")
    elif not registration.is_active:
        standing.reason = _l("The registration is cancelled.")
    elif not presences:
        standing.reason = _l("No check-in was recorded.")
    elif rule is CertificateRule.ATTENDANCE:
        standing.eligible = True
    elif not results:
        standing.reason = _l("None of the registers of their profession accredited this event.")
    elif standing.earned:
        standing.eligible = True
    else:
        reasons = [reason for r in results for reason in r.reasons]
        standing.reason = reasons[0] if reasons else _l("No points were earned.")
    return standing


def content(event: Event, standing: Standing, language: str) -> dict[str, Any]:
    """What the certificate says, in plain JSON values (times in UTC, ISO 8601)."""
    registration = standing.registration
    with force_locale(language):
        sessions = _sessions(event, standing.presences)
        return {
            "event": {
                "title": event.title,
                "venue": event.venue,
                "address": event.address,
                "organiser": event.organiser_name,
                "timezone": event.timezone,
                "starts_at": event.starts_at.isoformat(),
                "ends_at": event.ends_at.isoformat(),
                "series": any(s["kind"] == SessionKind.GROUP.value for s in sessions),
            },
            "numbers": numbers.shown(registration.identifiers),
            "sessions": sessions,
            "hours": plain(sum((Decimal(s["hours"]) for s in sessions if s["hours"]), ZERO)),
            "registers": [
                {
                    "code": r.accreditation.register.code,
                    "register": r.accreditation.register.short_name,
                    "name": r.accreditation.register.name,
                    "body": r.accreditation.body or r.accreditation.register.name,
                    "activity_id": r.accreditation.activity_id,
                    "points": plain(r.points),
                    "number": r.number or "",
                }
                for r in standing.earned
            ],
        }


def _sessions(event: Event, presences: list[Presence]) -> list[dict[str, Any]]:
    """The sessions attended, in time order; contact hours only for those attended in full,
    and once per round (a second room in the same round counts nothing). A group that meets
    several times is one row listing the meetings attended; in full means every meeting."""
    attended: dict[int, list[Presence]] = {}
    for presence in sorted(
        presences, key=lambda p: (p.starts_at or event.starts_at, p.session_id, p.id)
    ):
        attended.setdefault(presence.session_id, []).append(presence)
    rows, rounds = [], set()
    for group in attended.values():
        session = group[0].session
        meetings = [p.meeting for p in group if p.meeting is not None]
        full = all(attendance.in_full(p) for p in group) and (
            not session.meetings or len(meetings) == len(session.meetings)
        )
        counted = full and session.hours is not None and session.round_id not in rounds
        if counted and session.round_id is not None:
            rounds.add(session.round_id)
        starts, ends = session.effective_starts_at, session.effective_ends_at
        rows.append(
            {
                "title": session.title,
                "kind": session.kind.value,
                "starts_at": starts.isoformat() if starts else None,
                "ends_at": ends.isoformat() if ends else None,
                "in_full": full,
                "checked_in_at": group[0].checked_in_at.isoformat(),
                "hours": plain(session.hours) if counted and session.hours is not None else None,
                # A group: the meetings attended, of how many it held.
                "meetings": [[m.starts_at.isoformat(), m.ends_at.isoformat()] for m in meetings],
                "meetings_held": len(session.meetings),
            }
        )
    return rows


def plain(value: Decimal) -> str:
    """A number as stored in a certificate: "4", "1.5", "4.25" (whatever the database's
    scale), so two certificates saying the same compare equal."""
    return format(value.normalize(), "f") if value else "0"


def _comparable(found: dict[str, Any]) -> tuple[Any, ...]:
    """What a correction can change: the sessions, the points and numbers, the hours (not
    the moment of a check-in: a scan entered again later is no correction; nor the count of
    a group's meetings, which certificates issued before presence per meeting lack)."""
    sessions = [
        {k: v for k, v in s.items() if k not in ("checked_in_at", "meetings_held")}
        for s in found.get("sessions", [])
    ]
    return (sessions, found.get("registers"), found.get("numbers"), found.get("hours"))


def issue_all(
    db: DbSession, user: User | None, event: Event, now: datetime, *, dry_run: bool = False
) -> Report:
    """Issue a certificate to everyone who earned one and has none yet, and queue their
    mail; with ``dry_run``, only say what would happen. Runs under the event row's lock."""
    if not dry_run:
        begin_write(db)
        lock_event(db, event.id)
    report = Report()
    for standing in standings(db, event):
        if standing.certificate is not None:
            report.already.append(standing)
        elif standing.eligible and standing.withdrawn is None:
            report.would_issue.append(standing)
        else:
            if standing.eligible:  # withdrawn on purpose: not given again by issuing all
                standing.reason = _l("Their certificate was revoked.")
            report.not_eligible.append(standing)
    if dry_run or not report.would_issue:
        return report
    serial = _next_serial(db, event)
    for standing in report.would_issue:
        report.issued.append(_issue(db, user, event, standing, serial, now))
        serial += 1
    audit.record(
        db, user=user, event=event, action="certificates_issued",
        target=f"{len(report.issued)} certificates",
        after={"count": len(report.issued),
               "numbers": [report.issued[0].number, report.issued[-1].number]},
        now=now,
    )  # fmt: skip
    return report


def _next_serial(db: DbSession, event: Event) -> int:
    found = db.scalar(select(func.max(Certificate.serial)).where(Certificate.event_id == event.id))
    return (found or 0) + 1


def number_for(event: Event, serial: int) -> str:
    """The number people quote: the event's slug in capitals and a serial, "7ROSES-0012"."""
    return f"{event.slug.upper()[:50]}-{serial:04d}"


def _issue(
    db: DbSession,
    user: User | None,
    event: Event,
    standing: Standing,
    serial: int,
    now: datetime,
) -> Certificate:
    registration = standing.registration
    certificate = build(event, standing, now, serial=serial, user=user)
    db.add(certificate)
    db.flush()
    outbox.queue(db, registration, "certificate", now, certificate=certificate)
    return certificate


def build(
    event: Event,
    standing: Standing,
    now: datetime,
    *,
    serial: int = 0,
    user: User | None = None,
    code: str | None = None,
) -> Certificate:
    """A certificate for ``standing`` (not added to the database: a preview is one too)."""
    registration = standing.registration
    language = registration.language
    # "Other" says nothing on a certificate (a group's participant has no profession).
    profession = (
        "" if registration.profession.code == "overig" else (registration.profession.name(language))
    )
    return Certificate(
        event_id=event.id,
        event=event,
        registration_id=registration.id,
        code=code or codes.new_code(),
        serial=serial,
        number=number_for(event, serial),
        language=language,
        name=registration.name,
        profession=profession,
        content=content(event, standing, language),
        issued_at=now,
        issued_by_id=user.id if user is not None else None,
        revoke_reason="",
    )


def preview(db: DbSession, registration: Registration, now: datetime) -> Certificate:
    """What this person's certificate would say now, issued or not (never saved)."""
    standing = standings(db, registration.event, [registration.id])
    if not standing:
        raise RuleError("not_found", _l("No such registration."), status=404)
    found = standing[0]
    return build(registration.event, found, now, serial=0, code="0" * codes.LENGTH)


def revoke(
    db: DbSession, user: User | None, certificate: Certificate, reason: str, now: datetime
) -> Certificate:
    """Withdraw a certificate with the reason (its page then says "revoked"); doing it twice
    changes nothing."""
    reason = reason.strip()
    if not reason:
        raise RuleError("reason_required", _l("Write down why."), field="reason")
    begin_write(db)
    lock_event(db, certificate.event_id)  # not at the same time as a re-issue of it
    db.refresh(certificate)
    if certificate.revoked_at is not None:
        return certificate
    _withdraw(certificate, user, reason, now)
    audit.record(
        db, user=user, event=certificate.event, action="certificate_revoked",
        target=f"certificate {certificate.number}", after={"reason": reason}, now=now,
    )  # fmt: skip
    db.flush()
    return certificate


def _withdraw(certificate: Certificate, user: User | None, reason: str, now: datetime) -> None:
    """Mark a certificate revoked, by whom and why (revoke and re-issue both do)."""
    certificate.revoked_at = now
    certificate.revoked_by_id = user.id if user is not None else None
    certificate.revoke_reason = reason


def reissue(
    db: DbSession, user: User | None, certificate: Certificate, now: datetime
) -> Certificate:
    """Replace a certificate after a correction: a new one with today's points and a new
    code, mailed; the old one is revoked and points to it. A certificate revoked without a
    successor is given a successor the same way ("issue again"). Re-issuing a replaced
    certificate again finds its successor."""
    event = certificate.event
    begin_write(db)
    lock_event(db, event.id)
    db.refresh(certificate)
    if certificate.replaced_by is not None:
        return certificate.replaced_by
    if certificate.registration is None:
        raise RuleError("not_valid", _l("Only a certificate of a registration can be re-issued."))
    if certificate.revoked_at is not None:
        other = valid_certificate(db, certificate.registration)
        if other is not None:  # they hold another valid one already
            return other
    found = standings(db, event, [certificate.registration_id])
    if not found or not found[0].eligible:
        reason = found[0].reason if found else _l("No such registration.")
        raise RuleError(
            "not_eligible",
            _l("%(reason)s Revoke the certificate instead.", reason=str(reason)),
        )
    if certificate.revoked_at is None:
        with force_locale(certificate.language):
            _withdraw(certificate, user, str(_l("Replaced after a correction.")), now)
        db.flush()  # the partial unique index: the old one is no longer valid
    new = _issue(db, user, event, found[0], _next_serial(db, event), now)
    certificate.replaced_by_id = new.id
    audit.record(
        db, user=user, event=event, action="certificate_reissued",
        target=f"certificate {certificate.number}",
        before={"number": certificate.number}, after={"number": new.number}, now=now,
    )  # fmt: skip
    db.flush()
    return new


def valid_certificate(db: DbSession, registration: Registration) -> Certificate | None:
    """The registration's valid certificate (its manage page offers it), if any."""
    return db.scalars(
        select(Certificate).where(
            Certificate.registration_id == registration.id, Certificate.revoked_at.is_(None)
        )
    ).first()


def issued(db: DbSession, event: Event, *, valid_only: bool = True) -> list[Certificate]:
    """The event's certificates by number (for the combined PDF and the ZIP)."""
    query = select(Certificate).where(Certificate.event_id == event.id)
    if valid_only:
        query = query.where(Certificate.revoked_at.is_(None))
    return list(db.scalars(query.order_by(Certificate.serial)))
