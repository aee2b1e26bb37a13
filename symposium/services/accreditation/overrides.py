"""An organiser's decision on one person's points for one register, with the written reason.

The computed result stays visible beside it (``points.Result.computed``); the override is
what the lists and certificates use. Setting the same value twice changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import Accreditation, PointsOverride, Registration, User
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.core.text import has_control

MAX_POINTS = Decimal("999.99")
MAX_REASON = 1000


def set_points(
    db: DbSession,
    actor: User | None,
    registration: Registration,
    accreditation: Accreditation,
    points: Decimal | None,
    reason: str,
    now: datetime,
) -> PointsOverride | None:
    """Override (or, with ``points`` None, stop overriding) the person's points; audited."""
    if accreditation.event_id != registration.event_id:
        raise RuleError("not_found", _l("This register did not accredit the event."), status=404)
    found = db.scalars(
        select(PointsOverride).where(
            PointsOverride.registration_id == registration.id,
            PointsOverride.accreditation_id == accreditation.id,
        )
    ).one_or_none()
    target = f"registration:{registration.id} register:{accreditation.register.code}"
    if points is None:
        if found is None:
            return None
        audit.record(
            db, user=actor, event=registration.event, action="points_override_removed",
            target=target, before={"points": str(found.points), "reason": found.reason},
            now=now,
        )  # fmt: skip
        db.delete(found)
        db.flush()
        return None
    reason = reason.strip()
    if not reason:
        raise RuleError("reason_required", _l("Write down why these points differ."), "reason")
    if len(reason) > MAX_REASON or has_control(reason):
        raise RuleError("invalid_text", _l("At most %(num)d characters.", num=MAX_REASON), "reason")
    if not points.is_finite() or points < 0 or points > MAX_POINTS:
        raise RuleError("invalid_points", _l("Enter points between 0 and 999.99."), "points")
    points = points.quantize(Decimal("0.01"))
    if found is not None and found.points == points and found.reason == reason:
        return found
    before = {} if found is None else {"points": str(found.points), "reason": found.reason}
    if found is None:
        found = PointsOverride(registration=registration, accreditation=accreditation)
        db.add(found)
    found.points, found.reason, found.by, found.at = points, reason, actor, now
    audit.record(
        db, user=actor, event=registration.event, action="points_overridden", target=target,
        before=before, after={"points": str(points), "reason": reason}, now=now,
    )  # fmt: skip
    db.flush()
    return found
