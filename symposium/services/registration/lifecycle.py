"""Registration and enrolment: the one home of capacity, eligibility and the waiting list.

Every path that takes or frees a place (the form, the API, the manage link, the back-office)
calls these functions. Each does its checks and writes in one transaction under the locks of
``services.core.locking``; the caller commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import SessionTransaction, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from symposium.models import (
    Enrolment,
    EnrolmentChange,
    EnrolmentStatus,
    Event,
    EventStatus,
    Registration,
    RegistrationStatus,
    Session,
    SessionKind,
    SessionQuota,
)
from symposium.services.core.locking import begin_write, lock_capacity, lock_programme
from symposium.services.core.tokens import new_nonce, token_for, token_hash
from symposium.services.mail import outbox as mail
from symposium.services.programme.public import EventHead
from symposium.services.programme.rules import ProfessionRule, SessionRule, rules_for

_Row = TypeVar("_Row", Registration, Enrolment)
LANGUAGES = ("nl", "en")
PHONE = re.compile(r"\+?[0-9 ()./-]{6,40}")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab and newlines are fine
LIMITS = {"name": 200, "organisation": 200, "phone": 40, "needs": 2000, "identifier": 40}


class EnrolmentError(Exception):
    """A rule refused the request; ``code`` is stable (the API returns it), ``message`` is shown."""

    def __init__(self, code: str, message: object, field: str | None = None, status: int = 422):
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.field = field
        self.status = status


class RegistrationInvalid(EnrolmentError):
    """Several fields are wrong at once; ``errors`` has one entry per problem."""

    def __init__(self, errors: list[EnrolmentError]):
        first = errors[0] if errors else EnrolmentError("invalid", "Invalid input.")
        super().__init__(first.code, first.message, first.field, first.status)
        self.errors = errors


@dataclass
class RegistrationInput:
    name: str
    email: str
    profession: str
    consent: bool
    organisation: str = ""
    phone: str = ""
    needs: str = ""
    language: str = "nl"
    identifiers: dict[str, str] = field(default_factory=dict)
    sessions: list[int] = field(default_factory=list)
    submission_key: str | None = None


@dataclass
class RegistrationOutcome:
    registration: Registration
    token: str
    # False when the address was already registered: nothing was changed, the link was re-sent.
    created: bool
    # True when the very same form was submitted again (reload, double click).
    resubmitted: bool = False


# --------------------------------------------------------------------------- rules


def has_place(
    capacity: int | None, confirmed: int, quota: int | None, confirmed_in_profession: int
) -> bool:
    """The capacity rule: a free place overall and within the profession's quota."""
    return (capacity is None or confirmed < capacity) and (
        quota is None or confirmed_in_profession < quota
    )


def enrollable(session: Session | SessionRule) -> bool:
    """Plenary sessions are for everyone registered; workshops and groups are chosen.

    A cancelled session takes no one.
    """
    return session.kind is not SessionKind.PLENARY and not session.is_cancelled


def check_open(event: Event | EventHead, now: datetime) -> None:
    """Refuse when the event does not take registrations at ``now``."""
    if event.status is EventStatus.CANCELLED:
        raise EnrolmentError("event_cancelled", _l("This event has been cancelled."), status=409)
    if event.status is not EventStatus.PUBLISHED:
        raise EnrolmentError("registration_closed", _l("Registration is closed."), status=409)
    if event.registration_opens_at is not None and now < event.registration_opens_at:
        raise EnrolmentError(
            "registration_not_open", _l("Registration has not opened yet."), status=409
        )
    closes = event.registration_closes_at or event.starts_at
    if now > closes or now > event.starts_at:
        raise EnrolmentError("registration_closed", _l("Registration is closed."), status=409)


def overlaps(a: SessionRule, b: SessionRule) -> bool:
    return any(s1 < e2 and s2 < e1 for s1, e1 in a.intervals for s2, e2 in b.intervals)


def check_choice(
    event_id: int,
    profession: ProfessionRule,
    chosen: list[SessionRule],
    field_name: str = "sessions",
) -> None:
    """Eligibility, one session per round and no two overlapping sessions."""
    seen_rounds: dict[int, SessionRule] = {}
    for i, session in enumerate(chosen):
        if session.event_id != event_id:
            raise EnrolmentError("unknown_session", _l("Unknown session."), field_name)
        if session.is_cancelled:
            raise EnrolmentError(
                "session_cancelled", _l("This session has been cancelled."), field_name
            )
        if not enrollable(session):
            raise EnrolmentError(
                "not_enrollable", _l("Plenary sessions need no choice."), field_name
            )
        if not session.admits(profession.id):
            raise EnrolmentError(
                "not_eligible",
                _l("%(profession)s may not join “%(session)s”.",
                   profession=profession.name(_locale()), session=session.title),
                field_name,
            )  # fmt: skip
        if session.round_id is not None:
            if session.round_id in seen_rounds:
                raise EnrolmentError(
                    "round_conflict",
                    _l("Choose one session per round (%(round)s).", round=session.round_title),
                    field_name,
                )
            seen_rounds[session.round_id] = session
        for other in chosen[:i]:
            if overlaps(session, other):
                raise EnrolmentError(
                    "time_conflict",
                    _l("“%(a)s” and “%(b)s” take place at the same time.", a=other.title,
                       b=session.title),
                    field_name,
                )  # fmt: skip


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "nl")


@dataclass
class _Checked:
    email: str
    profession: ProfessionRule
    identifiers: dict[str, str]
    sessions: list[SessionRule]


def validate(db: DbSession, event: Event, data: RegistrationInput) -> _Checked:
    """Check every field; raise :class:`RegistrationInvalid` listing all problems.

    Reads the programme from its cached copy (``services.programme.rules``): no queries once warm.
    """
    errors: list[EnrolmentError] = []

    def fail(code: str, message: object, field_name: str) -> None:
        errors.append(EnrolmentError(code, message, field_name))

    texts = {k: getattr(data, k) for k in ("name", "email", "organisation", "phone", "needs")}
    texts |= {f"identifier_{code}": value for code, value in data.identifiers.items()}
    for key, value in texts.items():
        if CONTROL.search(value):
            fail("invalid_text", _l("Remove the invisible control characters."), key)

    name = data.name.strip()
    if not name:
        fail("invalid_name", _l("Enter your name."), "name")
    for key in ("name", "organisation", "phone", "needs"):
        if len(getattr(data, key)) > LIMITS[key]:
            fail(
                "field_too_long",
                _l("At most %(num)d characters.", num=LIMITS[key]),
                key,
            )
    email = ""
    try:
        email = validate_email(data.email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        fail("invalid_email", _l("Enter a valid e-mail address."), "email")
    if data.phone.strip() and not PHONE.fullmatch(data.phone.strip()):
        fail("invalid_phone", _l("Enter a phone number with digits only."), "phone")
    if data.language not in LANGUAGES:
        fail("invalid_language", _l("Choose Dutch (nl) or English (en)."), "language")
    if not data.consent:
        fail("consent_required", _l("Please agree to the privacy statement."), "consent")

    programme = rules_for(db, event)
    profession = programme.professions.get(data.profession)
    if profession is None:
        fail("invalid_profession", _l("Choose a profession from the list."), "profession")

    identifiers: dict[str, str] = {}
    if profession is not None:
        for register in profession.registers:
            value = re.sub(r"\s", "", data.identifiers.get(register.code, ""))
            where = f"identifier_{register.code}"
            if not value:
                continue
            if len(value) > LIMITS["identifier"] or (
                register.pattern is not None and not register.pattern.fullmatch(value)
            ):
                fail("invalid_identifier", register.identifier_hint(_locale()), where)
            else:
                identifiers[register.code] = value
        if (
            profession.registers
            and not identifiers
            and not any(e.field and e.field.startswith("identifier_") for e in errors)
        ):
            first = profession.registers[0]
            fail(
                "identifier_required",
                _l("Enter your %(identifier)s, needed for your accreditation points.",
                   identifier=first.identifier_name(_locale())),
                f"identifier_{first.code}",
            )  # fmt: skip

    ids = list(dict.fromkeys(data.sessions))
    chosen = [programme.sessions[i] for i in ids if i in programme.sessions]
    if len(chosen) != len(ids):
        fail("unknown_session", _l("Unknown session."), "sessions")
    elif profession is not None:
        try:
            check_choice(event.id, profession, chosen)
        except EnrolmentError as exc:
            errors.append(exc)
    if errors:
        raise RegistrationInvalid(errors)
    assert profession is not None
    return _Checked(email, profession, identifiers, chosen)


# --------------------------------------------------------------------------- counting


@dataclass
class _Counts:
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
_EXISTING = select(_r.id).where(
    _r.event_id == bindparam("event_id"), _r.email == bindparam("email")
)
_STAMP = select(Event.__table__.c.programme_stamp).where(Event.__table__.c.id == bindparam("id"))
_INSERT_REGISTRATION = insert(Registration.__table__).returning(_r.id)
_INSERT_ENROLMENTS = insert(Enrolment.__table__).returning(_e.id, sort_by_parameter_order=True)
# RETURNING makes SQLAlchemy send the rows as one INSERT (insertmanyvalues), cached.
_INSERT_CHANGES = insert(EnrolmentChange.__table__).returning(EnrolmentChange.__table__.c.id)


def _counts(
    db: DbSession, session_ids: Iterable[int], quotas: dict[tuple[int, int], int] | None = None
) -> _Counts:
    """Confirmed places per session and profession and the waiting-list tails, in one query.

    ``quotas`` (session id, profession id) -> places, when the caller has them already (from
    the programme's cached rules, checked under the lock); otherwise they are read too.
    """
    ids = list(session_ids)
    counts = _Counts({}, {}, {}, {})
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


def limit_problems(
    db: DbSession, session_id: int, capacity: int | None, quotas: dict[int, int]
) -> list[tuple[str, int]]:
    """Limits that would drop below the places already confirmed: (field, confirmed).

    ``field`` is "capacity" or "quotas.<profession id>". Raising a limit is always fine
    (then call :func:`fill_places`). The caller holds the session's lock.
    """
    counts = _counts(db, [session_id])
    problems = []
    confirmed = counts.confirmed.get(session_id, 0)
    if capacity is not None and capacity < confirmed:
        problems.append(("capacity", confirmed))
    for profession_id, places in quotas.items():
        taken = counts.confirmed_by_profession.get((session_id, profession_id), 0)
        if places < taken:
            problems.append((f"quotas.{profession_id}", taken))
    return problems


def limit_error(field: str, confirmed: int) -> EnrolmentError:
    """The refusal an organiser sees, saying how many places are confirmed."""
    return EnrolmentError(
        "limit_below_confirmed",
        _l("%(num)d places are already confirmed; the limit cannot be lower.", num=confirmed),
        field,
        status=409,
    )


def change_capacity(
    db: DbSession, session: Session, capacity: int | None, now: datetime
) -> list[Enrolment]:
    """Set a session's capacity: never below what is confirmed; new room goes to the waiting list.

    Returns the registrants promoted (through the same rule as everywhere: :func:`fill_places`).
    """
    begin_write(db)
    lock_programme(db, session.event_id, [session.id])
    db.refresh(session)
    for field_name, confirmed in limit_problems(db, session.id, capacity, {}):
        raise limit_error(field_name, confirmed)
    session.capacity = capacity
    db.flush()
    return fill_places(db, [session.id], now, "promoted:capacity_raised")


def promote_by_hand(
    db: DbSession, enrolment: Enrolment, now: datetime, *, override: bool = False
) -> None:
    """Confirm one waitlisted registrant, out of list order.

    Without ``override`` only when the capacity and quota rule has a place for them; with it
    (an admin's decision, recorded with a reason by the caller) even over capacity.
    """
    registration = enrolment.registration
    begin_write(db)
    _lock_event_sessions(db, registration.event)
    if enrolment.status is not EnrolmentStatus.WAITLISTED:
        raise EnrolmentError(
            "not_waitlisted", _l("This person is not on the waiting list."), status=409
        )
    session = enrolment.session
    counts = _counts(db, [session.id])
    if not override and not counts.place_for(session.id, session.capacity, enrolment.profession_id):
        raise EnrolmentError(
            "no_place",
            _l("There is no free place (or the quota for this profession is used up)."),
            status=409,
        )
    enrolment.status = EnrolmentStatus.CONFIRMED
    enrolment.waitlist_position = None
    enrolment.changed_at = now
    _log(enrolment, EnrolmentStatus.WAITLISTED, "override" if override else "promoted:by_hand", now)
    mail.queue(
        db, registration, "promoted", now, enrolment=enrolment, invite=("REQUEST", [enrolment])
    )
    old = enrolment.replaces
    if old is not None and old.is_live and _release(db, old, now, "switched"):
        _calendar_cancel(db, old, now)
    _renumber(db, session.id)
    db.flush()


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


# --------------------------------------------------------------------------- changes


def _log(enrolment: Enrolment, from_status: str | None, reason: str, now: datetime) -> None:
    enrolment.changes.append(
        EnrolmentChange(at=now, from_status=from_status, to_status=enrolment.status, reason=reason)
    )


def _take_or_wait(
    counts: _Counts, session_id: int, capacity: int | None, profession_id: int
) -> tuple[EnrolmentStatus, int | None]:
    """A confirmed place when one is free, else the next position on the waiting list."""
    if counts.place_for(session_id, capacity, profession_id):
        counts.take(session_id, profession_id)
        return EnrolmentStatus.CONFIRMED, None
    position = counts.last_position.get(session_id, 0) + 1
    counts.last_position[session_id] = position
    return EnrolmentStatus.WAITLISTED, position


def _cancel(enrolment: Enrolment, now: datetime, reason: str) -> EnrolmentStatus:
    """Cancel; a confirmed place's invitation gets a higher SEQUENCE for its CANCEL."""
    previous = enrolment.status
    if previous is EnrolmentStatus.CONFIRMED:
        enrolment.ical_sequence += 1
    enrolment.status = EnrolmentStatus.CANCELLED
    enrolment.waitlist_position = None
    enrolment.changed_at = now
    _log(enrolment, previous, reason, now)
    return previous


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
        counts = _counts(db, [session_id])
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
                registration = enrolment.registration
                mail.queue(
                    db,
                    registration,
                    "promoted",
                    now,
                    enrolment=enrolment,
                    invite=("REQUEST", [enrolment]),
                )
                if old is not None and old.is_live:
                    if _cancel(old, now, "switched") is EnrolmentStatus.CONFIRMED:
                        pending.append(old.session_id)
                        _calendar_cancel(db, old, now)
                    else:
                        _renumber(db, old.session_id)
            else:
                still_waiting.append(enrolment)
        for position, enrolment in enumerate(still_waiting, start=1):
            enrolment.waitlist_position = position
        db.flush()
    return promoted


def _renumber(db: DbSession, session_id: int) -> None:
    db.flush()
    waiting = db.scalars(
        select(Enrolment)
        .where(Enrolment.session_id == session_id, Enrolment.status == EnrolmentStatus.WAITLISTED)
        .order_by(Enrolment.waitlist_position, Enrolment.id)
    ).all()
    for position, enrolment in enumerate(waiting, start=1):
        enrolment.waitlist_position = position


def _calendar_cancel(db: DbSession, enrolment: Enrolment, now: datetime) -> None:
    """Take a released place off the registrant's calendar."""
    mail.queue(
        db,
        enrolment.registration,
        "calendar_cancelled",
        now,
        enrolment=enrolment,
        invite=("CANCEL", [enrolment]),
    )


def _release(db: DbSession, enrolment: Enrolment, now: datetime, reason: str) -> bool:
    """Cancel one enrolment and give its place (or waiting-list spot) to the next in line.

    True when it held a confirmed place (so its calendar entry must be cancelled).
    """
    for switch in _switches_for(db, enrolment):
        switch.replaces = None  # the switch stays on the waiting list as a plain choice
    if _cancel(enrolment, now, reason) is EnrolmentStatus.CONFIRMED:
        fill_places(db, [enrolment.session_id], now, f"promoted:{reason}")
        return True
    _renumber(db, enrolment.session_id)
    return False


def _switches_for(db: DbSession, enrolment: Enrolment) -> list[Enrolment]:
    return list(
        db.scalars(
            select(Enrolment).where(
                Enrolment.replaces_id == enrolment.id,
                Enrolment.status == EnrolmentStatus.WAITLISTED,
            )
        )
    )


def _lock_event_sessions(db: DbSession, event: Event, *, programme: bool = False) -> None:
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


# --------------------------------------------------------------------------- operations


def manage_token(secret_key: str, registration: Registration) -> str:
    return token_for(secret_key, registration.token_nonce)


def feed_token(secret_key: str, registration: Registration) -> str:
    return token_for(secret_key, registration.feed_nonce, "feed")


def renew_feed_token(db: DbSession, registration: Registration, secret_key: str) -> str:
    """Revoke the calendar feed's address (a leaked link) and return the new token."""
    registration.feed_nonce = new_nonce()
    token = feed_token(secret_key, registration)
    registration.feed_token_hash = token_hash(token)
    return token


def find_by_feed_token(db: DbSession, token: str) -> Registration | None:
    return db.scalars(
        select(Registration).where(Registration.feed_token_hash == token_hash(token))
    ).one_or_none()


def find_by_token(db: DbSession, token: str) -> Registration | None:
    return db.scalars(
        select(Registration).where(Registration.token_hash == token_hash(token))
    ).one_or_none()


def register(
    db: DbSession, event: Event, data: RegistrationInput, now: datetime, secret_key: str
) -> RegistrationOutcome:
    """Register a person and enrol them in the chosen sessions (confirmed or waitlisted)."""
    check_open(event, now)
    checked = validate(db, event, data)

    if data.submission_key:
        again = db.scalars(
            select(Registration).where(Registration.submission_key == data.submission_key)
        ).one_or_none()
        if again is not None and again.event_id == event.id:
            return RegistrationOutcome(again, manage_token(secret_key, again), False, True)

    stamp = event.programme_stamp
    begin_write(db)
    capacities = lock_capacity(db, event, [s.id for s in checked.sessions])
    if db.scalar(_STAMP, {"id": event.id}) != stamp:
        # The programme changed while we waited for the locks: check again against it.
        db.expire(event)
        check_open(event, now)
        checked = validate(db, event, data)
    existing = _existing(db, event, checked.email)
    if existing is not None and existing.is_active:
        return _already_registered(db, existing, data, now, secret_key)
    if event.capacity is not None:
        taken = db.scalar(
            select(func.count())
            .select_from(Registration)
            .where(
                Registration.event_id == event.id,
                Registration.status == RegistrationStatus.ACTIVE,
            )
        )
        if taken >= event.capacity:
            raise EnrolmentError("event_full", _l("This event is fully booked."), status=409)

    counts = _counts(
        db,
        capacities,
        {(s.id, p): places for s in checked.sessions for p, places in s.quotas.items()},
    )
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
        enrolments = _insert_places(db, registration, places, counts, now, "registered")
    except IntegrityError:
        # The same address (or form) committed by a concurrent request without shared locks.
        db.rollback()
        existing = _existing(db, event, checked.email)
        if existing is None:
            raise
        return _already_registered(db, existing, data, now, secret_key)
    confirmed = [e for e in enrolments if e.status is EnrolmentStatus.CONFIRMED]
    invite = ("REQUEST", confirmed) if confirmed else None
    mail.queue(db, registration, "registered", now, invite=invite)
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
    registration_id = db.execute(_INSERT_REGISTRATION, values).scalar_one()
    registration = _loaded(db, Registration, id=registration_id, **values)
    set_committed_value(registration, "enrolments", [])
    return registration


def _loaded(db: DbSession, cls: type[_Row], **values: object) -> _Row:
    """The ORM object of a row this transaction just inserted with Core, without reading it.

    ``values`` must hold every column. SQLAlchemy's recipe for objects inserted in bulk.
    """
    obj = cls(**values)
    make_transient_to_detached(obj)
    db.add(obj)
    db.info.setdefault(_CORE_ROWS, []).append(obj)
    return obj


_CORE_ROWS = "symposium.rows_inserted_with_core"


@sa_event.listens_for(DbSession, "after_soft_rollback")
def _forget_rolled_back_rows(db: DbSession, previous: SessionTransaction) -> None:
    """Objects made by :func:`_loaded` are not 'new' to the ORM, so a rollback would keep them
    as if their rows existed; take them out of the session with their rows."""
    if previous.parent is None:  # the outermost transaction, not a savepoint
        for obj in db.info.pop(_CORE_ROWS, []):
            if obj in db:
                db.expunge(obj)


@sa_event.listens_for(DbSession, "after_commit")
def _keep_committed_rows(db: DbSession) -> None:
    db.info.pop(_CORE_ROWS, None)


def _insert_places(
    db: DbSession,
    registration: Registration,
    places: list[tuple[int, int | None]],
    counts: _Counts,
    now: datetime,
    reason: str,
    replaces: Enrolment | None = None,
) -> list[Enrolment]:
    """Enrol in these (session id, capacity) places: confirmed when one is free, else at the
    end of the waiting list. Two statements, whatever the number of places.

    ``replaces``: a switch that has to wait keeps that place until it is confirmed.
    """
    if not places:
        return []
    earlier: dict[int, int] = {}  # a cancelled place here: its calendar UID's SEQUENCE goes on
    for e in registration.enrolments:
        earlier[e.session_id] = max(e.ical_sequence, earlier.get(e.session_id, -1))
    rows = []
    for session_id, capacity in places:
        status, position = _take_or_wait(counts, session_id, capacity, registration.profession_id)
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
    enrolments = [_loaded(db, Enrolment, id=i, **row) for i, row in zip(ids, rows, strict=True)]
    set_committed_value(registration, "enrolments", [*registration.enrolments, *enrolments])
    return enrolments


def _existing(db: DbSession, event: Event, email: str) -> Registration | None:
    found = db.execute(_EXISTING, {"event_id": event.id, "email": email}).scalar_one_or_none()
    return None if found is None else db.get(Registration, found)


def _already_registered(
    db: DbSession, existing: Registration, data: RegistrationInput, now: datetime, secret: str
) -> RegistrationOutcome:
    token = manage_token(secret, existing)
    if data.submission_key and existing.submission_key == data.submission_key:
        return RegistrationOutcome(existing, token, created=False, resubmitted=True)
    mail.queue(db, existing, "manage_link", now)
    return RegistrationOutcome(existing, token, created=False)


def resend_link(db: DbSession, registration: Registration, now: datetime) -> None:
    mail.queue(db, registration, "manage_link", now)


def _require_active(registration: Registration) -> None:
    if not registration.is_active:
        raise EnrolmentError(
            "registration_cancelled", _l("This registration has been cancelled."), status=409
        )


def change_session(
    db: DbSession, registration: Registration, session_id: int, now: datetime
) -> Enrolment:
    """Switch to (or add) a session; the old place is kept until the new one is confirmed."""
    event = registration.event
    check_open(event, now)
    begin_write(db)
    _lock_event_sessions(db, event)
    _require_active(registration)
    new = db.get(Session, session_id)
    if new is None or new.event_id != event.id:
        raise EnrolmentError("unknown_session", _l("Unknown session."), "session")
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
                _release(db, pending, now, "switch_withdrawn")
    keep = [e.session for e in live if e is not old and e.replaces_id is None]
    check_choice(
        event.id,
        ProfessionRule.of(registration.profession),
        [SessionRule.of(s) for s in (*keep, new)],
        "session",
    )

    counts = _counts(db, [new.id])
    (enrolment,) = _insert_places(
        db, registration, [(new.id, new.capacity)], counts, now, "switched", replaces=old
    )
    confirmed = enrolment.status is EnrolmentStatus.CONFIRMED
    released = False
    if confirmed and old is not None:
        released = _release(db, old, now, "switched")
    db.flush()
    invite = ("REQUEST", [enrolment]) if confirmed else None
    mail.queue(db, registration, "changed", now, enrolment=enrolment, old=old, invite=invite)
    if released:
        _calendar_cancel(db, old, now)
    return enrolment


def cancel_enrolment(
    db: DbSession, registration: Registration, enrolment_id: int, now: datetime
) -> bool:
    """Give up one session; False when it was already cancelled (a repeated submit)."""
    begin_write(db)
    _lock_event_sessions(db, registration.event)
    enrolment = db.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.registration_id != registration.id:
        raise EnrolmentError("unknown_enrolment", _l("Unknown session."), status=404)
    if not enrolment.is_live:
        return False
    held_place = _release(db, enrolment, now, "cancelled_by_registrant")
    db.flush()
    invite = ("CANCEL", [enrolment]) if held_place else None
    mail.queue(db, registration, "enrolment_cancelled", now, enrolment=enrolment, invite=invite)
    return True


def cancel_registration(db: DbSession, registration: Registration, now: datetime) -> bool:
    """Cancel the whole registration and free its places; False when already cancelled."""
    begin_write(db)
    _lock_event_sessions(db, registration.event)
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
            _cancel(enrolment, now, "registration_cancelled")
            _renumber(db, enrolment.session_id)
        else:
            _cancel(enrolment, now, "registration_cancelled")
            freed.append(enrolment.session_id)
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = now
    db.flush()
    fill_places(db, freed, now, "promoted:registration_cancelled")
    held = [e for e in live if e.session_id in freed]
    invite = ("CANCEL", held) if held else None
    mail.queue(db, registration, "registration_cancelled", now, invite=invite)
    return True


def sessions_rescheduled(db: DbSession, session_ids: Iterable[int], now: datetime) -> int:
    """Send every confirmed registrant of these sessions an updated invitation.

    Called after a session's time, room or meetings changed: same UID, SEQUENCE + 1.
    Returns the number of invitations queued.
    """
    enrolments = db.scalars(
        select(Enrolment)
        .where(
            Enrolment.session_id.in_(list(session_ids)),
            Enrolment.status == EnrolmentStatus.CONFIRMED,
        )
        .order_by(Enrolment.id)
    ).all()
    for enrolment in enrolments:
        enrolment.ical_sequence += 1
        mail.queue(
            db,
            enrolment.registration,
            "session_changed",
            now,
            enrolment=enrolment,
            invite=("REQUEST", [enrolment]),
        )
    return len(enrolments)


def cancel_session(db: DbSession, session: Session, now: datetime) -> int:
    """Cancel a whole session: every place and waiting-list spot goes, invitations withdrawn.

    Returns the number of registrants told. A pending switch *from* this session keeps waiting
    for its new place; one *to* it is cancelled with the rest.
    """
    begin_write(db)
    _lock_event_sessions(db, session.event, programme=True)
    if session.is_cancelled:
        return 0
    session.cancelled_at = now
    live = db.scalars(
        select(Enrolment)
        .where(Enrolment.session_id == session.id, Enrolment.status != EnrolmentStatus.CANCELLED)
        .order_by(Enrolment.id)
    ).all()
    for enrolment in live:
        for switch in _switches_for(db, enrolment):
            switch.replaces = None
        held = _cancel(enrolment, now, "session_cancelled") is EnrolmentStatus.CONFIRMED
        mail.queue(
            db,
            enrolment.registration,
            "session_cancelled",
            now,
            enrolment=enrolment,
            invite=("CANCEL", [enrolment]) if held else None,
        )
    db.flush()
    return len(live)


def event_cancelled(db: DbSession, event: Event, now: datetime) -> int:
    """Withdraw every confirmed place's invitation when the whole event is cancelled."""
    registrations = db.scalars(
        select(Registration)
        .where(Registration.event_id == event.id, Registration.status == RegistrationStatus.ACTIVE)
        .order_by(Registration.id)
    ).all()
    for registration in registrations:
        held = [e for e in registration.enrolments if e.status is EnrolmentStatus.CONFIRMED]
        for enrolment in held:
            enrolment.ical_sequence += 1
        mail.queue(
            db,
            registration,
            "event_cancelled",
            now,
            invite=("CANCEL", held) if held else None,
        )
    return len(registrations)
