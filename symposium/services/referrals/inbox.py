"""The coordinators' inbox: the referrals of a series, their states and who changed what.

The one home of the steps a referral may take (:data:`STEPS`), of "waiting too long" (a new
referral nobody has contacted after :data:`OVERDUE_WORKING_DAYS` working days) and of when the
referrer hears of a step (:data:`TOLD`, only with the client's consent). Every look at a
referral's details is in the audit trail: it is health data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from symposium.models import Event, Referral, ReferralChange, ReferralState, Session, User
from symposium.models.event import SessionKind
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.core.locking import begin_write, lock_event
from symposium.services.core.text import has_control, normal_lines
from symposium.services.mail import outbox

S = ReferralState
# new → contacted → intake done → placed / waiting / declined → closed; declining is possible
# at every step before a place (the client says no, or cannot be reached).
STEPS: dict[ReferralState, tuple[ReferralState, ...]] = {
    S.NEW: (S.CONTACTED, S.DECLINED),
    S.CONTACTED: (S.INTAKE_DONE, S.DECLINED),
    S.INTAKE_DONE: (S.PLACED, S.WAITING, S.DECLINED),
    S.WAITING: (S.PLACED, S.DECLINED),
    S.PLACED: (S.CLOSED,),
    S.DECLINED: (S.CLOSED,),
    S.CLOSED: (),
}
# The steps the referrer is told of, when the client agreed to that.
TOLD = frozenset({S.CONTACTED, S.PLACED, S.DECLINED})
OVERDUE_WORKING_DAYS = 5
NOTE_LIMIT = 2000


@dataclass(frozen=True)
class Row:
    """A referral in the inbox: its age in working days, and whether it waits too long."""

    referral: Referral
    age: int
    overdue: bool


def working_days(start: date, end: date) -> int:
    """Monday to Friday after ``start`` up to and including ``end`` (public holidays count
    as working days: the reminder may come a day early, never late)."""
    if end <= start:
        return 0
    weeks, rest = divmod((end - start).days, 7)
    days = weeks * 5
    for n in range(1, rest + 1):
        if (start + timedelta(days=n)).weekday() < 5:
            days += 1
    return days


def age(referral: Referral, now: datetime) -> int:
    """Working days since the referral came in, on the series' calendar."""
    zone = referral.event.tz
    return working_days(referral.referred_at.astimezone(zone).date(), now.astimezone(zone).date())


def is_overdue(referral: Referral, now: datetime) -> bool:
    """A new referral nobody has contacted for more than five working days."""
    return referral.state is S.NEW and age(referral, now) > OVERDUE_WORKING_DAYS


def inbox(
    db: DbSession, event: Event, now: datetime, state: ReferralState | None = None
) -> list[Row]:
    """The series' referrals (of one state, or all), the longest waiting first."""
    query = select(Referral).where(Referral.event_id == event.id)
    if state is not None:
        query = query.where(Referral.state == state)
    found = db.scalars(query.order_by(Referral.referred_at, Referral.id)).all()
    return [Row(r, age(r, now), is_overdue(r, now)) for r in found]


def counts(db: DbSession, event: Event) -> dict[ReferralState, int]:
    """Referrals per state, every state named (0 included)."""
    rows = db.execute(
        select(Referral.state, func.count())
        .where(Referral.event_id == event.id)
        .group_by(Referral.state)
    ).all()
    found = {ReferralState(state): n for state, n in rows}
    return {state: found.get(state, 0) for state in ReferralState}


def groups_of(event: Event) -> list[Session]:
    """The groups a client can be placed in: the series' groups that are not cancelled."""
    return [s for s in event.sessions if s.kind is SessionKind.GROUP and not s.is_cancelled]


def view(
    db: DbSession, actor: User, event: Event, referral_id: int, now: datetime
) -> Referral | None:
    """A referral of ``event`` for its details page (None: not of this event), and the look
    itself in the audit trail: who saw this client's data, when."""
    referral = db.get(Referral, referral_id)
    if referral is None or referral.event_id != event.id:
        return None
    audit.record(db, user=actor, event=event, action="referral_viewed",
                 target=f"referral {referral.reference}", now=now)  # fmt: skip
    db.flush()
    return referral


def change_state(
    db: DbSession,
    actor: User,
    referral: Referral,
    to: ReferralState,
    now: datetime,
    *,
    note: str = "",
    group_id: int | None = None,
) -> ReferralChange:
    """Take one step (:data:`STEPS`), with the coordinator's note (the intake notes).

    "Placed" names one of the series' groups (the capacity rules come with placement into
    the group itself). The referrer gets a short mail for the steps of :data:`TOLD` when the
    client agreed to it; the mail names the step and the reference, nothing else.
    """
    if referral.is_anonymised:
        raise RuleError("referral_anonymised", _l("This referral has been anonymised."),
                        status=409)  # fmt: skip
    note = normal_lines(note)
    if has_control(note):
        raise RuleError("invalid_text", _l("Remove the invisible control characters."), "note")
    if len(note) > NOTE_LIMIT:
        raise RuleError("field_too_long", _l("At most %(num)d characters.", num=NOTE_LIMIT),
                        "note")  # fmt: skip
    # One step at a time: a double click, or two coordinators at once, wait for each other.
    begin_write(db)
    lock_event(db, referral.event_id)
    db.refresh(referral)
    if referral.state is to and referral.changes:
        return referral.changes[-1]  # already taken (a second click): nothing more, no mail
    before = referral.state
    if to not in STEPS[before]:
        raise RuleError(
            "step_not_allowed",
            _l("This step is not possible from the referral's current status."),
            "state",
            status=409,
        )
    group = None
    if to is S.PLACED:
        group = next((g for g in groups_of(referral.event) if g.id == group_id), None)
        if group is None:
            raise RuleError("no_group", _l("Choose the group the client is placed in."), "group")
        referral.group_id = group.id
    referral.state = to
    referral.state_changed_at = now
    if to is S.CLOSED:
        referral.closed_at = now
    change = ReferralChange(at=now, user_id=actor.id, from_state=before, to_state=to, note=note)
    referral.changes.append(change)
    told = to in TOLD and referral.feedback_consent
    after: dict[str, object] = {"status": to.value, "with_note": bool(note), "feedback_mail": told}
    # No group title in the log: a group's theme ("Veilig thuis") says what the client faces.
    audit.record(
        db, user=actor, event=referral.event, action="referral_state_changed",
        target=f"referral {referral.reference}", before={"status": before.value}, after=after,
        now=now,
    )  # fmt: skip
    db.flush()
    if told:
        outbox.queue_referral_mail(db, referral, "referral_status", now, state=to.value)
    return change
