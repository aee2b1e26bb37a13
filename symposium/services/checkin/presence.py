"""Presence: the one home of who may come into a session, and of check-in and check-out.

Every way in (the door page's camera, a typed code, a name search, the API, a paper sheet
entered afterwards, a walk-in) goes through :func:`scan`, which answers at a glance:

- green *welcome*: checked in now (or checked out now, at the exit);
- orange *other session*: their place is in another session of the same round; a second
  scan with ``admit_anyway`` lets them in, marked so that the organiser sees it;
- red *refused*: unknown code, another event's ticket, cancelled, waiting list, no place
  here, or a scan time outside the session's day; nothing is recorded;
- grey *already*: checked in (or out) before, at that time, by that account.

Idempotent twice over: each scan carries a client id that is accepted once per event (an
offline batch sent again, or a form submitted twice, gets its first answer back), and a
person has at most one live presence per session (a unique index), so two doors scanning
the same ticket at once record one presence.

A group session that meets several times records a presence per meeting: a scan counts for
the meeting held on the day it was made (``attendance.meeting_on``), and is refused on a
day the group does not meet.

A check-in is not an audit entry: the presence row itself says who recorded it, when and
how, and an audit entry per scan would bury the organiser's log under hundreds of them. The
exceptions are: admitted anyway, undo, "everyone left", paper sheets, walk-ins.

The answer types live in ``answers`` and the reading side (late, early, in full, lists) in
``attendance``; their names are imported here, so callers need only this module.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from symposium.models import (
    CheckinScan,
    Enrolment,
    EnrolmentStatus,
    Event,
    Meeting,
    Presence,
    Registration,
    Session,
    SessionKind,
    User,
    Via,
)
from symposium.services.accounts import access
from symposium.services.checkin import tickets
from symposium.services.checkin.answers import COLOURS as COLOURS
from symposium.services.checkin.answers import REASON_TEXT as REASON_TEXT
from symposium.services.checkin.answers import Answer, Direction, Reason, Verdict
from symposium.services.checkin.attendance import early_by as early_by
from symposium.services.checkin.attendance import in_full as in_full
from symposium.services.checkin.attendance import late_by as late_by
from symposium.services.checkin.attendance import meeting_on as meeting_on
from symposium.services.checkin.attendance import (
    presences_by_registration as presences_by_registration,
)
from symposium.services.checkin.attendance import registration_presences as registration_presences
from symposium.services.checkin.attendance import session_presences as session_presences
from symposium.services.checkin.doors import door_counts as door_counts
from symposium.services.checkin.doors import door_presences as door_presences
from symposium.services.checkin.doors import door_sessions as door_sessions
from symposium.services.checkin.doors import door_times as door_times
from symposium.services.checkin.doors import propose_session as propose_session
from symposium.services.checkin.doors import running_sessions as running_sessions
from symposium.services.checkin.doors import session_day as session_day
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.core.locking import begin_write

# A phone's clock may run a little ahead of the server's: a scan "from the future" up to this
# much is taken as made now; further ahead it is refused.
CLOCK_SKEW = timedelta(minutes=2)
# Door accounts may undo until this long after the session ends; organisers always may.
UNDO_UNTIL = timedelta(minutes=30)

CLIENT_ID_LENGTH = CheckinScan.__table__.c.client_id.type.length


def new_client_id() -> str:
    """A client id for a form the server renders (the door page's JavaScript makes its own)."""
    return uuid.uuid4().hex


def check_client_id(client_id: str) -> str:
    """A client id as the rules accept it: 1–64 printable ASCII characters, no spaces."""
    client_id = (client_id or "").strip()
    if not (0 < len(client_id) <= CLIENT_ID_LENGTH) or not all("!" <= c <= "~" for c in client_id):
        raise RuleError(
            "invalid_client_id",
            _l("A scan needs an id of 1 to %(num)d letters, digits or signs.", num=64),
            "client_id",
        )
    return client_id


# --- who may come in ------------------------------------------------------------------------


def _same_slot(a: Session, b: Session) -> bool:
    if a.round_id is not None:
        return a.round_id == b.round_id
    a_start, a_end, b_start, b_end = (
        a.effective_starts_at, a.effective_ends_at, b.effective_starts_at, b.effective_ends_at,
    )  # fmt: skip
    if None in (a_start, a_end, b_start, b_end):
        return False
    return a_start < b_end and b_start < a_end  # type: ignore[operator]


def admission(session: Session, registration: Registration) -> Answer:
    """Whether this person has a place in this session (the rule; records nothing)."""
    if session.is_cancelled:
        return Answer(Verdict.REFUSED, session, registration, reason=Reason.SESSION_CANCELLED)
    if not registration.is_active:
        return Answer(Verdict.REFUSED, session, registration, reason=Reason.REGISTRATION_CANCELLED)
    if session.kind is SessionKind.PLENARY:
        return Answer(Verdict.WELCOME, session, registration)
    here = [e for e in registration.enrolments if e.session_id == session.id]
    for enrolment in here:
        if enrolment.status is EnrolmentStatus.CONFIRMED:
            return Answer(Verdict.WELCOME, session, registration)
    for enrolment in registration.enrolments:
        other = enrolment.session
        if (
            enrolment.status is EnrolmentStatus.CONFIRMED
            and other.id != session.id
            and not other.is_cancelled
            and _same_slot(session, other)
        ):
            return Answer(Verdict.OTHER_SESSION, session, registration, other=other)
    for enrolment in here:
        if enrolment.status is EnrolmentStatus.WAITLISTED:
            return Answer(
                Verdict.REFUSED, session, registration, reason=Reason.WAITLISTED,
                detail=str(enrolment.waitlist_position or ""),
            )  # fmt: skip
    if here:
        return Answer(Verdict.REFUSED, session, registration, reason=Reason.ENROLMENT_CANCELLED)
    return Answer(Verdict.REFUSED, session, registration, reason=Reason.NOT_REGISTERED)


def _confirmed_enrolment(session: Session, registration: Registration) -> Enrolment | None:
    for enrolment in registration.enrolments:
        if enrolment.session_id == session.id and enrolment.status is EnrolmentStatus.CONFIRMED:
            return enrolment
    return None


def live_presence(
    db: DbSession, session: Session, registration: Registration, meeting: Meeting | None = None
) -> Presence | None:
    """Their presence in ``session`` (at ``meeting`` of a group; None: not checked in)."""
    return db.scalars(
        select(Presence).where(
            Presence.session_id == session.id,
            Presence.registration_id == registration.id,
            Presence.undone_at.is_(None),
            Presence.meeting_id == meeting.id if meeting else Presence.meeting_id.is_(None),
        )
    ).one_or_none()


def find_registration(
    db: DbSession, event: Event, *, code: str | None = None, registration_id: int | None = None
) -> tuple[Registration | None, Event | None]:
    """The registration a scan names (by ticket code or id), or the other event whose ticket
    it is; (None, None) when the code is nobody's."""
    if registration_id is not None:
        registration = db.get(Registration, registration_id)
        if registration is None or registration.event_id != event.id:
            return None, None
        return (None, None) if registration.is_anonymised else (registration, None)
    registration = tickets.find_by_code(db, event, code or "")
    if registration is not None:
        return (None, None) if registration.is_anonymised else (registration, None)
    parsed = tickets.parse_code(code or "")
    if parsed is None:
        return None, None
    elsewhere = db.scalars(
        select(Event)
        .join(Registration, Registration.event_id == Event.id)
        .where(Registration.checkin_code == parsed)
    ).first()
    return None, elsewhere


# --- recording ------------------------------------------------------------------------------


def check_scan_time(
    session: Session, at: datetime, now: datetime
) -> tuple[datetime, Reason | None]:
    """The time a scan is recorded at: when it was made, within the session's day.

    Returns the time (a little ahead of the server is taken as now) and, when refused, the
    reason (None when accepted).
    """
    if at > now + CLOCK_SKEW:
        return at, Reason.TIME_IN_FUTURE
    at = min(at, now)
    if session.meetings:
        return at, None if meeting_on(session, at) is not None else Reason.NO_MEETING_THAT_DAY
    begins, ends = session_day(session)
    if not begins <= at < ends:
        return at, Reason.TIME_NOT_SESSION_DAY
    return at, None


def scan(
    db: DbSession,
    actor: User | None,
    session: Session,
    *,
    client_id: str,
    now: datetime,
    code: str | None = None,
    registration_id: int | None = None,
    at: datetime | None = None,
    direction: Direction = Direction.IN,
    via: Via = Via.SCAN,
    admit_anyway: bool = False,
) -> Answer:
    """Record one scan at the door of ``session`` (see the module). The caller commits.

    ``at`` is when the scan was made (offline scans arrive later), by default now.
    """
    client_id = check_client_id(client_id)
    at = at or now
    event = session.event
    begin_write(db)
    earlier = _earlier_scan(db, event, client_id)
    if earlier is not None:
        return _replay(db, earlier)
    if session.effective_starts_at is None or session.effective_ends_at is None:
        raise RuleError(
            "session_without_time",
            _l("This session has no time yet: nobody can be checked in to it."),
            "session",
        )
    answer = _decide(
        db, actor, session, code=code, registration_id=registration_id,
        at=at, now=now, direction=direction, via=via, admit_anyway=admit_anyway,
    )  # fmt: skip
    row = CheckinScan(
        event_id=event.id,
        client_id=client_id,
        session_id=session.id,
        user_id=actor.id if actor is not None else None,
        direction=direction.value,
        registration_id=answer.registration.id if answer.registration is not None else None,
        presence_id=answer.presence.id if answer.presence is not None else None,
        verdict=answer.verdict.value,
        reason=answer.reason.value if answer.reason else None,
        detail=answer.detail,
        scanned_at=min(at, now + CLOCK_SKEW),
        received_at=now,
    )
    try:
        with db.begin_nested():
            db.add(row)
    except IntegrityError:
        # The same client id, committed by a concurrent request (a batch sent twice at once).
        db.rollback()
        earlier = _earlier_scan(db, event, client_id)
        if earlier is None:
            raise
        return _replay(db, earlier)
    return answer


def _earlier_scan(db: DbSession, event: Event, client_id: str) -> CheckinScan | None:
    return db.scalars(
        select(CheckinScan).where(
            CheckinScan.event_id == event.id, CheckinScan.client_id == client_id
        )
    ).one_or_none()


def answer_for(db: DbSession, event: Event, client_id: str) -> Answer | None:
    """The answer a scan got, read back (records nothing): the door page shows it after
    the redirect that follows its form. None when the id is unknown to this event."""
    earlier = _earlier_scan(db, event, client_id)
    if earlier is None:
        return None
    return _replay(db, earlier)


def _replay(db: DbSession, earlier: CheckinScan) -> Answer:
    scanned = db.get(Session, earlier.session_id)
    assert scanned is not None  # the scan's row goes with its session (ON DELETE CASCADE)
    registration = (
        db.get(Registration, earlier.registration_id) if earlier.registration_id else None
    )
    presence = db.get(Presence, earlier.presence_id) if earlier.presence_id else None
    verdict = Verdict(earlier.verdict)
    other = None
    if verdict is Verdict.OTHER_SESSION and registration is not None:
        other = admission(scanned, registration).other
    return Answer(
        verdict, scanned, registration, presence,
        reason=Reason(earlier.reason) if earlier.reason else None,
        other=other, detail=earlier.detail, replayed=True,
    )  # fmt: skip


def _decide(
    db: DbSession,
    actor: User | None,
    session: Session,
    *,
    code: str | None,
    registration_id: int | None,
    at: datetime,
    now: datetime,
    direction: Direction,
    via: Via,
    admit_anyway: bool,
) -> Answer:
    event = session.event
    registration, elsewhere = find_registration(
        db, event, code=code, registration_id=registration_id
    )
    if registration is None:
        if elsewhere is not None:
            return Answer(
                Verdict.REFUSED, session, reason=Reason.OTHER_EVENT, detail=elsewhere.title
            )
        return Answer(Verdict.REFUSED, session, reason=Reason.UNKNOWN_CODE)
    at, refused = check_scan_time(session, at, now)
    if refused is not None:
        detail = ""
        if refused in (Reason.TIME_NOT_SESSION_DAY, Reason.NO_MEETING_THAT_DAY):
            detail = at.astimezone(event.tz).strftime("%Y-%m-%d")
        return Answer(Verdict.REFUSED, session, registration, reason=refused, detail=detail)
    meeting = meeting_on(session, at)
    presence = live_presence(db, session, registration, meeting)
    if direction is Direction.OUT:
        return _check_out(db, actor, session, registration, presence, at, now, via)
    if presence is not None:
        return Answer(Verdict.ALREADY, session, registration, presence)
    allowed = admission(session, registration)
    if allowed.verdict is Verdict.OTHER_SESSION and admit_anyway:
        pass  # let in, marked
    elif allowed.verdict is not Verdict.WELCOME:
        return allowed
    presence = Presence(
        session_id=session.id,
        meeting_id=meeting.id if meeting is not None else None,
        registration_id=registration.id,
        enrolment_id=(e.id if (e := _confirmed_enrolment(session, registration)) else None),
        checked_in_at=at,
        checked_in_by_id=actor.id if actor is not None else None,
        checked_in_via=via,
        admitted_anyway=allowed.verdict is Verdict.OTHER_SESSION,
        recorded_at=now,
    )
    try:
        with db.begin_nested():
            db.add(presence)
    except IntegrityError:
        # Another door checked them in a moment ago: one presence, theirs.
        presence = live_presence(db, session, registration, meeting)
        if presence is None:
            raise
        return Answer(Verdict.ALREADY, session, registration, presence)
    if presence.admitted_anyway:
        audit.record_participant(
            db, actor, registration, "admitted_anyway", now,
            note=f"{session.key} (place in {allowed.other.key})",  # type: ignore[union-attr]
        )  # fmt: skip
    return Answer(Verdict.WELCOME, session, registration, presence, other=allowed.other)


def _check_out(
    db: DbSession,
    actor: User | None,
    session: Session,
    registration: Registration,
    presence: Presence | None,
    at: datetime,
    now: datetime,
    via: Via,
) -> Answer:
    if presence is None:
        return Answer(Verdict.REFUSED, session, registration, reason=Reason.NOT_CHECKED_IN)
    if presence.checked_out_at is not None:
        return Answer(Verdict.ALREADY, session, registration, presence)
    if at < presence.checked_in_at:
        return Answer(Verdict.REFUSED, session, registration, presence, Reason.OUT_BEFORE_IN)
    _mark_checked_out(presence, actor, at, via)
    db.flush()
    return Answer(Verdict.GOODBYE, session, registration, presence)


def _mark_checked_out(presence: Presence, actor: User | None, at: datetime, via: Via) -> None:
    presence.checked_out_at = at
    presence.checked_out_by_id = actor.id if actor is not None else None
    presence.checked_out_via = via


# --- corrections ----------------------------------------------------------------------------


def may_undo(actor: User, presence: Presence, now: datetime) -> bool:
    """Door accounts undo until shortly after the session; organisers correct any time."""
    if access.can(actor, access.MANAGE, presence.session.event):
        return True
    ends = presence.ends_at
    return ends is not None and now <= ends + UNDO_UNTIL


def _check_undo(actor: User, presence: Presence, now: datetime) -> None:
    if not may_undo(actor, presence, now):
        raise RuleError(
            "undo_too_late",
            _l("This session is over; ask an organiser to correct it in the back-office."),
            status=409,
        )


def undo_checkin(db: DbSession, actor: User, presence: Presence, now: datetime) -> Presence:
    """Take back a check-in (a wrong person, a wrong session). Idempotent: undoing an undone
    one changes nothing. The row stays, marked, so the list can be defended later."""
    begin_write(db)
    db.refresh(presence)
    if presence.undone_at is not None:
        return presence
    _check_undo(actor, presence, now)
    presence.undone_at = now
    presence.undone_by_id = actor.id
    audit.record_participant(
        db, actor, presence.registration, "checkin_undone", now,
        note=f"{presence.session.key} {presence.checked_in_at.isoformat()}",
    )  # fmt: skip
    db.flush()
    return presence


def undo_checkout(db: DbSession, actor: User, presence: Presence, now: datetime) -> Presence:
    """Take back a check-out (they came back; scanned at the wrong door). Idempotent."""
    begin_write(db)
    db.refresh(presence)
    if presence.checked_out_at is None or presence.undone_at is not None:
        return presence
    _check_undo(actor, presence, now)
    left = presence.checked_out_at
    presence.checked_out_at = None
    presence.checked_out_by_id = None
    presence.checked_out_via = None
    audit.record_participant(
        db, actor, presence.registration, "checkout_undone", now,
        note=f"{presence.session.key} {left.isoformat()}",
    )  # fmt: skip
    db.flush()
    return presence


def leaving_time(session: Session, now: datetime) -> datetime:
    """When "everyone left" checks people out: at the end of the session (of today's
    meeting of a group), or now if that is earlier."""
    times = door_times(session, now)
    return min(now, times[1]) if times is not None else now


def everyone_left(db: DbSession, actor: User | None, session: Session, now: datetime) -> int:
    """Check out everyone still checked in (at a group: at today's meeting), at its end (or
    now, if it ended early).

    Idempotent: a second tap finds no one still in. Returns how many were checked out.
    """
    begin_write(db)
    at = leaving_time(session, now)
    still_in = [
        p
        for p in door_presences(db, session, now)
        if p.checked_out_at is None and p.checked_in_at <= at
    ]
    for presence in still_in:
        _mark_checked_out(presence, actor, at, Via.END)
    if still_in:
        audit.record(
            db, user=actor, event=session.event, action="everyone_left",
            target=f"session {session.key}", after={"checked_out": len(still_in),
            "at": at.isoformat()}, now=now,
        )  # fmt: skip
    db.flush()
    return len(still_in)


# --- reading --------------------------------------------------------------------------------------


def expected(session: Session, registrations: Iterable[Registration]) -> list[Registration]:
    """Who is expected in a session: everyone with a place there (the rule of :func:`admission`)."""
    return [r for r in registrations if admission(session, r).verdict is Verdict.WELCOME]
