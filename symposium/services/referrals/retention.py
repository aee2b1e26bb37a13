"""How long a referral is kept: until the series' ``referral_retention_months`` after it closed.

Then ``flask --app symposium purge`` anonymises it. What stays is what the funder's report
counts, and nothing that names anyone: when it was referred, the referrer's profession, the
preferred themes, its state, the group it was placed in, and when each step was taken. The
names, addresses, phone numbers, AGB code, language, need, the intake notes, who took the
steps, and the texts of the mails to the referrer are deleted. A referral that is not closed
is kept however old it is: a coordinator is still working on it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session as DbSession

from symposium.models import AuditEntry, Event, OutboxMessage, OutboxStatus, Referral
from symposium.services.core import audit
from symposium.services.mail import outbox


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def kept_until(referral: Referral) -> datetime | None:
    """When a closed referral is anonymised; None while it is open."""
    if referral.closed_at is None:
        return None
    return add_months(referral.closed_at, referral.event.referral_retention_months)


@dataclass
class SeriesPurge:
    """What the purge does (or would do) with one series' referrals."""

    event: Event
    due: list[Referral] = field(default_factory=list)


def plan(db: DbSession, now: datetime) -> list[SeriesPurge]:
    """Per series with closed referrals not yet anonymised, those whose time is up."""
    found = db.scalars(
        select(Referral)
        .join(Event, Event.id == Referral.event_id)
        .where(
            Referral.closed_at.is_not(None),
            Referral.anonymised_at.is_(None),
        )
        .order_by(Referral.event_id, Referral.id)
    ).all()
    plans: dict[int, SeriesPurge] = {}
    for referral in found:
        until = kept_until(referral)
        if until is not None and until <= now:
            plans.setdefault(referral.event_id, SeriesPurge(referral.event)).due.append(referral)
    return list(plans.values())


def purge(db: DbSession, now: datetime, *, dry_run: bool = False) -> list[SeriesPurge]:
    """Anonymise the referrals whose time is up (see the module); idempotent. The caller
    commits (a dry run changes nothing)."""
    plans = plan(db, now)
    if dry_run:
        return plans
    for item in plans:
        for referral in item.due:
            anonymise(db, referral, now)
        audit.record(
            db, user=None, event=item.event, action="referrals_purged", target="referrals",
            after={"anonymised": len(item.due)}, now=now,
        )  # fmt: skip
    db.flush()
    return plans


def anonymise(db: DbSession, referral: Referral, now: datetime) -> None:
    """Delete what names or describes anyone; keep the counts (see the module)."""
    referral.referrer_name = ""
    referral.referrer_organisation = ""
    referral.referrer_email = ""
    referral.referrer_phone = ""
    referral.agb_code = ""
    referral.client_name = ""
    referral.client_phone = ""
    referral.client_email = ""
    referral.client_language = ""
    referral.need = ""
    referral.submission_key = None
    referral.anonymised_at = now
    # The reference is in the referrer's own file, beside the client's name: the log's
    # lines, the mails' subjects and the referral itself stop carrying it.
    old_target = f"referral {referral.reference}"
    referral.reference = f"#{referral.id}"
    db.execute(
        update(AuditEntry)
        .where(AuditEntry.event_id == referral.event_id, AuditEntry.target == old_target)
        .values(target=f"referral {referral.reference}")
    )
    for change in referral.changes:
        change.note = ""
        change.user_id = None
    mails = select(OutboxMessage).where(OutboxMessage.referral_id == referral.id)
    for message in db.scalars(mails):
        if message.status is OutboxStatus.QUEUED:
            db.delete(message)  # not sent in a year: it never will be
        else:
            outbox.forget(message)
            message.subject = ""
