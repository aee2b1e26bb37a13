"""The registrant's calendar invitation: everything they attend at an event, under one UID.

One UID per registration, because one change must be one mail. Outlook and Gmail act on a
single ``text/calendar`` part per mail, and a CalDAV server stores one UID per calendar
object and refuses more (docs/architecture.md, "Calendar invitations"), so a mail can
change one UID. With a UID per place a confirmation of three workshops and two plenary
sessions took six mails, and a switch two (the new place's REQUEST, the old one's CANCEL).
Under one UID every change is one REQUEST that replaces the copy the registrant has (the
same UID, a higher SEQUENCE: the workshop they left goes with it), and a cancelled
registration or event is one CANCEL.

What it holds: each day the registrant attends something (the event's plenary sessions
and their confirmed places) is one occurrence, from the first thing that day to the last
(on the event's first day from the event's start when that is earlier: the start of the
day), with that day's programme, times and rooms in its description. A colleague looking
at their calendar sees them away for the day, not free between two workshops. Several days
(a two-day congress, a group meeting weekly) make one recurring VEVENT: a rule through
the days (:func:`.recurrence.through`), EXDATE for the days in between, and a RECURRENCE-ID
override, on its own date, for each day whose hours or programme differ from the first.

The download and the subscribe feed (``calendar.invite`` with PUBLISH) keep one UID per
session: a schedule to look at, not a scheduling message, so the two never share a UID.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from icalendar import Event as VEvent
from icalendar import vCalAddress

from symposium.models import Event, Registration, Session
from symposium.services.programme import calendar, recurrence
from symposium.services.programme.calendar import Method


@dataclass(frozen=True)
class Item:
    """One thing the registrant attends: a session, or one meeting of a group."""

    starts_at: datetime  # aware
    ends_at: datetime
    title: str
    room: str


@dataclass(frozen=True)
class Day:
    """One occurrence of the invitation: a day and what the registrant attends on it."""

    starts_at: datetime  # aware, in the event's zone
    ends_at: datetime
    items: tuple[Item, ...]

    @property
    def date(self) -> date:
        return self.starts_at.date()


def uid(registration: Registration, mail_domain: str | None = None) -> str:
    """The invitation's UID, e.g. ``r12@domain``: one per registration, for good.

    Distinct from the feed's per-session UIDs (``r12-s3@domain``), so a calendar holding
    both never takes one for the other.
    """
    return f"r{registration.id}@{calendar.mail_domain_of(mail_domain)}"


def attended(registration: Registration, sessions: Iterable[Session]) -> list[Item]:
    """What the registrant attends with times, by start: the event's plenary sessions and
    ``sessions`` (their confirmed places); a group's meetings one by one, cancelled
    sessions and sessions without times left out."""
    return _items([*calendar.plenaries(registration.event), *sessions])


def attended_by_all(event: Event) -> list[Item]:
    """Every session of the programme with times, as :func:`attended` lists them."""
    return _items(event.sessions)


def _items(sessions: Iterable[Session]) -> list[Item]:
    chosen = {s.id: s for s in sessions}
    items = []
    for session in chosen.values():
        if session.is_cancelled:
            continue
        if session.meetings:
            items += [
                Item(
                    m.starts_at,
                    m.ends_at,
                    f"{session.title}: {m.title}" if m.title else session.title,
                    m.room or session.room,
                )
                for m in session.meetings
            ]
        elif session.effective_starts_at and session.effective_ends_at:
            items.append(
                Item(
                    session.effective_starts_at,
                    session.effective_ends_at,
                    session.title,
                    session.room,
                )
            )
    return sorted(items, key=lambda i: (i.starts_at, i.ends_at, i.title))


def days(event: Event, items: Iterable[Item]) -> list[Day]:
    """``items`` by day in the event's zone.

    On the event's first day, someone whose first item is the first of the programme
    comes at the event's start (the start of the day: arrival, coffee); someone who skips
    the morning's first sessions comes later, at their own first.
    """
    zone = event.tz
    by_date: dict[date, list[Item]] = {}
    for item in items:
        by_date.setdefault(item.starts_at.astimezone(zone).date(), []).append(item)
    opening = event.starts_at.astimezone(zone)
    first_of_all = min(
        (i.starts_at for i in attended_by_all(event) if i.starts_at >= event.starts_at),
        default=None,
    )
    found = []
    for day, its in sorted(by_date.items()):
        start = min(i.starts_at for i in its).astimezone(zone)
        if day == opening.date() and opening < start and start == first_of_all:
            start = opening
        end = max(i.ends_at for i in its).astimezone(zone)
        found.append(Day(start, end, tuple(its)))
    return found


@dataclass(frozen=True)
class _Write:
    """What every VEVENT of the invitation shares."""

    event: Event
    method: Method
    ident: tuple[str, int]  # UID, SEQUENCE
    now: datetime
    people: tuple[vCalAddress, vCalAddress]  # ORGANIZER, ATTENDEE
    words: dict[str, str]
    manage_url: str


def _clock(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%H:%M")


def _summary(write: _Write, day: Day) -> str:
    alone = len(day.items) == 1 and day.items[0].starts_at == day.starts_at
    return f"{day.items[0].title} – {write.event.title}" if alone else write.event.title


def _location(write: _Write, day: Day) -> str:
    rooms = {item.room for item in day.items}
    room = rooms.pop() if len(rooms) == 1 else ""  # several rooms: each in the description
    return ", ".join(part for part in (room, write.event.venue, write.event.address) if part)


def _description(write: _Write, day: Day) -> str:
    zone = write.event.tz
    lines = []
    if day.items and day.starts_at < day.items[0].starts_at:
        lines.append(f"{_clock(day.starts_at, zone)} {write.words['start']}")
    for item in day.items:
        room = f", {item.room}" if item.room else ""
        span = f"{_clock(item.starts_at, zone)}–{_clock(item.ends_at, zone)}"
        lines.append(f"{span} {item.title}{room}")
    if write.manage_url:
        lines += ["", f"{write.words['manage']}: {write.manage_url}"]
    return "\n".join(lines).strip()


def _shown(write: _Write, day: Day) -> tuple[object, ...]:
    """What a client shows of a day: an override is needed where it differs from the first."""
    length = day.ends_at - day.starts_at
    return (day.starts_at.time(), length, *(f(write, day) for f in _TEXTS))


_TEXTS = (_summary, _location, _description)
_NAMES = ("SUMMARY", "LOCATION", "DESCRIPTION")


def _vevent(write: _Write, day: Day) -> VEvent:
    vevent = VEvent()
    vevent.add("UID", write.ident[0])
    vevent.add("SEQUENCE", write.ident[1])
    vevent.add("DTSTAMP", write.now.astimezone(UTC))
    vevent.add("DTSTART", day.starts_at)
    vevent.add("DTEND", day.ends_at)
    for name, text in zip(_NAMES, (f(write, day) for f in _TEXTS), strict=True):
        if text:
            vevent.add(name, text)
    if write.manage_url:
        vevent.add("URL", write.manage_url)
    vevent.add("ORGANIZER", write.people[0])
    vevent.add("ATTENDEE", write.people[1])
    vevent.add("STATUS", "CANCELLED" if write.method is Method.CANCEL else "CONFIRMED")
    return vevent


def _on(day: date, wall: time, write: _Write) -> datetime:
    """The rule's occurrence on ``day``: the first day's wall-clock start, that date."""
    return datetime.combine(day, wall).replace(tzinfo=write.event.tz)


def invitation(
    registration: Registration,
    sessions: Iterable[Session],
    *,
    method: Method | str,
    sequence: int,
    manage_url: str,
    now: datetime,
    organizer_email: str | None = None,
    mail_domain: str | None = None,
) -> bytes:
    """The registrant's invitation (REQUEST) or its withdrawal (CANCEL), as iCalendar bytes.

    ``sessions``: their confirmed places (the plenary sessions are added here). One UID
    (:func:`uid`) carrying ``sequence``, which must be higher than the copy it replaces.
    A REQUEST needs something with times (a ValueError otherwise: the caller sends a
    CANCEL or nothing); a CANCEL names the series without RECURRENCE-ID, which withdraws
    every day, and without anything left to name it takes the event's own times.
    ``organizer_email`` defaults to the event's organiser, ``mail_domain`` to MAIL_DOMAIN,
    ``now`` (aware) becomes every DTSTAMP.
    """
    method = Method(str(method).upper())
    if method is Method.PUBLISH:
        raise ValueError("an invitation is a REQUEST or a CANCEL, not a PUBLISH")
    now = calendar.aware(now)
    event = registration.event
    found = days(event, attended(registration, sessions))
    if not found and method is Method.REQUEST:
        raise ValueError("a REQUEST needs something with times to invite to")
    if not found:
        found = [Day(event.starts_at.astimezone(event.tz), event.ends_at.astimezone(event.tz), ())]
    domain = calendar.mail_domain_of(mail_domain)
    organizer = calendar.organizer(event, organizer_email, domain)
    write = _Write(
        event,
        method,
        (uid(registration, domain), sequence),
        now,
        (organizer, calendar.attendee_of(registration, method)),
        calendar.labels_of(registration.language),
        manage_url,
    )
    cal = calendar.new_calendar(event, method, found[0].starts_at.year)
    first = found[0]
    master = _vevent(write, first)
    cal.add_component(master)
    if len(found) > 1:
        rule = recurrence.through([day.date for day in found])
        master.add("RRULE", rule.rrule)
        wall = first.starts_at.time()
        if rule.skipped:
            master.add("EXDATE", [_on(day, wall, write) for day in rule.skipped])
        if method is Method.REQUEST:
            for day in found[1:]:
                if _shown(write, day) != _shown(write, first):
                    override = _vevent(write, day)
                    override.add("RECURRENCE-ID", _on(day.date, wall, write))
                    cal.add_component(override)
    return calendar.serialise(cal)
