"""Places: the one home of capacity, quotas and the waiting list.

Every path that takes or frees a place (registration, a switch, a cancellation, an organiser
changing a capacity or promoting by hand) counts and moves places through these functions,
under the locks of ``core.locking``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm.attributes import set_committed_value

from symposium.models import (
    Enrolment,
    EnrolmentChange,
    EnrolmentStatus,
    Event,
    Registration,
    RegistrationStatus,
    Session,
    SessionQuota,
    User,
)
from symposium.services.accounts import access
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.core.locking import begin_write, lock_capacity, lock_programme
from symposium.services.core.rows import loaded
from symposium.services.mail import outbox


def has_place(
    capacity: int | None, confirmed: int, quota: int | None, confirmed_in_profession: int
) -> bool:
    """The capacity rule: a free place overall and within the profession's quota."""
    return (capacity is None or confirmed < capacity) and (
        quota is None or confirmed_in_profession < quota
    )


@dataclass
class Counts:
    confirmed: dict[int, int]
    confirmed_by_profession: dict[tuple[int, int], int]
    last_position: dict[int, int]
    quotas: dict[tuple[int, int], int]

    def place_for(self, session_id: int, capacity: int | None, profession_id: int) -> bool:
        key = (session_id, profession_id)
        return has_place(
            capacity,
            self.confirmed.get(session_id, 0),
            self.quotas.get(key),
            self.confirmed_by_profession.get(key, 0),
        )

    def left_for(
        self, session_id: int, capacity: int | None, profession_id: int | None
    ) -> tuple[int | None, int | None]:
        """Places left in the session and within the profession's quota (None: no limit);
        someone has a place while both are above zero (:func:`has_place`)."""
        overall = None if capacity is None else capacity - self.confirmed.get(session_id, 0)
        key = (session_id, profession_id or 0)
        quota = self.quotas.get(key)
        own = None if quota is None else quota - self.confirmed_by_profession.get(key, 0)
        return (None if overall is None else max(overall, 0), None if own is None else max(own, 0))

    def take(self, session_id: int, profession_id: int) -> None:
        self.confirmed[session_id] = self.confirmed.get(session_id, 0) + 1
        key = (session_id, profession_id)
        self.confirmed_by_profession[key] = self.confirmed_by_profession.get(key, 0) + 1


# Built once: a registration runs these, and building a statement (and its cache key) costs
# more than the database needs to answer it.
_e = Enrolment.__table__.c


_COUNTS = (
    select(
        _e.session_id,
        _e.profession_id,
        func.count().filter(_e.status == EnrolmentStatus.CONFIRMED),
        func.max(_e.waitlist_position).filter(_e.status == EnrolmentStatus.WAITLISTED),
    )
    .where(_e.session_id.in_(bindparam("ids", expanding=True)))
    .where(_e.status != EnrolmentStatus.CANCELLED)
    .group_by(_e.session_id, _e.profession_id)
)


_r = Registration.__table__.c
_ACTIVE_REGISTRATIONS = (
    select(func.count())
    .select_from(Registration.__table__)
    .where(_r.event_id == bindparam("event_id"), _r.status == RegistrationStatus.ACTIVE)
)
_INSERT_ENROLMENTS = insert(Enrolment.__table__).returning(_e.id, sort_by_parameter_order=True)


# RETURNING makes SQLAlchemy send the rows as one INSERT (insertmanyvalues), cached.
_INSERT_CHANGES = insert(EnrolmentChange.__table__).returning(EnrolmentChange.__table__.c.id)


def count_places(
    db: DbSession, session_ids: Iterable[int], quotas: dict[tuple[int, int], int] | None = None
) -> Counts:
    """Confirmed places per session and profession and the waiting-list tails, in one query.

    ``quotas`` (session id, profession id) -> places, when the caller has them already (from
    the programme's cached rules, checked under the lock); otherwise they are read too.
    """
    ids = list(session_ids)
    counts = Counts({}, {}, {}, {})
    if not ids:
        return counts
    rows = db.execute(_COUNTS, {"ids": ids}).all()
    for session_id, profession_id, n, last in rows:
        if n:
            counts.confirmed[session_id] = counts.confirmed.get(session_id, 0) + n
            counts.confirmed_by_profession[(session_id, profession_id)] = n
        if last is not None and last > counts.last_position.get(session_id, 0):
            counts.last_position[session_id] = last
    if quotas is None:
        quotas = {
            (s, p): places
            for s, p, places in db.execute(
                select(
                    SessionQuota.session_id, SessionQuota.profession_id, SessionQuota.places
                ).where(SessionQuota.session_id.in_(ids))
            ).all()
        }
    counts.quotas = quotas
    return counts


def _take_or_wait(
    counts: Counts,
    session_id: int,
    capacity: int | None,
    profession_id: int,
    over_capacity: bool = False,
) -> tuple[EnrolmentStatus, int | None]:
    """A confirmed place when one is free (or the override says so), else the next position
    on the waiting list."""
    if over_capacity or counts.place_for(session_id, capacity, profession_id):
        counts.take(session_id, profession_id)
        return EnrolmentStatus.CONFIRMED, None
    position = counts.last_position.get(session_id, 0) + 1
    counts.last_position[session_id] = position
    return EnrolmentStatus.WAITLISTED, position


def insert_places(
    db: DbSession,
    registration: Registration,
    places: list[tuple[int, int | None]],
    counts: Counts,
    now: datetime,
    reason: str,
    replaces: Enrolment | None = None,
    over_capacity: bool = False,
) -> list[Enrolment]:
    """Enrol in these (session id, capacity) places: confirmed when one is free, else at the
    end of the waiting list. Two statements, whatever the number of places.

    ``replaces``: a switch that has to wait keeps that place until it is confirmed.
    ``over_capacity``: confirmed even when full (the caller checked :func:`check_override`).
    """
    if not places:
        return []
    earlier: dict[int, int] = {}  # a cancelled place here: its calendar UID's SEQUENCE goes on
    for e in registration.enrolments:
        earlier[e.session_id] = max(e.ical_sequence, earlier.get(e.session_id, -1))
    rows = []
    for session_id, capacity in places:
        status, position = _take_or_wait(
            counts, session_id, capacity, registration.profession_id, over_capacity
        )
        rows.append(
            {
                "registration_id": registration.id,
                "session_id": session_id,
                "profession_id": registration.profession_id,
                "status": status,
                "waitlist_position": position,
                "replaces_id": replaces.id
                if replaces is not None and status is EnrolmentStatus.WAITLISTED
                else None,
                "created_at": now,
                "changed_at": now,
                "ical_sequence": earlier.get(session_id, -1) + 1,
            }
        )
    ids = db.execute(_INSERT_ENROLMENTS, rows).scalars().all()
    changes = [
        {"enrolment_id": i, "at": now, "from_status": None, "to_status": str(row["status"]),
         "reason": reason}
        for i, row in zip(ids, rows, strict=True)
    ]  # fmt: skip
    db.execute(_INSERT_CHANGES, changes)
    enrolments = [loaded(db, Enrolment, id=i, **row) for i, row in zip(ids, rows, strict=True)]
    set_committed_value(registration, "enrolments", [*registration.enrolments, *enrolments])
    return enrolments


def limit_problems(
    db: DbSession, session_id: int, capacity: int | None, quotas: dict[int, int]
) -> list[tuple[str, int]]:
    """Limits that would drop below the places already confirmed: (field, confirmed).

    ``field`` is "capacity" or "quotas.<profession id>". Raising a limit is always fine
    (then call :func:`fill_places`). The caller holds the session's lock.
    """
    counts = count_places(db, [session_id])
    problems = []
    confirmed = counts.confirmed.get(session_id, 0)
    if capacity is not None and capacity < confirmed:
        problems.append(("capacity", confirmed))
    for profession_id, places in quotas.items():
        taken = counts.confirmed_by_profession.get((session_id, profession_id), 0)
        if places < taken:
            problems.append((f"quotas.{profession_id}", taken))
    return problems


def limit_error(field: str, confirmed: int) -> RuleError:
    """The refusal an organiser sees, saying how many places are confirmed."""
    return RuleError(
        "limit_below_confirmed",
        _l("%(num)d places are already confirmed; the limit cannot be lower.", num=confirmed),
        field,
        status=409,
    )


def active_registrations(db: DbSession, event_id: int) -> int:
    """Registrations of an event that hold their place: what an event's total capacity counts."""
    return db.scalar(_ACTIVE_REGISTRATIONS, {"event_id": event_id}) or 0


def change_capacity(
    db: DbSession, actor: User | None, session: Session, capacity: int | None, now: datetime
) -> list[Enrolment]:
    """Set a session's capacity: never below what is confirmed; new room goes to the waiting list.

    Returns the registrants promoted (through the same rule as everywhere: :func:`fill_places`).
    """
    begin_write(db)
    lock_programme(db, session.event_id, [session.id])
    db.refresh(session)
    for field_name, confirmed in limit_problems(db, session.id, capacity, {}):
        raise limit_error(field_name, confirmed)
    before = session.capacity
    session.capacity = capacity
    db.flush()
    promoted = fill_places(db, [session.id], now, "promoted:capacity_raised")
    if capacity == before and not promoted:
        return promoted  # the same number saved again: nothing to record
    audit.record(
        db, user=actor, event=session.event, action="capacity_changed",
        target=f"session {session.key}", before={"capacity": before},
        after={"capacity": capacity, "promoted": [e.registration.email for e in promoted]},
        now=now,
    )  # fmt: skip
    return promoted


def check_override(actor: User | None, reason: str | None, event: Event | None = None) -> None:
    """Going over capacity is an admin's decision (at the door of ``event``, a walk-in, also
    its organisers'), and it needs a written reason."""
    allowed = actor is not None and (
        access.is_admin(actor) or (event is not None and access.can(actor, access.MANAGE, event))
    )
    if not allowed:
        raise RuleError(
            "override_not_allowed", _l("Only an admin may go over capacity."), "override", 403
        )
    if not (reason or "").strip():
        raise RuleError(
            "override_reason_required", _l("Write down why the capacity is overridden."), "reason"
        )


def promote_by_hand(
    db: DbSession,
    actor: User | None,
    enrolment: Enrolment,
    now: datetime,
    *,
    override_reason: str | None = None,
    audited: bool = True,
) -> None:
    """Confirm one waitlisted registrant, out of list order.

    Only when the capacity and quota rule has a place for them; with ``override_reason``
    (an admin's decision, see :func:`check_override`) even over capacity. ``audited=False``
    when the caller records the whole action itself (a move that ends in this promotion).
    """
    override = override_reason is not None
    if override:
        check_override(actor, override_reason)
    registration = enrolment.registration
    begin_write(db)
    lock_event_sessions(db, registration.event)
    before = audit.registration_statuses(registration)  # as it stands under the lock
    if enrolment.status is not EnrolmentStatus.WAITLISTED:
        raise RuleError("not_waitlisted", _l("This person is not on the waiting list."), status=409)
    session = enrolment.session
    counts = count_places(db, [session.id])
    if not override and not counts.place_for(session.id, session.capacity, enrolment.profession_id):
        raise RuleError(
            "no_place",
            _l("There is no free place (or the quota for this profession is used up)."),
            status=409,
        )
    enrolment.status = EnrolmentStatus.CONFIRMED
    enrolment.waitlist_position = None
    enrolment.changed_at = now
    _log(enrolment, EnrolmentStatus.WAITLISTED, "override" if override else "promoted:by_hand", now)
    old = enrolment.replaces
    if old is not None and old.is_live:
        release(db, old, now, "switched")
    # After the release: the one invitation then has the new place and not the old one.
    outbox.queue(db, registration, "promoted", now, enrolment=enrolment, invite="REQUEST")
    renumber(db, session.id)
    db.flush()
    if audited:
        audit.record_participant(
            db, actor, registration, "promoted_with_override" if override else "promoted_by_hand",
            now, before=before, note=(override_reason or "").strip(),
        )  # fmt: skip


def fill_places(
    db: DbSession, session_ids: Iterable[int], now: datetime, reason: str
) -> list[Enrolment]:
    """Promote from the waiting lists of these sessions while places are free.

    The earliest waitlisted registrant whose profession quota allows it goes first; a
    promoted switch releases the place it replaces, which may promote someone there in turn.
    The caller holds the locks of every session this can reach (all of the event's).
    Positions of those still waiting close up.
    """
    pending = list(dict.fromkeys(session_ids))
    promoted: list[Enrolment] = []
    while pending:
        session_id = pending.pop(0)
        session = db.get(Session, session_id)
        assert session is not None
        counts = count_places(db, [session_id])
        waiting = db.scalars(
            select(Enrolment)
            .where(
                Enrolment.session_id == session_id, Enrolment.status == EnrolmentStatus.WAITLISTED
            )
            .order_by(Enrolment.waitlist_position, Enrolment.id)
        ).all()
        still_waiting = []
        for enrolment in waiting:
            if counts.place_for(session_id, session.capacity, enrolment.profession_id):
                counts.take(session_id, enrolment.profession_id)
                enrolment.status = EnrolmentStatus.CONFIRMED
                enrolment.waitlist_position = None
                enrolment.changed_at = now
                _log(enrolment, EnrolmentStatus.WAITLISTED, reason, now)
                promoted.append(enrolment)
                old = enrolment.replaces
                if old is not None and old.is_live:
                    if cancel_place(old, now, "switched") is EnrolmentStatus.CONFIRMED:
                        pending.append(old.session_id)
                    else:
                        renumber(db, old.session_id)
                # One mail: the invitation (one UID) now has the new place, not the old one.
                outbox.queue(
                    db, enrolment.registration, "promoted", now,
                    enrolment=enrolment, invite="REQUEST",
                )  # fmt: skip
            else:
                still_waiting.append(enrolment)
        for position, enrolment in enumerate(still_waiting, start=1):
            enrolment.waitlist_position = position
        db.flush()
    return promoted


def _log(enrolment: Enrolment, from_status: str | None, reason: str, now: datetime) -> None:
    enrolment.changes.append(
        EnrolmentChange(at=now, from_status=from_status, to_status=enrolment.status, reason=reason)
    )


def cancel_place(enrolment: Enrolment, now: datetime, reason: str) -> EnrolmentStatus:
    """Cancel; a confirmed place's invitation gets a higher SEQUENCE for its CANCEL."""
    previous = enrolment.status
    if previous is EnrolmentStatus.CONFIRMED:
        enrolment.ical_sequence += 1
    enrolment.status = EnrolmentStatus.CANCELLED
    enrolment.waitlist_position = None
    enrolment.changed_at = now
    _log(enrolment, previous, reason, now)
    return previous


def renumber(db: DbSession, session_id: int) -> None:
    db.flush()
    waiting = db.scalars(
        select(Enrolment)
        .where(Enrolment.session_id == session_id, Enrolment.status == EnrolmentStatus.WAITLISTED)
        .order_by(Enrolment.waitlist_position, Enrolment.id)
    ).all()
    for position, enrolment in enumerate(waiting, start=1):
        enrolment.waitlist_position = position


def release(db: DbSession, enrolment: Enrolment, now: datetime, reason: str) -> bool:
    """Cancel one enrolment and give its place (or waiting-list spot) to the next in line.

    True when it held a confirmed place (so its calendar entry must be cancelled).
    """
    for switch in switches_for(db, enrolment):
        switch.replaces = None  # the switch stays on the waiting list as a plain choice
    if cancel_place(enrolment, now, reason) is EnrolmentStatus.CONFIRMED:
        fill_places(db, [enrolment.session_id], now, f"promoted:{reason}")
        return True
    renumber(db, enrolment.session_id)
    return False


def switches_for(db: DbSession, enrolment: Enrolment) -> list[Enrolment]:
    return list(
        db.scalars(
            select(Enrolment).where(
                Enrolment.replaces_id == enrolment.id,
                Enrolment.status == EnrolmentStatus.WAITLISTED,
            )
        )
    )


def lock_event_sessions(db: DbSession, event: Event, *, programme: bool = False) -> None:
    """Freeing a place can cascade through switches, so lock all sessions, in id order.

    ``programme``: the caller changes the programme too, so the event row comes first
    (:func:`~symposium.services.core.locking.lock_programme`). Everything loaded before the lock
    may be stale (a concurrent cancel may have committed while we waited), so it is expired
    and read again under the lock.
    """
    ids = list(db.scalars(select(Session.id).where(Session.event_id == event.id)))
    if programme:
        lock_programme(db, event.id, ids)
    else:
        lock_capacity(db, None, ids)
    db.expire_all()


def session_counts(db: DbSession, session_ids: list[int]) -> dict[int, dict[str, int]]:
    """Confirmed and waitlisted per session, in one grouped query."""
    counts: dict[int, dict[str, int]] = {i: {"confirmed": 0, "waitlisted": 0} for i in session_ids}
    rows = db.execute(
        select(Enrolment.session_id, Enrolment.status, func.count())
        .where(Enrolment.session_id.in_(session_ids), Enrolment.status != EnrolmentStatus.CANCELLED)
        .group_by(Enrolment.session_id, Enrolment.status)
    ).all()
    for session_id, status, n in rows:
        counts[session_id][str(status)] = n
    return counts


def live_enrolments(db: DbSession, session_id: int) -> int:
    return db.scalar(
        select(func.count())
        .select_from(Enrolment)
        .where(Enrolment.session_id == session_id, Enrolment.status != EnrolmentStatus.CANCELLED)
    )


def places_left(db: DbSession, sessions: list[Session]) -> dict[int, int | None]:
    """Free places per session id (None = no limit), from one grouped count."""
    ids = [s.id for s in sessions]
    confirmed = dict(
        db.execute(
            select(Enrolment.session_id, func.count())
            .where(Enrolment.session_id.in_(ids), Enrolment.status == EnrolmentStatus.CONFIRMED)
            .group_by(Enrolment.session_id)
        ).all()
    )
    return {
        s.id: None if s.capacity is None else max(s.capacity - confirmed.get(s.id, 0), 0)
        for s in sessions
    }
