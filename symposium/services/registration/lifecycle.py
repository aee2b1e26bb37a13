"""A registration's life: register, switch a workshop, cancel one or all, and what organiser
changes to the programme (a moved or cancelled session, a cancelled event) mean for it.

Every function checks and writes in one transaction under the locks of ``core.locking``;
places are taken and freed only through ``registration.places``. The caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm.attributes import set_committed_value

from symposium.models import (
    Enrolment,
    EnrolmentStatus,
    Event,
    Registration,
    RegistrationStatus,
    Session,
    SessionKind,
    User,
)
from symposium.services.checkin import tickets
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.core.locking import begin_write, lock_capacity
from symposium.services.core.rows import loaded
from symposium.services.core.tokens import new_nonce, token_for, token_hash
from symposium.services.mail import outbox
from symposium.services.privacy import statement
from symposium.services.programme.rules import ProfessionRule, SessionRule
from symposium.services.registration.links import manage_token
from symposium.services.registration.places import (
    active_registrations,
    cancel_place,
    check_override,
    count_places,
    fill_places,
    insert_places,
    lock_event_sessions,
    promote_by_hand,
    release,
    renumber,
    switches_for,
)
from symposium.services.registration.validation import (
    SUBMISSION_KEY,
    RegistrationInput,
    check_choice,
    check_door_open,
    check_open,
    validate,
)


@dataclass
class RegistrationOutcome:
    registration: Registration
    token: str
    # False when the address was already registered: nothing was changed, the link was re-sent.
    created: bool
    # True when the very same form was submitted again (reload, double click).
    resubmitted: bool = False


_r = Registration.__table__.c


_EXISTING = select(_r.id).where(
    _r.event_id == bindparam("event_id"), _r.email == bindparam("email")
)


_STAMP = select(Event.__table__.c.programme_stamp).where(Event.__table__.c.id == bindparam("id"))


_INSERT_REGISTRATION = insert(Registration.__table__).returning(_r.id)
# What the table puts in the columns an insert leaves out (their Python default, or NULL).
_UNSET = {
    c.key: c.default.arg if c.default is not None and c.default.is_scalar else None
    for c in Registration.__table__.columns
    if c.key != "id" and (c.default is None or c.default.is_scalar)
}

# Fresh check-in codes to try when one is taken in the event (65 bits: practically never).
CODE_ATTEMPTS = 5


def register(
    db: DbSession,
    event: Event,
    data: RegistrationInput,
    now: datetime,
    secret_key: str,
    *,
    at_door: bool = False,
    over_capacity: bool = False,
) -> RegistrationOutcome:
    """Register a person and enrol them in the chosen sessions (confirmed or waitlisted).

    ``at_door``: a walk-in an organiser adds (``checkin.walk_ins``): registration may have
    closed, an address registered already is refused, and there is no waiting list: a full
    session (or event) is refused, unless ``over_capacity`` (the caller checked the override).
    """
    opened = check_door_open if at_door else (lambda e: check_open(e, now))
    opened(event)
    # A form sent again (back button, a retry) is the registration it made, even if the
    # rules changed since (a new privacy statement): look it up before checking anything.
    if data.submission_key and SUBMISSION_KEY.fullmatch(data.submission_key):
        again = db.scalars(
            select(Registration).where(Registration.submission_key == data.submission_key)
        ).one_or_none()
        if again is not None and again.event_id == event.id:
            return RegistrationOutcome(again, manage_token(secret_key, again), False, True)
    checked = validate(db, event, data)

    stamp = event.programme_stamp
    begin_write(db)
    capacities = lock_capacity(db, event, [s.id for s in checked.sessions])
    if db.scalar(_STAMP, {"id": event.id}) != stamp:
        # The programme changed while we waited for the locks: check again against it.
        db.expire(event)
        opened(event)
        checked = validate(db, event, data)
    existing = _existing(db, event, checked.email)
    if existing is not None and existing.is_active:
        if at_door and data.submission_key and existing.submission_key == data.submission_key:
            # The same walk-in form sent twice at once: this one waited for the first.
            return RegistrationOutcome(existing, manage_token(secret_key, existing), False, True)
        if at_door:
            raise RuleError(
                "already_registered",
                _l("This address is registered already: find them by name at the door."),
                "email", 409,
            )  # fmt: skip
        return _already_registered(db, existing, data, now, secret_key)
    if (
        event.capacity is not None
        and not over_capacity
        and active_registrations(db, event.id) >= event.capacity
    ):
        raise RuleError("event_full", _l("This event is fully booked."), status=409)

    counts = count_places(
        db,
        capacities,
        {(s.id, p): places for s in checked.sessions for p, places in s.quotas.items()},
    )
    if at_door and not over_capacity:
        for s in checked.sessions:
            if not counts.place_for(s.id, capacities[s.id], checked.profession.id):
                raise RuleError(
                    "no_place",
                    _l("There is no free place (or the quota for this profession is used up)."),
                    "session", 409,
                )  # fmt: skip
    fields = {
        "name": data.name.strip(),
        "profession_id": checked.profession.id,
        "organisation": data.organisation.strip(),
        "phone": data.phone.strip(),
        "needs": data.needs.strip(),
        "language": data.language,
        "identifiers": checked.identifiers,
        "submission_key": data.submission_key or None,
        "consent_at": now,
        "privacy_version": statement.version_of(event),
        "status": RegistrationStatus.ACTIVE,
        "cancelled_at": None,
    }
    try:
        if existing is None:
            registration = _insert_registration(db, event, checked.email, fields, now, secret_key)
        else:  # a cancelled registration is taken up again: still one per address
            registration = existing
            for name, value in fields.items():
                setattr(registration, name, value)
            db.flush()
        places = [(s.id, capacities[s.id]) for s in checked.sessions]
        insert_places(
            db, registration, places, counts, now, "walk_in" if at_door else "registered",
            over_capacity=over_capacity,
        )  # fmt: skip
    except IntegrityError:
        # The same address (or form) committed by a concurrent request without shared locks.
        db.rollback()
        existing = _existing(db, event, checked.email)
        if existing is None:
            raise
        return _already_registered(db, existing, data, now, secret_key)
    # The invitation holds the plenary sessions too, so even a waiting list alone has one.
    outbox.queue(db, registration, "registered", now, invite="REQUEST")
    return RegistrationOutcome(registration, manage_token(secret_key, registration), created=True)


def _insert_registration(
    db: DbSession, event: Event, email: str, fields: dict[str, object], now: datetime, secret: str
) -> Registration:
    """Insert a new registration with one Core statement instead of the unit of work.

    The ORM's flush was a third of a registration's cost in a flash crowd; the rows written
    are the same, and the caller gets the usual ORM object.
    """
    token_nonce, feed_nonce = new_nonce(), new_nonce()
    values = {
        "event_id": event.id,
        "email": email,
        "created_at": now,
        "token_nonce": token_nonce,
        "token_hash": token_hash(token_for(secret, token_nonce)),
        "feed_nonce": feed_nonce,
        "feed_token_hash": token_hash(token_for(secret, feed_nonce, "feed")),
        **fields,
    }
    for attempt in range(CODE_ATTEMPTS):
        values["checkin_code"] = tickets.new_code()
        try:
            # A savepoint, so a taken code costs a new one, not the whole registration.
            with db.begin_nested():
                registration_id = db.execute(_INSERT_REGISTRATION, values).scalar_one()
        except IntegrityError:
            last = attempt == CODE_ATTEMPTS - 1
            if last or not tickets.code_taken(db, event.id, values["checkin_code"]):
                raise  # the address (or form) was taken: the caller's handler
        else:
            break
    # Every column (``loaded``): the rest as the table fills them, so reading one later (the
    # outbox asks whether the person was anonymised) costs no query.
    rest = {name: default for name, default in _UNSET.items() if name not in values}
    registration = loaded(db, Registration, id=registration_id, **values, **rest)
    set_committed_value(registration, "enrolments", [])
    return registration


def _existing(db: DbSession, event: Event, email: str) -> Registration | None:
    found = db.execute(_EXISTING, {"event_id": event.id, "email": email}).scalar_one_or_none()
    return None if found is None else db.get(Registration, found)


def _already_registered(
    db: DbSession, existing: Registration, data: RegistrationInput, now: datetime, secret: str
) -> RegistrationOutcome:
    token = manage_token(secret, existing)
    if data.submission_key and existing.submission_key == data.submission_key:
        return RegistrationOutcome(existing, token, created=False, resubmitted=True)
    outbox.queue(db, existing, "manage_link", now)
    return RegistrationOutcome(existing, token, created=False)


def resend_link(
    db: DbSession, registration: Registration, now: datetime, *, actor: User | None = None
) -> None:
    """Mail the manage link again (asked for by the registrant, or sent by an organiser)."""
    outbox.queue(db, registration, "manage_link", now)
    if actor is not None:
        audit.record_participant(db, actor, registration, "manage_link_resent", now)


def _require_active(registration: Registration) -> None:
    if not registration.is_active:
        raise RuleError(
            "registration_cancelled", _l("This registration has been cancelled."), status=409
        )


def change_session(
    db: DbSession, registration: Registration, session_id: int, now: datetime
) -> Enrolment:
    """Switch to (or add) a session; the old place is kept until the new one is confirmed."""
    event = registration.event
    check_open(event, now)
    begin_write(db)
    lock_event_sessions(db, event)
    _require_active(registration)
    new = db.get(Session, session_id)
    if new is None or new.event_id != event.id:
        raise RuleError("unknown_session", _l("Unknown session."), "session")
    live = [e for e in registration.enrolments if e.is_live]
    for enrolment in live:
        if enrolment.session_id == new.id:
            return enrolment  # already there (or waiting): a repeated submit changes nothing

    old = None
    if new.round_id is not None:
        same_round = [e for e in live if e.session.round_id == new.round_id]
        old = next((e for e in same_round if e.replaces_id is None), None)
        for pending in same_round:
            if pending.replaces_id is not None:
                release(db, pending, now, "switch_withdrawn")
    keep = [e.session for e in live if e is not old and e.replaces_id is None]
    check_choice(
        event.id,
        ProfessionRule.of(registration.profession),
        [SessionRule.of(s) for s in (*keep, new)],
        "session",
    )

    counts = count_places(db, [new.id])
    (enrolment,) = insert_places(
        db, registration, [(new.id, new.capacity)], counts, now, "switched", replaces=old
    )
    confirmed = enrolment.status is EnrolmentStatus.CONFIRMED
    if confirmed and old is not None:
        release(db, old, now, "switched")
    db.flush()
    # One mail: its invitation (one UID for the whole day) has the new place and no longer
    # the old one, so the calendar drops the old place without a CANCEL of its own. On the
    # waiting list the old place is kept and the calendar stays as it is.
    invite = "REQUEST" if confirmed else None
    outbox.queue(db, registration, "changed", now, enrolment=enrolment, old=old, invite=invite)
    return enrolment


def move(
    db: DbSession,
    actor: User | None,
    registration: Registration,
    session_id: int,
    now: datetime,
    *,
    override_reason: str | None = None,
) -> Enrolment:
    """An organiser moves someone to another session; with ``override_reason`` (admins only)
    into it even when it is full, instead of onto its waiting list."""
    if override_reason is not None:
        check_override(actor, override_reason)
    begin_write(db)
    lock_event_sessions(db, registration.event)  # change_session takes it again: a no-op
    before = audit.registration_statuses(registration)  # as it stands under the lock
    moved = change_session(db, registration, session_id, now)
    if override_reason is not None and moved.status is EnrolmentStatus.WAITLISTED:
        promote_by_hand(db, actor, moved, now, override_reason=override_reason, audited=False)
    if audit.registration_statuses(registration) == before:
        return moved  # already there (a repeated submit): nothing changed, nothing to record
    audit.record_participant(
        db, actor, registration, "moved" if override_reason is None else "moved_with_override",
        now, before=before, note=(override_reason or "").strip(),
    )  # fmt: skip
    return moved


def cancel_enrolment(
    db: DbSession,
    registration: Registration,
    enrolment_id: int,
    now: datetime,
    *,
    actor: User | None = None,
) -> bool:
    """Give up one session; False when it was already cancelled (a repeated submit).

    ``actor``: an organiser doing it for the registrant (audited); None for the registrant.
    """
    begin_write(db)
    lock_event_sessions(db, registration.event)
    before = audit.registration_statuses(registration)  # as it stands under the lock
    enrolment = db.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.registration_id != registration.id:
        raise RuleError("unknown_enrolment", _l("Unknown session."), status=404)
    if not enrolment.is_live:
        return False
    held_place = release(db, enrolment, now, "cancelled_by_registrant")
    db.flush()
    invite = "REQUEST" if held_place else None  # the day without it (or its CANCEL)
    outbox.queue(db, registration, "enrolment_cancelled", now, enrolment=enrolment, invite=invite)
    if actor is not None:
        audit.record_participant(db, actor, registration, "session_cancelled", now, before=before)
    return True


def cancel_registration(
    db: DbSession, registration: Registration, now: datetime, *, actor: User | None = None
) -> bool:
    """Cancel the whole registration and free its places; False when already cancelled.

    ``actor``: an organiser doing it for the registrant (audited); None for the registrant.
    """
    begin_write(db)
    lock_event_sessions(db, registration.event)
    before = audit.registration_statuses(registration)  # as it stands under the lock
    if not registration.is_active:
        return False
    # Waitlisted first, so a pending switch never promotes into a place about to be freed.
    live = sorted(
        (e for e in registration.enrolments if e.is_live),
        key=lambda e: e.status is EnrolmentStatus.CONFIRMED,
    )
    freed = []
    for enrolment in live:
        if enrolment.status is EnrolmentStatus.WAITLISTED:
            cancel_place(enrolment, now, "registration_cancelled")
            renumber(db, enrolment.session_id)
        else:
            cancel_place(enrolment, now, "registration_cancelled")
            freed.append(enrolment.session_id)
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = now
    db.flush()
    fill_places(db, freed, now, "promoted:registration_cancelled")
    # Their plenary sessions were on the calendar too: the whole invitation is withdrawn.
    outbox.queue(db, registration, "registration_cancelled", now, invite="CANCEL")
    if actor is not None:
        audit.record_participant(
            db, actor, registration, "registration_cancelled", now, before=before
        )
    return True


def sessions_rescheduled(db: DbSession, session_ids: Iterable[int], now: datetime) -> int:
    """Send everyone who attends one of these sessions an updated invitation.

    Called after a session's time, room or meetings changed: those with a confirmed place
    in it and, for a plenary session, every active registrant (everyone attends it). One
    mail each, however many of their sessions moved: the invitation's UID with its next
    SEQUENCE. Returns the number of mails queued.
    """
    ids = list(session_ids)
    enrolments = db.scalars(
        select(Enrolment)
        .where(Enrolment.session_id.in_(ids), Enrolment.status == EnrolmentStatus.CONFIRMED)
        .order_by(Enrolment.id)
    ).all()
    moved: dict[int, list[int]] = {}
    registrations: dict[int, Registration] = {}
    for enrolment in enrolments:
        enrolment.ical_sequence += 1  # the session's SEQUENCE in the download and the feed
        moved.setdefault(enrolment.registration_id, []).append(enrolment.session_id)
        registrations[enrolment.registration_id] = enrolment.registration
    plenary = db.scalars(
        select(Session).where(Session.id.in_(ids), Session.kind == SessionKind.PLENARY)
    ).all()
    for session in plenary:
        for registration in _active(db, session.event_id):
            moved.setdefault(registration.id, []).append(session.id)
            registrations[registration.id] = registration
    for registration_id in sorted(registrations):
        outbox.queue(
            db,
            registrations[registration_id],
            "session_changed",
            now,
            about={"sessions": sorted(set(moved[registration_id]))},
            invite="REQUEST",
        )
    return len(registrations)


def _active(db: DbSession, event_id: int) -> list[Registration]:
    return list(
        db.scalars(
            select(Registration)
            .where(
                Registration.event_id == event_id,
                Registration.status == RegistrationStatus.ACTIVE,
            )
            .order_by(Registration.id)
        )
    )


def cancel_session(db: DbSession, actor: User | None, session: Session, now: datetime) -> int:
    """Cancel a whole session: every place and waiting-list spot goes, invitations withdrawn.

    Returns the number of registrants told. A pending switch *from* this session keeps waiting
    for its new place; one *to* it is cancelled with the rest.
    """
    begin_write(db)
    lock_event_sessions(db, session.event, programme=True)
    if session.is_cancelled:
        return 0
    session.cancelled_at = now
    live = db.scalars(
        select(Enrolment)
        .where(Enrolment.session_id == session.id, Enrolment.status != EnrolmentStatus.CANCELLED)
        .order_by(Enrolment.id)
    ).all()
    told = set()
    for enrolment in live:
        for switch in switches_for(db, enrolment):
            switch.replaces = None
        held = cancel_place(enrolment, now, "session_cancelled") is EnrolmentStatus.CONFIRMED
        told.add(enrolment.registration_id)
        outbox.queue(
            db,
            enrolment.registration,
            "session_cancelled",
            now,
            enrolment=enrolment,
            invite="REQUEST" if held else None,  # their day without it
        )
    if session.kind is SessionKind.PLENARY:  # on everyone's invitation, without a place
        for registration in _active(db, session.event_id):
            if registration.id not in told:
                told.add(registration.id)
                outbox.queue(
                    db, registration, "session_cancelled", now,
                    about={"session": session.id}, invite="REQUEST",
                )  # fmt: skip
    db.flush()
    audit.record(
        db, user=actor, event=session.event, action="session_cancelled",
        target=f"session {session.key}", after={"registrants_told": len(told)}, now=now,
    )  # fmt: skip
    return len(told)


def event_cancelled(db: DbSession, event: Event, now: datetime) -> int:
    """Withdraw every confirmed place's invitation when the whole event is cancelled."""
    registrations = _active(db, event.id)
    for registration in registrations:
        for enrolment in registration.enrolments:
            if enrolment.status is EnrolmentStatus.CONFIRMED:
                enrolment.ical_sequence += 1  # the session's SEQUENCE in the feed
        outbox.queue(db, registration, "event_cancelled", now, invite="CANCEL")
    return len(registrations)
