"""A registrant adds or corrects their register numbers after registering, until the deadline
of the registers that take them (a list re-made afterwards includes them at once).

The same checks as the registration form (``registration.validation``); every change is in
the audit log the organiser reads.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session as DbSession

from symposium.models import Registration
from symposium.services.accreditation import points
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.programme.rules import asked_numbers, rules_for
from symposium.services.registration import validation


def open_until(db: DbSession, registration: Registration) -> date | None:
    """The last day the person may still change their numbers: the latest deadline of their
    registers with this event; None when none of them has one (then: open, until the
    registration's data are removed)."""
    mine = {r.id for r in registration.profession.registers}
    deadlines = [
        a.deadline for a in points.accreditations(db, registration.event) if a.register_id in mine
    ]
    if any(d is None for d in deadlines):
        return None
    return max(deadlines, default=None)


def can_change(db: DbSession, registration: Registration, now: datetime) -> bool:
    """Whether the person may still add or correct numbers: an active registration whose
    event asks for some, before the deadline of their registers."""
    if not registration.is_active or registration.is_anonymised:
        return False
    if not asked_numbers(db, registration.event, registration.profession.code):
        return False
    until = open_until(db, registration)
    return until is None or now.astimezone(registration.event.tz).date() <= until


def update_numbers(
    db: DbSession,
    registration: Registration,
    typed: dict[str, str],
    confirmed: bool,
    now: datetime,
) -> bool:
    """Store the person's corrected numbers; True when anything changed. Refused after the
    registers' deadline; a BIG number of another profession needs ``confirmed``."""
    if not can_change(db, registration, now):
        raise RuleError(
            "numbers_closed",
            _l("Register numbers can no longer be changed for this event."),
            status=409,
        )
    rules = rules_for(db, registration.event).professions[registration.profession.code]
    found = validation.check_numbers(rules, typed, confirmed)
    wanted = {k: v for k, v in (registration.identifiers or {}).items()}
    for register in rules.registers:
        if register.code in found:
            wanted[register.code] = found[register.code]
        else:
            wanted.pop(register.code, None)
    before = dict(registration.identifiers or {})
    if wanted == before:
        return False
    registration.identifiers = wanted
    audit.record(
        db, user=None, event=registration.event, action="register_numbers_changed",
        target=f"registration:{registration.id}", before=before, after=wanted, now=now,
        note="by the registrant",
    )  # fmt: skip
    db.flush()
    return True
