"""Asking attendees who earned points without a number to add it, through the outbox.

Each mail links to their own page, where they can add the number until the register's
deadline (``corrections``); the lists include them as soon as they do. Someone asked in the
last three days is not asked again, so a double click or a second organiser mails no one
twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.dates import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import AuditEntry, Register, Registration, User
from symposium.services.accreditation import lists, points
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.mail import outbox

AGAIN_AFTER = timedelta(days=3)
ACTION = "register_number_requested"


def ask_missing(
    db: DbSession, actor: User | None, found: lists.AttendanceList, now: datetime
) -> int:
    """Queue one mail per person on ``found.missing`` not asked lately; how many were.
    Refused once the register's deadline has passed: the number could not be added then."""
    register = found.register
    deadline = found.accreditation.deadline
    if deadline is not None and now.astimezone(found.event.tz).date() > deadline:
        raise RuleError(
            "deadline_passed",
            _l("The register's deadline has passed: numbers can no longer be added."),
            status=409,
        )
    numbers = db.scalars(select(Register).where(Register.code.in_(register.number_registers)))
    number_name = {r.code: r for r in numbers}
    recent = set(
        db.scalars(
            select(AuditEntry.target).where(
                AuditEntry.event_id == found.event.id,
                AuditEntry.action == ACTION,
                AuditEntry.at > now - AGAIN_AFTER,
            )
        )
    )
    asked = 0
    for row in found.missing:
        target = f"registration:{row.registration_id} register:{register.code}"
        if target in recent:
            continue
        registration = db.get(Registration, row.registration_id)
        if registration is None or registration.is_anonymised or not registration.is_active:
            continue
        first = number_name.get(register.number_registers[0]) if register.number_registers else None
        outbox.queue(
            db, registration, "number_missing", now,
            about={
                "register": register.name,
                "number": first.identifier_name(registration.language) if first else register.code,
                "points": points.shown_points(row.result.points, registration.language),
                "deadline": format_date(deadline, "long", locale=registration.language)
                if deadline else None,
                # A number that is there but not in the register's form: say so.
                "malformed": row.result.number,
            },
        )  # fmt: skip
        audit.record(
            db, user=actor, event=found.event, action=ACTION, target=target,
            after={"points": str(row.result.points)}, now=now,
        )  # fmt: skip
        asked += 1
    db.flush()
    return asked
