"""Which door is open when: the sessions of the day, the one running now (a group's: the
meeting held today), and the figures the door shows.

``presence`` imports these names, so callers need only that module.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session as DbSession

from symposium.models import Event, Presence, Session
from symposium.services.checkin import attendance
from symposium.services.checkin.attendance import meeting_on

# The door page proposes a session from this long before it starts until it ends.
DOORS_OPEN = timedelta(minutes=45)


def door_sessions(event: Event) -> list[Session]:
    """The sessions one can check in to, in the order of the day."""
    sessions = [s for s in event.sessions if s.effective_starts_at and s.effective_ends_at]
    return sorted(sessions, key=lambda s: (s.effective_starts_at, s.position, s.id))


def session_day(session: Session) -> tuple[datetime, datetime]:
    """The start and end (UTC) of the local day on which the session takes place."""
    start = session.effective_starts_at
    assert start is not None
    zone = session.event.tz
    day = start.astimezone(zone).date()
    begins = datetime.combine(day, time(0), zone)
    ends_day = session.effective_ends_at.astimezone(zone).date()  # type: ignore[union-attr]
    ends = datetime.combine(ends_day, time(0), zone) + timedelta(days=1)
    return begins.astimezone(start.tzinfo), ends.astimezone(start.tzinfo)


def door_times(session: Session, now: datetime) -> tuple[datetime, datetime] | None:
    """When the door of ``session`` is for: its times, or those of the group's meeting held
    on ``now``'s day (None when it meets on another day, or has no time)."""
    if session.meetings:
        meeting = meeting_on(session, now)
        return (meeting.starts_at, meeting.ends_at) if meeting is not None else None
    start, end = session.effective_starts_at, session.effective_ends_at
    return (start, end) if start is not None and end is not None else None


def running_sessions(event: Event, now: datetime) -> list[Session]:
    """Sessions whose doors are open now (from ``DOORS_OPEN`` before the start, or the
    meeting's, to the end), the one that started last first: the door page proposes the
    first of them."""
    running = [
        (times[0], s)
        for s in door_sessions(event)
        if not s.is_cancelled
        and (times := door_times(s, now)) is not None
        and times[0] - DOORS_OPEN <= now < times[1]
    ]
    return [s for _start, s in sorted(running, key=lambda r: r[0], reverse=True)]


def propose_session(event: Event, now: datetime, room: str = "") -> Session | None:
    """The session the door page opens with: the one running now, in this room if given."""
    running = running_sessions(event, now)
    if room:
        in_room = [s for s in running if (s.room or "").casefold() == room.casefold()]
        running = in_room or running
    return running[0] if running else None


def door_presences(db: DbSession, session: Session, now: datetime) -> list[Presence]:
    """The live presences the door shows: the session's, or those of the group's meeting
    today (none on a day it does not meet)."""
    meeting = meeting_on(session, now)
    if session.meetings and meeting is None:
        return []
    return attendance.session_presences(db, session, meeting)


def door_counts(db: DbSession, session: Session, now: datetime) -> attendance.Counts:
    """The figures at the door: the session's, or those of the group's meeting today."""
    meeting = meeting_on(session, now)
    if session.meetings and meeting is None:
        return attendance.Counts(0, 0)
    return attendance.session_counts(db, session, meeting)
