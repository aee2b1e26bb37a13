"""The organiser records a register's accreditation in the back-office (the event file's
``[[accreditations]]`` do the same): its body, activity ID, scope, cap, rounding, deadline,
and the points per session. Audited; saving the same values again changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import (
    Accreditation,
    AccreditedSession,
    Event,
    Register,
    Rounding,
    Scope,
    User,
)
from symposium.services.accreditation.points import accreditations
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.core.locking import begin_write, lock_programme

MAX_POINTS = Decimal("999.99")
CENT = Decimal("0.01")  # points are stored with two decimals


def accrediting_registers(db: DbSession) -> list[Register]:
    """The registers that accredit, in code order (the form's choices)."""
    return list(db.scalars(select(Register).where(Register.accredits).order_by(Register.code)))


def save(
    db: DbSession,
    actor: User | None,
    event: Event,
    register_code: str,
    values: dict[str, Any],
    points: dict[int, Decimal | None],
    now: datetime,
) -> Accreditation:
    """Create or update the event's accreditation by ``register_code``. ``values``: body,
    activity_id, scope, daily_cap, rounding, deadline; ``points``: session id -> points,
    None for a session the register did not accredit."""
    register = db.scalars(
        select(Register).where(Register.code == register_code, Register.accredits)
    ).one_or_none()
    if register is None:
        raise RuleError("unknown_register", _l("Choose a register from the list."), "register")
    _check(values, points, event)
    if values.get("daily_cap") is not None:
        values = values | {"daily_cap": values["daily_cap"].quantize(CENT)}
    points = {k: v.quantize(CENT) if v is not None else None for k, v in points.items()}
    begin_write(db)
    lock_programme(db, event.id, [])
    recorded = accreditations(db, event)
    found = next((a for a in recorded if a.register_id == register.id), None)
    before = _snapshot(found) if found is not None else {}
    if found is None:
        found = Accreditation(event=event, register=register, position=len(recorded))
        db.add(found)
    assign(found, values, points)
    db.flush()
    after = _snapshot(found)
    if after != before:
        audit.record(
            db, user=actor, event=event, action="accreditation_saved",
            target=f"register:{register.code}", before=before, after=after, now=now,
        )  # fmt: skip
    return found


def assign(
    accreditation: Accreditation, values: dict[str, Any], points: dict[int, Decimal | None]
) -> bool:
    """Set the accreditation's fields (``values``) and its points per session id (None: the
    session is not accredited); whether anything changed. The back-office and the event
    file both write through here."""
    changed = False
    for name, value in values.items():
        if getattr(accreditation, name) != value:
            setattr(accreditation, name, value)
            changed = True
    have = {row.session_id: row for row in accreditation.sessions}
    for session_id, value in points.items():
        row = have.get(session_id)
        if value is None:
            if row is not None:
                accreditation.sessions.remove(row)
                changed = True
        elif row is None:
            accreditation.sessions.append(AccreditedSession(session_id=session_id, points=value))
            changed = True
        elif row.points != value:
            row.points = value
            changed = True
    return changed


def delete(db: DbSession, actor: User | None, accreditation: Accreditation, now: datetime) -> None:
    """Remove a register's accreditation (its overrides and export notes go with it)."""
    audit.record(
        db, user=actor, event=accreditation.event, action="accreditation_deleted",
        target=f"register:{accreditation.register.code}", before=_snapshot(accreditation),
        now=now,
    )  # fmt: skip
    db.delete(accreditation)
    db.flush()


def _check(values: dict[str, Any], points: dict[int, Decimal | None], event: Event) -> None:
    if not isinstance(values.get("scope"), Scope) or not isinstance(
        values.get("rounding"), Rounding
    ):
        raise RuleError("invalid_choice", _l("Choose one of the options."), "scope")
    cap = values.get("daily_cap")
    if cap is not None and not (cap.is_finite() and 0 < cap <= MAX_POINTS and cap.quantize(CENT)):
        raise RuleError("invalid_points", _l("Enter points between 0 and 999.99."), "daily_cap")
    deadline = values.get("deadline")
    if deadline is not None and deadline < event.starts_at.astimezone(event.tz).date():
        raise RuleError(
            "deadline_before_event", _l("The deadline cannot be before the event."), "deadline"
        )
    ids = {s.id for s in event.sessions}
    for session_id, value in points.items():
        if session_id not in ids:
            raise RuleError("unknown_session", _l("Unknown session."), "points")
        if value is not None and not (value.is_finite() and 0 <= value <= MAX_POINTS):
            raise RuleError(
                "invalid_points", _l("Enter points between 0 and 999.99."), f"points_{session_id}"
            )


def _snapshot(accreditation: Accreditation) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value.normalize())
        if isinstance(value, date):
            return value.isoformat()
        return value

    return {
        "body": accreditation.body,
        "activity_id": accreditation.activity_id,
        "scope": str(accreditation.scope),
        "daily_cap": plain(accreditation.daily_cap),
        "rounding": str(accreditation.rounding),
        "deadline": plain(accreditation.deadline),
        "points": {str(r.session_id): plain(r.points) for r in accreditation.sessions},
    }
