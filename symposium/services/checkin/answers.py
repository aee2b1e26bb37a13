"""What the door sees after a scan: the verdict, its colour, the reason of a refusal.

Kept apart from the rules (``presence``) so the door page, the scanner's JSON and the API
describe an answer in one way; ``presence`` imports these names, so ``presence.Verdict`` etc.
work as well.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from symposium.models import Presence, Registration, Session


class Verdict(enum.StrEnum):
    WELCOME = "welcome"  # green: checked in now
    GOODBYE = "goodbye"  # green: checked out now
    OTHER_SESSION = "other_session"  # orange: their place is elsewhere this round
    REFUSED = "refused"  # red: see the reason
    ALREADY = "already"  # grey: checked in before (maybe out too)


COLOURS = {
    Verdict.WELCOME: "green",
    Verdict.GOODBYE: "green",
    Verdict.OTHER_SESSION: "orange",
    Verdict.REFUSED: "red",
    Verdict.ALREADY: "grey",
}


class Reason(enum.StrEnum):
    """Why a scan was refused (stable codes: the API returns them)."""

    UNKNOWN_CODE = "unknown_code"
    OTHER_EVENT = "other_event"
    REGISTRATION_CANCELLED = "registration_cancelled"
    ENROLMENT_CANCELLED = "enrolment_cancelled"
    WAITLISTED = "waitlisted"
    NOT_REGISTERED = "not_registered"
    SESSION_CANCELLED = "session_cancelled"
    NOT_CHECKED_IN = "not_checked_in"
    TIME_IN_FUTURE = "time_in_future"
    TIME_NOT_SESSION_DAY = "time_not_session_day"
    NO_MEETING_THAT_DAY = "no_meeting_that_day"
    OUT_BEFORE_IN = "out_before_in"


REASON_TEXT = {
    Reason.UNKNOWN_CODE: _l("Unknown code: this is not a ticket of this event."),
    Reason.OTHER_EVENT: _l("This ticket is for another event: %(detail)s."),
    Reason.REGISTRATION_CANCELLED: _l("The registration was cancelled."),
    Reason.ENROLMENT_CANCELLED: _l("Their place in this session was cancelled."),
    Reason.WAITLISTED: _l("On the waiting list for this session (number %(detail)s)."),
    Reason.NOT_REGISTERED: _l("Not registered for this session."),
    Reason.SESSION_CANCELLED: _l("This session is cancelled."),
    Reason.NOT_CHECKED_IN: _l("Not checked in for this session, so they cannot check out."),
    Reason.TIME_IN_FUTURE: _l("The scan's time lies in the future; check the phone's clock."),
    Reason.TIME_NOT_SESSION_DAY: _l("The scan was made on %(detail)s, not on the session's day."),
    Reason.NO_MEETING_THAT_DAY: _l("The group has no meeting on %(detail)s."),
    Reason.OUT_BEFORE_IN: _l("The check-out time lies before the check-in time."),
}


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"


@dataclass(frozen=True)
class Answer:
    """What the door sees after a scan."""

    verdict: Verdict
    session: Session
    registration: Registration | None = None
    presence: Presence | None = None
    reason: Reason | None = None
    # OTHER_SESSION: the session of their place; REFUSED: the reason's detail.
    other: Session | None = None
    detail: str = ""
    # The client id was seen before: this is the first answer, sent again; nothing new.
    replayed: bool = False

    @property
    def colour(self) -> str:
        return COLOURS[self.verdict]

    @property
    def recorded(self) -> bool:
        """Whether this answer is a presence (a check-in or check-out) on record."""
        return self.verdict in (Verdict.WELCOME, Verdict.GOODBYE)

    @property
    def reason_text(self) -> str:
        if self.reason is None:
            return ""
        return str(REASON_TEXT[self.reason] % {"detail": self.detail})
