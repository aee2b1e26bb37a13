"""Reading presence: who was in a session, late arrivals and early leavers, a person's history.

Accreditation awards points only for sessions attended in full, so "in full" has one home
here (``in_full``); ``presence`` imports these names too.

A group session that meets several times (a Welzijn op recept group) records presence per
meeting: its door, lists and figures are those of one meeting (``meeting_on``,
``current_meeting``), and a presence's times are its meeting's (``Presence.starts_at``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

from symposium.models import (
    Enrolment,
    EnrolmentStatus,
    Event,
    Meeting,
    Presence,
    Registration,
    RegistrationStatus,
    Session,
    SessionKind,
)

# Arriving up to this much after the start, or leaving this much before the end, still
# counts as attending in full (a queue at the door, a train to catch); each event sets its
# own (Event.late_tolerance_minutes, early_tolerance_minutes), 10 minutes unless it says.
DEFAULT_TOLERANCE = timedelta(minutes=10)


def tolerances(event: Event) -> tuple[timedelta, timedelta]:
    """The event's margins for arriving late and for leaving early."""
    return (
        timedelta(minutes=event.late_tolerance_minutes),
        timedelta(minutes=event.early_tolerance_minutes),
    )


def late(
    start: datetime | None, checked_in_at: datetime, tolerance: timedelta = DEFAULT_TOLERANCE
) -> timedelta | None:
    """How late someone came in, when later than ``tolerance`` after ``start``; else None."""
    if start is None or checked_in_at <= start + tolerance:
        return None
    return checked_in_at - start


def early(
    end: datetime | None, checked_out_at: datetime | None, tolerance: timedelta = DEFAULT_TOLERANCE
) -> timedelta | None:
    """How early someone left, when earlier than ``tolerance`` before ``end``; else None."""
    if end is None or checked_out_at is None or checked_out_at >= end - tolerance:
        return None
    return end - checked_out_at


def late_by(presence: Presence) -> timedelta | None:
    """How late they came in (to the session, or the meeting), beyond the event's tolerance
    (see :func:`late`)."""
    return late(presence.starts_at, presence.checked_in_at, tolerances(presence.session.event)[0])


def early_by(presence: Presence) -> timedelta | None:
    """How early they left, beyond the event's tolerance (see :func:`early`)."""
    return early(presence.ends_at, presence.checked_out_at, tolerances(presence.session.event)[1])


def in_full(presence: Presence) -> bool:
    """Present from the start to the end (within the margins), as accreditation counts it.

    Someone never checked out counts as staying to the end: "everyone left" closes a room.
    """
    return presence.is_live and late_by(presence) is None and early_by(presence) is None


# --- the meetings of a group ----------------------------------------------------------------


def meeting_on(session: Session, at: datetime) -> Meeting | None:
    """The meeting of ``session`` held on the local day of ``at`` (of two that day, the one
    under way, else the one nearest in time); None on a day it does not meet, and for a
    session without meetings."""
    zone = session.event.tz
    day = at.astimezone(zone).date()
    that_day = [
        m
        for m in session.meetings
        if m.starts_at.astimezone(zone).date() <= day <= m.ends_at.astimezone(zone).date()
    ]

    def distance(meeting: Meeting) -> timedelta:
        if meeting.starts_at <= at <= meeting.ends_at:
            return timedelta(0)
        return min(abs(meeting.starts_at - at), abs(meeting.ends_at - at))

    return min(that_day, key=distance) if that_day else None


def current_meeting(session: Session, now: datetime) -> Meeting | None:
    """The meeting the organiser's lists show first: today's, else the last one begun, else
    the first; None for a session without meetings."""
    if not session.meetings:
        return None
    today = meeting_on(session, now)
    if today is not None:
        return today
    begun = [m for m in session.meetings if m.starts_at <= now]
    return begun[-1] if begun else session.meetings[0]


def chosen_meeting(session: Session, meeting_id: int | None, now: datetime) -> Meeting | None:
    """The meeting a page asks for (``?meeting=``) when it is this session's, else the
    current one (:func:`current_meeting`)."""
    found = next((m for m in session.meetings if m.id == meeting_id), None)
    return found or current_meeting(session, now)


def _of(query: Any, meeting: Meeting | None) -> Any:
    """A query of presences narrowed to one meeting (unchanged without one)."""
    return query if meeting is None else query.where(Presence.meeting_id == meeting.id)


def session_presences(
    db: DbSession, session: Session, meeting: Meeting | None = None
) -> list[Presence]:
    """The live presences of a session (of one of its meetings), with who recorded them."""
    query = select(Presence).where(Presence.session_id == session.id, Presence.undone_at.is_(None))
    return list(
        db.scalars(
            _of(query, meeting)
            .options(
                selectinload(Presence.registration),
                selectinload(Presence.checked_in_by),
                selectinload(Presence.checked_out_by),
            )
            .order_by(Presence.checked_in_at, Presence.id)
        )
    )


@dataclass(frozen=True)
class Counts:
    """A session's door figures: checked in (ever, not undone), checked out, still in."""

    checked_in: int
    checked_out: int

    @property
    def still_in(self) -> int:
        return self.checked_in - self.checked_out


def session_counts(db: DbSession, session: Session, meeting: Meeting | None = None) -> Counts:
    """The door figures of a session (of one of its meetings), in one query (the scanner's
    answers carry them)."""
    query = select(func.count(), func.count(Presence.checked_out_at)).where(
        Presence.session_id == session.id, Presence.undone_at.is_(None)
    )
    checked_in, checked_out = db.execute(_of(query, meeting)).one()
    return Counts(checked_in, checked_out)


def registration_presences(db: DbSession, registration: Registration) -> list[Presence]:
    """A person's presence history, undone ones included (the participant page shows both)."""
    return list(
        db.scalars(
            select(Presence)
            .where(Presence.registration_id == registration.id)
            .options(selectinload(Presence.session), selectinload(Presence.meeting))
            .order_by(Presence.checked_in_at, Presence.id)
        )
    )


def event_presences(db: DbSession, event: Event) -> dict[int, list[Presence]]:
    """Every live presence of an event per registration, in time order (one query)."""
    found: dict[int, list[Presence]] = {}
    rows = db.scalars(
        select(Presence)
        .join(Session, Session.id == Presence.session_id)
        .where(Session.event_id == event.id, Presence.undone_at.is_(None))
        .order_by(Presence.checked_in_at, Presence.id)
    )
    for presence in rows:
        found.setdefault(presence.registration_id, []).append(presence)
    return found


def presences_by_registration(
    db: DbSession, registration_ids: Iterable[int]
) -> dict[int, list[Presence]]:
    """Live presences per registration (exports, certificates), in one query."""
    ids = list(registration_ids)
    found: dict[int, list[Presence]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = db.scalars(
        select(Presence)
        .where(Presence.registration_id.in_(ids), Presence.undone_at.is_(None))
        .order_by(Presence.checked_in_at)
    )
    for presence in rows:
        found[presence.registration_id].append(presence)
    return found


# --- the event's door figures (the dashboard) -----------------------------------------------


@dataclass(frozen=True)
class SessionAttendance:
    """One session's door figures for the dashboard."""

    session: Session
    expected: int  # a confirmed place (a plenary: every active registration)
    checked_in: int
    checked_out: int
    late: int
    early: int
    admitted_anyway: int  # let in without a place here
    started: bool
    # A group that meets several times: the figures are those of this meeting
    # (:func:`current_meeting`).
    meeting: Meeting | None = None

    @property
    def still_in(self) -> int:
        return self.checked_in - self.checked_out

    @property
    def no_shows(self) -> int | None:
        """Expected and not (yet) checked in, once the door is open (:func:`door_opened`).

        Counted as expected minus the check-ins of people with a place here (everyone but
        those admitted anyway), so someone who moved in after checking in counts once."""
        if not self.started:
            return None
        return max(0, self.expected - (self.checked_in - self.admitted_anyway))


def door_opened(
    session: Session, now: datetime, checked_in: int, meeting: Meeting | None = None
) -> bool:
    """Whether absence counts yet: the session (the meeting) has started, or its door has
    let people in."""
    start = meeting.starts_at if meeting is not None else session.effective_starts_at
    return checked_in > 0 or (start is not None and now >= start)


def event_attendance(db: DbSession, event: Event, now: datetime) -> list[SessionAttendance]:
    """Every session's door figures (a group's: of its current meeting), in programme order,
    from five queries."""
    sessions = db.scalars(
        select(Session)
        .where(Session.event_id == event.id)
        .options(selectinload(Session.meetings), selectinload(Session.round))
        .order_by(Session.position, Session.id)
    ).all()
    confirmed = dict(
        db.execute(
            select(Enrolment.session_id, func.count())
            .join(Registration, Registration.id == Enrolment.registration_id)
            .where(
                Registration.event_id == event.id,
                Registration.status == RegistrationStatus.ACTIVE,
                Enrolment.status == EnrolmentStatus.CONFIRMED,
            )
            .group_by(Enrolment.session_id)
        ).all()
    )
    active = db.scalar(
        select(func.count())
        .select_from(Registration)
        .where(Registration.event_id == event.id, Registration.status == RegistrationStatus.ACTIVE)
    )
    rows = db.execute(
        select(
            Presence.session_id, Presence.meeting_id, Presence.checked_in_at,
            Presence.checked_out_at, Presence.admitted_anyway,
        )
        .join(Session, Session.id == Presence.session_id)
        .where(Session.event_id == event.id, Presence.undone_at.is_(None))
    ).all()  # fmt: skip
    too_late, too_early = tolerances(event)
    by_session: dict[int, list] = {s.id: [] for s in sessions}
    for row in rows:
        by_session[row.session_id].append(row)
    figures = []
    for session in sessions:
        here = by_session[session.id]
        start, end = session.effective_starts_at, session.effective_ends_at
        meeting = current_meeting(session, now)
        if meeting is not None:
            here = [r for r in here if r.meeting_id == meeting.id]
            start, end = meeting.starts_at, meeting.ends_at
        if session.is_cancelled:
            expected = 0
        elif session.kind is SessionKind.PLENARY:
            expected = active or 0
        else:
            expected = confirmed.get(session.id, 0)
        figures.append(
            SessionAttendance(
                session=session,
                expected=expected,
                checked_in=len(here),
                checked_out=sum(1 for r in here if r.checked_out_at is not None),
                late=sum(1 for r in here if late(start, r.checked_in_at, too_late)),
                early=sum(1 for r in here if early(end, r.checked_out_at, too_early)),
                admitted_anyway=sum(1 for r in here if r.admitted_anyway),
                started=door_opened(session, now, len(here), meeting),
                meeting=meeting,
            )
        )
    return figures


def admitted_anyway(db: DbSession, event: Event) -> list[Presence]:
    """Everyone let into a session without a place there, for the organiser to look at."""
    return list(
        db.scalars(
            select(Presence)
            .join(Session, Session.id == Presence.session_id)
            .where(
                Session.event_id == event.id,
                Presence.admitted_anyway.is_(True),
                Presence.undone_at.is_(None),
            )
            .options(
                selectinload(Presence.registration),
                selectinload(Presence.session),
                selectinload(Presence.checked_in_by),
            )
            .order_by(Presence.checked_in_at, Presence.id)
        )
    )
