"""Calendar files: invitations by mail (iTIP, RFC 5546) and downloadable feeds (RFC 5545).

Pure functions over model objects that return the bytes of one VCALENDAR; nothing is written
to the database, so the mail service and HTTP views can call them inside any transaction.

Times are written as local wall time with ``TZID=<event zone>`` plus a VTIMEZONE built from
yearly rules, because that is what every client (Outlook included) reads the same way: a
session at 10:00 in Amsterdam stays 10:00 on the registrant's calendar across DST changes.
"""

from __future__ import annotations

import calendar as _calendar
import enum
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, gettext
from icalendar import Calendar, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress
from icalendar import Event as VEvent

from symposium.models import (
    EnrolmentStatus,
    Event,
    Meeting,
    Registration,
    Session,
    SessionKind,
)
from symposium.services.programme import recurrence

PRODID = "-//symposium//Symposium registrations//NL"

BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class Method(enum.StrEnum):
    """The iTIP method of a calendar: what the receiving client should do with it."""

    REQUEST = "REQUEST"  # add or update the registrant's copy (invitation mail)
    CANCEL = "CANCEL"  # remove it (cancellation mail)
    PUBLISH = "PUBLISH"  # a plain download or feed, not a scheduling message


# --------------------------------------------------------------------------- VTIMEZONE


@dataclass(frozen=True)
class _Transition:
    at: datetime  # UTC instant of the change
    offset_from: timedelta
    offset_to: timedelta
    name: str  # TZNAME after the change
    is_dst: bool

    @property
    def wall(self) -> datetime:
        """Local onset as a VTIMEZONE writes it: the old offset's wall clock, naive."""
        return (self.at + self.offset_from).replace(tzinfo=None)


def _offset(zone: ZoneInfo, ts: int) -> timedelta:
    return datetime.fromtimestamp(ts, zone).utcoffset() or timedelta()


@lru_cache(maxsize=64)
def _transitions(zone_name: str, year: int) -> tuple[_Transition, ...]:
    """Every offset change whose local onset falls in ``year``, found by bisection."""
    zone = ZoneInfo(zone_name)
    day = 86400
    start = int(datetime(year, 1, 1, tzinfo=UTC).timestamp()) - day
    stop = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp()) + day
    found = []
    for lo in range(start, stop, day):
        hi = lo + day
        if _offset(zone, lo) == _offset(zone, hi):
            continue
        before = _offset(zone, lo)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _offset(zone, mid) == before:
                lo = mid
            else:
                hi = mid
        local = datetime.fromtimestamp(hi, zone)
        transition = _Transition(
            at=datetime.fromtimestamp(hi, UTC),
            offset_from=before,
            offset_to=_offset(zone, hi),
            name=local.tzname() or "",
            is_dst=bool(local.dst()),
        )
        if transition.wall.year == year:
            found.append(transition)
    return tuple(found)


def _rule_candidates(day: date) -> list[dict[str, object]]:
    """Ways to say "this day every year", most usual first.

    Last or nth weekday of the month (EU, USA), then "weekday on or after the Nth" (Chile,
    Israel) as BYDAY with a week of BYMONTHDAY, then the fixed day of the month.
    """
    weekday = BYDAY[day.weekday()]
    last_day = _calendar.monthrange(day.year, day.month)[1]
    candidates: list[dict[str, object]] = []
    if day.day + 7 > last_day:
        candidates.append({"BYMONTH": day.month, "BYDAY": f"-1{weekday}"})
    if day.day <= 28:
        candidates.append({"BYMONTH": day.month, "BYDAY": f"{(day.day - 1) // 7 + 1}{weekday}"})
    for first in range(max(1, day.day - 6), min(day.day, last_day - 6) + 1):
        week = list(range(first, first + 7))
        candidates.append({"BYMONTH": day.month, "BYDAY": weekday, "BYMONTHDAY": week})
    candidates.append({"BYMONTH": day.month, "BYMONTHDAY": [day.day]})
    return candidates


def _rule_date(rule: dict[str, object], year: int) -> date:
    """The day ``rule`` gives in ``year``."""
    month = int(rule["BYMONTH"])  # type: ignore[call-overload]
    days = [date(year, month, d) for d in range(1, _calendar.monthrange(year, month)[1] + 1)]
    if "BYMONTHDAY" in rule:
        days = [d for d in days if d.day in rule["BYMONTHDAY"]]  # type: ignore[operator]
    if "BYDAY" not in rule:
        return days[0]
    byday = str(rule["BYDAY"])
    weekday = BYDAY.index(byday[-2:])
    days = [d for d in days if d.weekday() == weekday]
    nth = int(byday[:-2] or 1)
    return days[nth - 1] if nth > 0 else days[nth]


def _yearly_rule(zone_name: str, transition: _Transition) -> dict[str, object] | None:
    """The rule that also gives the surrounding years' matching change, or None if one-off."""
    year = transition.wall.year
    others = [
        t.wall.date()
        for y in range(year - 2, year + 4)
        if y != year
        for t in _transitions(zone_name, y)
        if (t.offset_from, t.offset_to) == (transition.offset_from, transition.offset_to)
    ]
    if not others:
        return None
    candidates = _rule_candidates(transition.wall.date())
    for rule in candidates:
        if all(_rule_date(rule, d.year) == d for d in others):
            return rule
    return candidates[0]


def vtimezone(zone_name: str, year: int) -> Timezone:
    """A VTIMEZONE for ``zone_name`` valid from the start of ``year`` onwards.

    Each offset change of ``year`` becomes a STANDARD or DAYLIGHT observance with a yearly
    RRULE ("last Sunday of October" and the like, checked against the years around it), with
    its DTSTART a year earlier so that the start of ``year`` is covered too. RDATE lists,
    which icalendar's own ``Timezone.from_tzid`` writes, are avoided because Outlook misreads
    them. A zone without changes gets one STANDARD; a one-off change (a zone moving its
    standard offset) gets an observance without RRULE. Zones whose dates follow no weekday
    rule (Morocco's Ramadan changes) are only right for ``year`` itself.
    """
    zone = ZoneInfo(zone_name)
    tz = Timezone()
    tz.add("TZID", zone_name)
    onset = datetime(year - 1, 1, 1)
    transitions = _transitions(zone_name, year)
    rules = [_yearly_rule(zone_name, t) for t in transitions]
    if not transitions or None in rules:
        # The offset in force at the start of the year, for what no rule covers.
        first = datetime(year, 1, 1, tzinfo=zone)
        offset = first.utcoffset() or timedelta()
        observance = TimezoneDaylight() if first.dst() else TimezoneStandard()
        observance.add("DTSTART", onset)
        observance.add("TZOFFSETFROM", offset)
        observance.add("TZOFFSETTO", offset)
        observance.add("TZNAME", first.tzname() or zone_name)
        tz.add_component(observance)
    for transition, rule in zip(transitions, rules, strict=True):
        observance = TimezoneDaylight() if transition.is_dst else TimezoneStandard()
        if rule is None:
            observance.add("DTSTART", transition.wall)
        else:
            wall = transition.wall
            first_day = _rule_date(rule, year - 1)
            observance.add("DTSTART", datetime.combine(first_day, wall.time()))
            observance.add("RRULE", {"FREQ": "YEARLY", **rule})
        observance.add("TZOFFSETFROM", transition.offset_from)
        observance.add("TZOFFSETTO", transition.offset_to)
        observance.add("TZNAME", transition.name or zone_name)
        tz.add_component(observance)
    return tz


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class _Entry:
    """One UID on a calendar: a session, whose meetings (if any) are one recurring event."""

    session: Session

    @property
    def meetings(self) -> list[Meeting]:
        # By start, also when one was just moved in this session (order_by acts on loading).
        return sorted(self.session.meetings, key=lambda m: (m.starts_at, m.id or 0))

    @property
    def starts_at(self) -> datetime | None:
        return self.session.effective_starts_at

    @property
    def ends_at(self) -> datetime | None:
        return self.session.effective_ends_at

    def uid(self, prefix: str, mail_domain: str) -> str:
        return f"{prefix}-s{self.session.id}@{mail_domain}"


def has_times(session: Session) -> bool:
    """Can ``session`` be put on a calendar (a start and an end, its own or its meetings')?"""
    entry = _Entry(session)
    return entry.starts_at is not None and entry.ends_at is not None


def _entries(items: Iterable[Session | Meeting]) -> Iterator[_Entry]:
    """One entry per session (a Meeting stands for its whole group); untimed ones left out."""
    seen: set[int] = set()
    for item in items:
        session = item.session if isinstance(item, Meeting) else item
        entry = _Entry(session)
        if session.id in seen or entry.starts_at is None or entry.ends_at is None:
            continue
        seen.add(session.id)
        yield entry


def mail_domain_of(mail_domain: str | None) -> str:
    return mail_domain or current_app.config["MAIL_DOMAIN"]


def labels_of(language: str) -> dict[str, str]:
    """The few words of a description, in ``language`` (also outside a request)."""
    with force_locale(language):
        return {
            "manage": gettext("View or change your registration"),
            "speakers": gettext("Speakers"),
            "meeting": gettext("Meeting"),
            "more": gettext("More information"),
            "start": gettext("Start of the day"),
        }


def _cn(name: str) -> str:
    """A display name safe as a CN parameter in every client.

    A double quote or line break would need RFC 6868 escaping (^' and ^n), which Outlook and
    libical 3 show literally, so quotes become single quotes and whitespace is collapsed.
    """
    return " ".join(name.replace('"', "'").split())


def attendee_of(registration: Registration, method: Method) -> vCalAddress:
    """The registrant as the ATTENDEE of an invitation (REQUEST) or cancellation (CANCEL)."""
    return vCalAddress.new(
        registration.email,
        cn=_cn(registration.name),
        cutype="INDIVIDUAL",
        role="REQ-PARTICIPANT",
        partstat="NEEDS-ACTION" if method is Method.REQUEST else None,
        rsvp=False,
    )


def organizer(event: Event, email: str | None, mail_domain: str) -> vCalAddress:
    # iTIP requires an ORGANIZER; an event without contact address falls back to the site.
    address = email or event.organiser_email or f"noreply@{mail_domain}"
    return vCalAddress.new(address, cn=_cn(event.organiser_name or event.title))


def _location(session: Session, meeting: Meeting | None, event: Event) -> str:
    room = (meeting.room if meeting else "") or session.room
    return ", ".join(part for part in (room, event.venue, event.address) if part)


def _description(
    session: Session, meeting: Meeting | None, labels: dict[str, str], link: tuple[str, str]
) -> str:
    parts = []
    if meeting is not None and meeting.title:
        parts.append(f"{labels['meeting']}: {meeting.title}")
    if session.description.strip():
        parts.append(session.description.strip())
    if session.speakers:
        parts.append(f"{labels['speakers']}: {', '.join(session.speakers)}")
    label, url = link
    if url:
        parts.append(f"{label}: {url}")
    return "\n\n".join(parts)


@dataclass(frozen=True)
class _Write:
    """What every VEVENT of one calendar shares: its kind, clock and words."""

    event: Event
    method: Method
    now: datetime
    labels: dict[str, str]
    organizer: vCalAddress
    attendee: vCalAddress | None = None


def _vevent(
    write: _Write,
    session: Session,
    meeting: Meeting | None,
    span: tuple[datetime, datetime],
    ident: tuple[str, int],
    link: tuple[str, str],
) -> VEvent:
    """One VEVENT of ``session`` (``meeting``: the meeting it shows) from ``span`` (aware)."""
    event, zone = write.event, write.event.tz
    uid, sequence = ident
    vevent = VEvent()
    vevent.add("UID", uid)
    vevent.add("SEQUENCE", sequence)
    vevent.add("DTSTAMP", write.now.astimezone(UTC))
    vevent.add("DTSTART", span[0].astimezone(zone))
    vevent.add("DTEND", span[1].astimezone(zone))
    vevent.add("SUMMARY", f"{session.title} – {event.title}")
    location = _location(session, meeting, event)
    if location:
        vevent.add("LOCATION", location)
    description = _description(session, meeting, write.labels, link)
    if description:
        vevent.add("DESCRIPTION", description)
    if link[1]:
        vevent.add("URL", link[1])
    vevent.add("ORGANIZER", write.organizer)
    if write.attendee is not None:
        vevent.add("ATTENDEE", write.attendee)
    vevent.add("STATUS", "CANCELLED" if write.method is Method.CANCEL else "CONFIRMED")
    return vevent


def _components(
    write: _Write, entry: _Entry, ident: tuple[str, int], link: tuple[str, str]
) -> list[VEvent]:
    """The VEVENTs of one UID: a session, or a group's rule with its overrides.

    A CANCEL names the series only (RFC 5546: without RECURRENCE-ID it withdraws them all).
    """
    session, meetings = entry.session, entry.meetings
    if len(meetings) < 2:
        meeting = meetings[0] if meetings else None
        span = (entry.starts_at, entry.ends_at)
        return [_vevent(write, session, meeting, span, ident, link)]  # type: ignore[arg-type]
    zone = write.event.tz
    walls = [
        (
            m.starts_at.astimezone(zone).replace(tzinfo=None),
            m.ends_at.astimezone(zone).replace(tzinfo=None),
        )
        for m in meetings
    ]
    rule = recurrence.series(walls)
    first = meetings[0]
    master = _vevent(write, session, first, (first.starts_at, first.ends_at), ident, link)
    master.add("RRULE", rule.rrule)
    found = [master]
    if write.method is Method.CANCEL:
        return found
    same = (_location(session, first, write.event), first.title)
    for k, meeting in enumerate(meetings[1:], start=1):
        if (
            rule.placed(k, *walls[k])
            and (_location(session, meeting, write.event), meeting.title) == same
        ):
            continue
        span = (meeting.starts_at, meeting.ends_at)
        override = _vevent(write, session, meeting, span, ident, link)
        override.add("RECURRENCE-ID", rule.starts[k].replace(tzinfo=zone))
        found.append(override)
    return found


def new_calendar(event: Event, method: Method, year: int) -> Calendar:
    """An empty VCALENDAR of ``method`` with the event's VTIMEZONE from ``year`` on."""
    cal = Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", str(method))
    cal.add_component(vtimezone(event.timezone, year))
    return cal


def _first_year(event: Event, entries: list[_Entry]) -> int:
    starts = [e.starts_at.astimezone(event.tz) for e in entries if e.starts_at]
    return min(starts).year if starts else event.starts_at.astimezone(event.tz).year


def serialise(cal: Calendar) -> bytes:
    """The bytes of ``cal``: the one place every calendar of this module is written.

    The test suite hooks in here to store each one in a real CalDAV server (tests/conftest.py).
    """
    return cal.to_ical()


def aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return now


def plenaries(event: Event) -> list[Session]:
    """The sessions everyone registered attends without choosing them (not cancelled ones)."""
    return [s for s in event.sessions if s.kind is SessionKind.PLENARY and not s.is_cancelled]


def confirmed_sessions(registration: Registration, plenary: bool = True) -> list[Session]:
    """What a registrant attends: confirmed enrolments, plus (by default) the plenary sessions.

    Plenary sessions take no enrolment (everyone registered attends), so without them the
    registrant's calendar would miss the opening and closing.
    """
    if not registration.is_active:
        return []
    chosen = {
        e.session.id: e.session
        for e in registration.enrolments
        if e.status is EnrolmentStatus.CONFIRMED
    }
    if plenary:
        chosen |= {s.id: s for s in plenaries(registration.event)}
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(chosen.values(), key=lambda s: (s.effective_starts_at or far, s.position))


def invite_uid(
    registration: Registration, item: Session | Meeting, mail_domain: str | None = None
) -> str:
    """The UID of ``item`` on ``registration``'s calendar, e.g. ``r12-s3@domain``.

    Stable for (registration, session), so a later REQUEST updates and a CANCEL removes the
    copy the registrant already has; callers key stored SEQUENCE numbers on it. A group
    session is one UID for all its meetings (a Meeting gives its session's UID).
    """
    session = item.session if isinstance(item, Meeting) else item
    return _Entry(session).uid(f"r{registration.id}", mail_domain_of(mail_domain))


def invite(
    registration: Registration,
    items: Iterable[Session | Meeting],
    *,
    method: Method | str,
    sequence: int | Callable[[str], int],
    manage_url: str,
    now: datetime,
    organizer_email: str | None = None,
    mail_domain: str | None = None,
) -> bytes:
    """The registrant's calendar for ``items`` as iCalendar bytes (CRLF, folded at 75 octets).

    ``items`` are sessions (a group session with meetings is one recurring VEVENT, see
    :mod:`.recurrence`); :func:`confirmed_sessions` gives the usual list. Sessions without
    times are left out. ``method``: REQUEST for an invitation or update, CANCEL to withdraw
    the items (pass the ones cancelled), PUBLISH for the registrant's own download or feed
    (no ATTENDEE; it may hold many UIDs, as it is no iTIP message). A REQUEST or CANCEL
    must name exactly one session: one UID per iTIP object (RFC 5546 §1.4, RFC 4791 §4.1),
    since servers refuse and clients misread more. The mail service sends the registrant's
    one invitation for everything (:mod:`.invitation`); a REQUEST or CANCEL here is only
    written for a message queued before that (one place's calendar).
    ``sequence`` is one number for all events or a function of the UID (see
    :func:`invite_uid`): an update must carry a higher SEQUENCE than the copy it replaces.
    ``organizer_email`` defaults to the event's organiser, ``mail_domain`` (the UIDs' right
    hand side) to the MAIL_DOMAIN setting. ``now`` (aware) becomes every DTSTAMP.
    """
    method = Method(str(method).upper())
    now = aware(now)
    domain = mail_domain_of(mail_domain)
    event = registration.event
    entries = list(_entries(items))
    if method is not Method.PUBLISH and len(entries) != 1:
        raise ValueError(f"a {method} names exactly one session with times, not {len(entries)}")
    attendee = None if method is Method.PUBLISH else attendee_of(registration, method)
    labels = labels_of(registration.language)
    write = _Write(event, method, now, labels, organizer(event, organizer_email, domain), attendee)
    cal = new_calendar(event, method, _first_year(event, entries))
    if method is Method.PUBLISH:
        cal.add("X-WR-CALNAME", event.title)
    for entry in entries:
        uid = entry.uid(f"r{registration.id}", domain)
        number = sequence(uid) if callable(sequence) else sequence
        for component in _components(write, entry, (uid, number), (labels["manage"], manage_url)):
            cal.add_component(component)
    return serialise(cal)


def programme_calendar(
    event: Event,
    sessions: Iterable[Session | Meeting] | None = None,
    *,
    now: datetime,
    url_for_session: Callable[[Session], str] | None = None,
    organizer_email: str | None = None,
    mail_domain: str | None = None,
    language: str | None = None,
) -> bytes:
    """The public programme as a METHOD:PUBLISH calendar, for download or subscription.

    ``sessions`` defaults to all of the event's sessions (the caller filters what is public).
    UIDs are ``event<id>-s<session>@<mail_domain>`` (a group's meetings one recurring event),
    distinct from the invite UIDs so that subscribing next to a personal invitation does not
    merge the two. ``url_for_session`` gives each VEVENT its URL (also in the description).
    """
    now = aware(now)
    domain = mail_domain_of(mail_domain)
    entries = list(_entries(event.sessions if sessions is None else sessions))
    labels = labels_of(language or (event.languages[0] if event.languages else "nl"))
    write = _Write(event, Method.PUBLISH, now, labels, organizer(event, organizer_email, domain))
    cal = new_calendar(event, Method.PUBLISH, _first_year(event, entries))
    cal.add("X-WR-CALNAME", event.title)
    for entry in entries:
        url = url_for_session(entry.session) if url_for_session else ""
        ident = (entry.uid(f"event{event.id}", domain), 0)
        for component in _components(write, entry, ident, (labels["more"], url)):
            cal.add_component(component)
    return serialise(cal)
