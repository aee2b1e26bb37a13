"""Points per person per register, from recorded presence: the one home of the points rules.

- A session counts when attended in full: checked in no later than its start plus the
  event's tolerance, and not checked out before its end minus the tolerance
  (``checkin.attendance``). No check-in, no points: the presence rows are the truth, not
  the places booked.
- A register accrediting *per session* adds the points of the accredited sessions attended
  in full; one accrediting *the whole event* gives all of them, or none when any accredited
  session of the person's programme (every plenary, their session in each round) was missed.
- The register's daily cap (per calendar day of the event) and its rounding (always down:
  never more than attended) come last; an organiser's override, with its written reason,
  replaces the result.

Every result carries its reasons, so an organiser can defend each line on a list. The whole
event is read in five queries and computed in memory: 5,000 attendees take well under a
second (bench/documents.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from babel.numbers import format_decimal as babel_decimal
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

from symposium.models import (
    Accreditation,
    Enrolment,
    EnrolmentStatus,
    Event,
    PointsOverride,
    Presence,
    Profession,
    Registration,
    RegistrationStatus,
    Rounding,
    Scope,
    Session,
    SessionKind,
)
from symposium.services.accreditation import numbers
from symposium.services.checkin import attendance

ZERO = Decimal("0")
POINTS_FORMAT = "#,##0.##"
STEPS = {Rounding.HALF: Decimal("0.5"), Rounding.WHOLE: Decimal("1")}


@dataclass(frozen=True)
class Line:
    """One session of a person's programme as one register counts it."""

    session_id: int
    title: str
    round_id: int | None
    round_title: str
    starts_at: datetime | None
    ends_at: datetime | None
    hours: Decimal | None
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    in_full: bool
    accredited: Decimal | None  # the register's points for the session; None: not accredited
    points: Decimal  # what attending earned, before the cap and rounding
    reason: Any = None  # why it earned less than accredited (a lazy message), else None
    double: bool = False  # another session of its round counts instead


@dataclass
class Result:
    """One person's points with one register."""

    registration_id: int
    accreditation: Accreditation
    number: str | None  # the number the register takes attendance by, if given
    lines: list[Line]
    computed: Decimal
    points: Decimal
    reasons: list[Any] = field(default_factory=list)
    override: PointsOverride | None = None

    @property
    def earned(self) -> bool:
        return self.points > 0

    @property
    def reduced(self) -> bool:
        """Less than the accredited sessions of their programme were worth (or overridden)."""
        return bool(self.reasons)

    @property
    def attended(self) -> list[Line]:
        return [line for line in self.lines if line.checked_in_at is not None]


@dataclass
class EventPoints:
    """Every result of an event: per registration, the results of its registers."""

    event: Event
    accreditations: list[Accreditation]
    results: dict[int, list[Result]]


def accreditations(db: DbSession, event: Event) -> list[Accreditation]:
    """The event's accreditations with their register and points per session, in order."""
    return list(
        db.scalars(
            select(Accreditation)
            .where(Accreditation.event_id == event.id)
            .options(selectinload(Accreditation.register), selectinload(Accreditation.sessions))
            .order_by(Accreditation.position, Accreditation.id)
        )
    )


def session_points(db: DbSession, event: Event) -> dict[int, list[tuple[str, Decimal]]]:
    """Per session, the registers that accredited it and their points, in the event's order
    of registers: what the programme shows ("NIP 1,5 · Registerplein 1,5 · GAIA 1")."""
    shown: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    for accreditation in accreditations(db, event):
        for row in sorted(accreditation.sessions, key=lambda r: r.session_id):
            shown[row.session_id].append((accreditation.register.short_name, row.points))
    return dict(shown)


def event_points(
    db: DbSession,
    event: Event,
    registration_ids: Iterable[int] | None = None,
    day: date | None = None,
) -> EventPoints:
    """Compute the points of every active registration of ``event`` (or of those named);
    with ``day``, the points of that activity date's sessions (a register's list per date;
    a whole-event register's all-or-nothing is still decided over the whole event)."""
    found = accreditations(db, event)
    only = set(registration_ids) if registration_ids is not None else None
    sessions = {
        s.id: s
        for s in db.scalars(
            select(Session)
            .where(Session.event_id == event.id)
            .options(selectinload(Session.round), selectinload(Session.meetings))
        )
    }
    people = select(Registration.id, Registration.profession_id, Registration.identifiers).where(
        Registration.event_id == event.id, Registration.status == RegistrationStatus.ACTIVE
    )
    places = select(Enrolment.registration_id, Enrolment.session_id).where(
        Enrolment.session_id.in_(list(sessions) or [0]),
        Enrolment.status == EnrolmentStatus.CONFIRMED,
    )
    presences = select(
        Presence.registration_id,
        Presence.session_id,
        Presence.meeting_id,
        Presence.checked_in_at,
        Presence.checked_out_at,
    ).where(Presence.session_id.in_(list(sessions) or [0]), Presence.undone_at.is_(None))
    if only is not None:
        ids = list(only) or [0]
        people = people.where(Registration.id.in_(ids))
        places = places.where(Enrolment.registration_id.in_(ids))
        presences = presences.where(Presence.registration_id.in_(ids))
    booked: dict[int, set[int]] = defaultdict(set)
    for registration_id, session_id in db.execute(places):
        booked[registration_id].add(session_id)
    late, early = attendance.tolerances(event)
    seen: dict[int, dict[int, Seen]] = defaultdict(dict)
    meetings: dict[tuple[int, int], dict[int, tuple[datetime, datetime | None]]] = defaultdict(dict)
    for registration_id, session_id, meeting_id, checked_in, checked_out in db.execute(presences):
        if meeting_id is not None:
            meetings[registration_id, session_id][meeting_id] = (checked_in, checked_out)
        else:
            held = sessions[session_id]
            seen[registration_id][session_id] = (
                checked_in, checked_out, held.effective_starts_at, held.effective_ends_at,
            )  # fmt: skip
    for (registration_id, session_id), attended in meetings.items():
        whole = _group_presence(sessions[session_id], attended, late, early)
        if whole is not None:
            seen[registration_id][session_id] = whole
    overrides: dict[tuple[int, int], PointsOverride] = {}
    if found:
        rows = select(PointsOverride).where(
            PointsOverride.accreditation_id.in_([a.id for a in found])
        )
        if only is not None:
            rows = rows.where(PointsOverride.registration_id.in_(list(only) or [0]))
        overrides = {(o.registration_id, o.accreditation_id): o for o in db.scalars(rows)}
    by_profession = _registers_by_profession(db, found)
    plenaries = [
        s.id for s in sessions.values() if s.kind is SessionKind.PLENARY and not s.is_cancelled
    ]
    rules = _Rules(event, sessions, late, early, day)
    results: dict[int, list[Result]] = {}
    for registration_id, profession_id, identifiers in db.execute(people):
        mine = by_profession.get(profession_id, [])
        if not mine:
            results[registration_id] = []
            continue
        programme = set(plenaries) | booked.get(registration_id, set())
        present = seen.get(registration_id, {})
        programme |= set(present)
        results[registration_id] = [
            rules.result(
                registration_id, a, programme, present, identifiers,
                overrides.get((registration_id, a.id)),
            )
            for a in mine
        ]  # fmt: skip
    return EventPoints(event, found, results)


def registration_points(db: DbSession, registration: Registration) -> list[Result]:
    """One person's results, one per register of their profession that accredited the event."""
    return event_points(db, registration.event, [registration.id]).results.get(registration.id, [])


def _registers_by_profession(
    db: DbSession, found: list[Accreditation]
) -> dict[int, list[Accreditation]]:
    """Profession id -> the event's accreditations by that profession's registers."""
    if not found:
        return {}
    by_register = {a.register_id: a for a in found}
    mapping: dict[int, list[Accreditation]] = {}
    for profession in db.scalars(select(Profession).options(selectinload(Profession.registers))):
        mapping[profession.id] = [
            by_register[r.id] for r in profession.registers if r.id in by_register
        ]
        mapping[profession.id].sort(key=lambda a: (a.position, a.id))
    return mapping


# A presence as the points rules read it: check-in, check-out, and the start and end of what
# was attended (the session's, or a group meeting's).
Seen = tuple[datetime, datetime | None, datetime | None, datetime | None]


def _group_presence(
    session: Session,
    attended: dict[int, tuple[datetime, datetime | None]],
    late: timedelta,
    early: timedelta,
) -> Seen | None:
    """A group's presences per meeting as one: its first meeting missed (None: no check-in)
    or not attended in full (that meeting's times, so the reason names it), else present
    from the group's start to its end."""
    for meeting in session.meetings:
        found = attended.get(meeting.id)
        if found is None:
            return None
        checked_in, checked_out = found
        if attendance.late(meeting.starts_at, checked_in, late) or attendance.early(
            meeting.ends_at, checked_out, early
        ):
            return (checked_in, checked_out, meeting.starts_at, meeting.ends_at)
    start = session.effective_starts_at
    assert start is not None  # a group with meetings has times
    return (start, None, start, session.effective_ends_at)


@dataclass
class _Rules:
    event: Event
    sessions: dict[int, Session]
    late: timedelta
    early: timedelta
    day: date | None = None

    def result(
        self,
        registration_id: int,
        accreditation: Accreditation,
        programme: set[int],
        present: dict[int, Seen],
        identifiers: dict[str, str] | None,
        override: PointsOverride | None,
    ) -> Result:
        points_of = {row.session_id: row.points for row in accreditation.sessions}
        ordered = sorted(
            (s for i in programme if (s := self.sessions.get(i)) and self._expected(s, present)),
            key=lambda s: (s.effective_starts_at or self.event.starts_at, s.position),
        )
        lines = _once_per_round(
            [self._line(s, points_of.get(s.id), present.get(s.id)) for s in ordered]
        )
        accredited = [line for line in lines if line.accredited is not None]
        # What counts: the whole event, or one activity date of it (a register's list per
        # date); whether a whole-event register gives anything is decided over the event.
        counted = [line for line in accredited if self._counts(line)]
        whole = accreditation.scope is Scope.EVENT
        reasons = [
            line.reason for line in (accredited if whole else counted) if line.reason is not None
        ]
        if whole:
            rounds = self._rounds_missed(accreditation, {line.session_id for line in lines})
            reasons += rounds
            # A session missed or not attended in full; a double in a round is no miss.
            if rounds or any(not line.in_full and not line.double for line in accredited):
                counted = []
                reasons.append(
                    _l("%(register)s accredits the whole event only: no points.",
                       register=accreditation.register.short_name)
                )  # fmt: skip
        per_day: dict[date, Decimal] = defaultdict(lambda: ZERO)
        for line in counted:
            per_day[self._day(line)] += line.points
        total = sum(per_day.values(), ZERO)
        if accreditation.daily_cap is not None:
            capped = {d: min(p, accreditation.daily_cap) for d, p in per_day.items()}
            if capped != dict(per_day):
                reasons.append(
                    _l("Cap of %(cap)s points per day reached.",
                       cap=shown_points(accreditation.daily_cap))
                )  # fmt: skip
            total = sum(capped.values(), ZERO)
        step = STEPS.get(accreditation.rounding)
        if step is not None:
            rounded = (total / step).to_integral_value(rounding=ROUND_FLOOR) * step
            if rounded != total:
                reasons.append(
                    _l("Rounded down from %(points)s to %(step)s points.",
                       points=shown_points(total),
                       step=_l("half") if step < 1 else _l("whole"))
                )  # fmt: skip
            total = rounded
        final = total
        if override is not None and (self.day is None or not override.points):
            final = override.points  # on a date's list too when it is none at all
            reasons.append(_l("Set by the organiser: %(reason)s", reason=override.reason))
        elif override is not None:  # an override is for the event, not one of its dates
            reasons.append(
                _l("The organiser set %(points)s points for the whole event (%(reason)s); "
                   "this date's list has the points of the presence.",
                   points=shown_points(override.points), reason=override.reason)
            )  # fmt: skip
        # Lines the rules did not count (another date, a whole-event refusal) earn nothing.
        kept = {line.session_id for line in counted}
        lines = [
            line if line.session_id in kept or not line.points else replace(line, points=ZERO)
            for line in lines
        ]
        return Result(
            registration_id,
            accreditation,
            numbers.pick(identifiers, accreditation.register),
            lines,
            total,
            final,
            reasons,
            override,
        )

    def _expected(self, session: Session, present: dict[int, Seen]) -> bool:
        """Whether a session of the person's programme counts against them: attended, or
        booked and not replaced by another session of its round they were in (admitted
        anyway), and not cancelled."""
        if session.id in present:
            return True
        if session.is_cancelled:
            return False
        return session.round_id is None or not any(
            (other := self.sessions.get(i)) is not None and other.round_id == session.round_id
            for i in present
        )

    def _line(
        self,
        session: Session,
        accredited: Decimal | None,
        presence: Seen | None,
    ) -> Line:
        start, end = session.effective_starts_at, session.effective_ends_at
        checked_in, checked_out, was_on, was_off = presence or (None, None, start, end)
        round_title = session.round.title if session.round is not None else ""
        reason = None
        in_full = False
        if presence is None:
            reason = _l("No check-in for %(session)s.", session=round_title or session.title)
        else:
            assert checked_in is not None
            late = attendance.late(was_on, checked_in, self.late)
            early = attendance.early(was_off, checked_out, self.early)
            in_full = late is None and early is None
            if late is not None:
                reason = _l(
                    "%(session)s: arrived %(time)s, %(minutes)d minutes late.",
                    session=session.title, time=self._clock(checked_in),
                    minutes=int(late.total_seconds() // 60),
                )  # fmt: skip
            elif early is not None and checked_out is not None:
                reason = _l(
                    "%(session)s: left %(time)s, %(minutes)d minutes early.",
                    session=session.title, time=self._clock(checked_out),
                    minutes=int(early.total_seconds() // 60),
                )  # fmt: skip
        earned = accredited if (accredited is not None and in_full) else ZERO
        return Line(
            session.id, session.title, session.round_id, round_title, start, end, session.hours,
            checked_in, checked_out, in_full, accredited, earned, reason if accredited else None,
        )  # fmt: skip

    def _rounds_missed(self, accreditation: Accreditation, programme: set[int]) -> list[Any]:
        """For a whole-event register: the rounds with accredited sessions in which the
        person had no accredited session in their programme (``programme``: the sessions of
        their lines: booked and not replaced, or attended)."""
        accredited = {row.session_id for row in accreditation.sessions}
        rounds: dict[int, str] = {}
        for session_id in accredited:
            session = self.sessions.get(session_id)
            if session is not None and session.round is not None and not session.is_cancelled:
                rounds[session.round.id] = session.round.title
        taken = {
            self.sessions[i].round_id
            for i in programme
            if i in accredited and i in self.sessions and self.sessions[i].round_id
        }
        return [
            _l("No accredited session in %(round)s.", round=title)
            for round_id, title in sorted(rounds.items())
            if round_id not in taken
        ]

    def _counts(self, line: Line) -> bool:
        """On the list's date (every line without one)."""
        return self.day is None or self._day(line) == self.day

    def _day(self, line: Line) -> date:
        return (line.starts_at or self.event.starts_at).astimezone(self.event.tz).date()

    def _clock(self, moment: datetime) -> str:
        return moment.astimezone(self.event.tz).strftime("%H:%M")


def _once_per_round(lines: list[Line]) -> list[Line]:
    """One session per round counts: someone checked in at two sessions of a round (moved
    rooms, or scanned at the wrong door) earns the points of the best one attended in full."""
    best: dict[int, Line] = {}
    for line in lines:
        if line.round_id is None or line.accredited is None or not line.in_full:
            continue
        kept = best.get(line.round_id)
        if kept is None or line.points > kept.points:
            best[line.round_id] = line
    found = []
    for line in lines:
        kept = best.get(line.round_id) if line.round_id is not None else None
        if kept is not None and line is not kept and line.accredited is not None:
            line = replace(
                line, points=ZERO, double=True,
                reason=_l("%(session)s: at the same time as %(other)s, which counts instead.",
                          session=line.title, other=kept.title),
            )  # fmt: skip
        found.append(line)
    return found


def shown_points(value: Decimal | int, locale: str | None = None) -> str:
    """Points as people write them, in the current language or ``locale``: 1,5 or 6 (not
    1,50 or 6,00). The lists, the pages, the mail and the reasons all write them so."""
    if locale is None:
        return format_decimal(value, format=POINTS_FORMAT)
    return babel_decimal(value, format=POINTS_FORMAT, locale=locale)


def total_hours(lines: Iterable[Line]) -> Decimal:
    """Contact hours of the accredited sessions attended in full (and counted)."""
    return sum(
        (line.hours or ZERO for line in lines if line.accredited is not None and line.points),
        ZERO,
    )
