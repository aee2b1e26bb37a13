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
class _Occurrence:
    """One VEVENT: a session, or one meeting of a group session."""

    session: Session
    meeting: Meeting | None = None

    @property
    def starts_at(self) -> datetime | None:
        return self.meeting.starts_at if self.meeting else self.session.effective_starts_at

    @property
    def ends_at(self) -> datetime | None:
        return self.meeting.ends_at if self.meeting else self.session.effective_ends_at

    def uid(self, prefix: str, mail_domain: str) -> str:
        meeting = f"-m{self.meeting.id}" if self.meeting else ""
        return f"{prefix}-s{self.session.id}{meeting}@{mail_domain}"


def _occurrences(items: Iterable[Session | Meeting]) -> Iterator[_Occurrence]:
    """Sessions with meetings expand to their meetings; items without times are left out."""
    seen: set[tuple[int, int | None]] = set()
    for item in items:
        if isinstance(item, Meeting):
            found = [_Occurrence(item.session, item)]
        elif item.meetings:
            found = [_Occurrence(item, m) for m in item.meetings]
        else:
            found = [_Occurrence(item)]
        for occurrence in found:
            key = (occurrence.session.id, occurrence.meeting.id if occurrence.meeting else None)
            if key in seen or occurrence.starts_at is None or occurrence.ends_at is None:
                continue
            seen.add(key)
            yield occurrence


def _mail_domain(mail_domain: str | None) -> str:
    return mail_domain or current_app.config["MAIL_DOMAIN"]


def _labels(language: str) -> dict[str, str]:
    """The few words of a description, in ``language`` (also outside a request)."""
    with force_locale(language):
        return {
            "manage": gettext("View or change your registration"),
            "speakers": gettext("Speakers"),
            "meeting": gettext("Meeting"),
            "more": gettext("More information"),
        }


def _cn(name: str) -> str:
    """A display name safe as a CN parameter in every client.

    A double quote or line break would need RFC 6868 escaping (^' and ^n), which Outlook and
    libical 3 show literally, so quotes become single quotes and whitespace is collapsed.
    """
    return " ".join(name.replace('"', "'").split())


def _organizer(event: Event, email: str | None, mail_domain: str) -> vCalAddress:
    # iTIP requires an ORGANIZER; an event without contact address falls back to the site.
    address = email or event.organiser_email or f"noreply@{mail_domain}"
    return vCalAddress.new(address, cn=_cn(event.organiser_name or event.title))


def _summary(occurrence: _Occurrence, event: Event) -> str:
    session = occurrence.session
    if occurrence.meeting is None:
        return f"{session.title} – {event.title}"
    number = session.meetings.index(occurrence.meeting) + 1
    return f"{session.title} ({number}/{len(session.meetings)}) – {event.title}"


def _location(occurrence: _Occurrence, event: Event) -> str:
    room = (occurrence.meeting.room if occurrence.meeting else "") or occurrence.session.room
    return ", ".join(part for part in (room, event.venue, event.address) if part)


def _description(occurrence: _Occurrence, labels: dict[str, str], link: tuple[str, str]) -> str:
    session, meeting = occurrence.session, occurrence.meeting
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


def _vevent(
    occurrence: _Occurrence, event: Event, uid: str, sequence: int, now: datetime
) -> VEvent:
    zone = event.tz
    vevent = VEvent()
    vevent.add("UID", uid)
    vevent.add("SEQUENCE", sequence)
    vevent.add("DTSTAMP", now.astimezone(UTC))
    vevent.add("DTSTART", occurrence.starts_at.astimezone(zone))  # type: ignore[union-attr]
    vevent.add("DTEND", occurrence.ends_at.astimezone(zone))  # type: ignore[union-attr]
    vevent.add("SUMMARY", _summary(occurrence, event))
    location = _location(occurrence, event)
    if location:
        vevent.add("LOCATION", location)
    return vevent


def _new_calendar(event: Event, method: Method, occurrences: list[_Occurrence]) -> Calendar:
    cal = Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", str(method))
    starts = [o.starts_at.astimezone(event.tz) for o in occurrences if o.starts_at]
    year = min(starts).year if starts else event.starts_at.astimezone(event.tz).year
    cal.add_component(vtimezone(event.timezone, year))
    return cal


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return now


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
        chosen |= {s.id: s for s in registration.event.sessions if s.kind is SessionKind.PLENARY}
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(chosen.values(), key=lambda s: (s.effective_starts_at or far, s.position))


def invite_uid(
    registration: Registration, item: Session | Meeting, mail_domain: str | None = None
) -> str:
    """The UID of ``item`` on ``registration``'s calendar, e.g. ``r12-s3-m7@domain``.

    Stable for (registration, session[, meeting]), so a later REQUEST updates and a CANCEL
    removes the copy the registrant already has; callers key stored SEQUENCE numbers on it.
    A group session with meetings appears as its meetings: pass each Meeting for their UIDs.
    """
    occurrence = _Occurrence(item.session, item) if isinstance(item, Meeting) else _Occurrence(item)
    return occurrence.uid(f"r{registration.id}", _mail_domain(mail_domain))


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

    ``items`` are sessions (a group session with meetings gives one VEVENT per meeting) or
    single meetings; :func:`confirmed_sessions` gives the usual list. Sessions without times
    are left out. ``method``: REQUEST for an invitation or update, CANCEL to withdraw the
    items (pass the ones cancelled), PUBLISH for the registrant's own download (no ATTENDEE).
    ``sequence`` is one number for all events or a function of the UID (see
    :func:`invite_uid`): an update must carry a higher SEQUENCE than the copy it replaces.
    ``organizer_email`` defaults to the event's organiser, ``mail_domain`` (the UIDs' right
    hand side) to the MAIL_DOMAIN setting. ``now`` (aware) becomes every DTSTAMP.
    """
    method = Method(str(method).upper())
    now = _aware(now)
    domain = _mail_domain(mail_domain)
    event = registration.event
    occurrences = list(_occurrences(items))
    if method is not Method.PUBLISH and not occurrences:
        raise ValueError(f"a {method} needs at least one session with times")
    labels = _labels(registration.language)
    cal = _new_calendar(event, method, occurrences)
    if method is Method.PUBLISH:
        cal.add("X-WR-CALNAME", event.title)
    for occurrence in occurrences:
        uid = occurrence.uid(f"r{registration.id}", domain)
        number = sequence(uid) if callable(sequence) else sequence
        vevent = _vevent(occurrence, event, uid, number, now)
        description = _description(occurrence, labels, (labels["manage"], manage_url))
        if description:
            vevent.add("DESCRIPTION", description)
        if manage_url:
            vevent.add("URL", manage_url)
        vevent.add("ORGANIZER", _organizer(event, organizer_email, domain))
        if method is not Method.PUBLISH:
            vevent.add(
                "ATTENDEE",
                vCalAddress.new(
                    registration.email,
                    cn=_cn(registration.name),
                    cutype="INDIVIDUAL",
                    role="REQ-PARTICIPANT",
                    partstat="NEEDS-ACTION" if method is Method.REQUEST else None,
                    rsvp=False,
                ),
            )
        vevent.add("STATUS", "CANCELLED" if method is Method.CANCEL else "CONFIRMED")
        cal.add_component(vevent)
    return cal.to_ical()


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
    UIDs are ``event<id>-s<session>[-m<meeting>]@<mail_domain>``, distinct from the invite
    UIDs so that subscribing next to a personal invitation does not merge the two.
    ``url_for_session`` gives each VEVENT its URL (also put in the description).
    """
    now = _aware(now)
    domain = _mail_domain(mail_domain)
    occurrences = list(_occurrences(event.sessions if sessions is None else sessions))
    labels = _labels(language or (event.languages[0] if event.languages else "nl"))
    cal = _new_calendar(event, Method.PUBLISH, occurrences)
    cal.add("X-WR-CALNAME", event.title)
    for occurrence in occurrences:
        vevent = _vevent(occurrence, event, occurrence.uid(f"event{event.id}", domain), 0, now)
        url = url_for_session(occurrence.session) if url_for_session else ""
        description = _description(occurrence, labels, (labels["more"], url))
        if description:
            vevent.add("DESCRIPTION", description)
        if url:
            vevent.add("URL", url)
        vevent.add("ORGANIZER", _organizer(event, organizer_email, domain))
        vevent.add("STATUS", "CONFIRMED")
        cal.add_component(vevent)
    return cal.to_ical()
