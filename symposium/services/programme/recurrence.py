"""A group's meetings as one recurring event: a rule, and the meetings it does not place.

RFC 4791 §4.1 wants one calendar object per UID, sabre/vobject and Outlook one UID per iTIP
message, so a session that meets several times must be one VEVENT, not one per meeting. We
write an RRULE (DAILY or WEEKLY, ``COUNT`` = the number of meetings) and, for each
meeting the rule does not give exactly (an irregular date, a moved meeting), an override with
RECURRENCE-ID. RRULE plus overrides rather than RDATE: Outlook and Exchange drop RDATEs
(MS-OXCICAL keeps only RRULE and exceptions), while every client applies RECURRENCE-ID
overrides, so the same object reads the same in Outlook, Google, Apple and Thunderbird.

Pure arithmetic on naive local wall times (the RRULE runs in the event's TZID, so a weekly
meeting at 19:00 stays at 19:00 across a DST change).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce
from itertools import pairwise
from math import gcd

BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Series:
    """The rule for a group's meetings: occurrence ``k`` starts at ``starts[k]``."""

    starts: tuple[datetime, ...]  # naive wall times the rule gives, one per meeting
    duration: timedelta  # of every occurrence the rule gives (the first meeting's)
    rrule: dict[str, object]  # for icalendar's RRULE property

    def placed(self, k: int, start: datetime, end: datetime) -> bool:
        """Whether the rule alone gives meeting ``k`` at ``start``–``end`` (no override)."""
        return self.starts[k] == start and start + self.duration == end


def _step_days(starts: Sequence[datetime]) -> int:
    """The gap in days (one found between meetings) whose rule places the most meetings.

    Fewest overrides: a weekly group with one meeting moved a day keeps its weekly rule,
    even though its gaps are then 8, 6 and 7 days. On a tie the smaller gap; at least 1.
    """
    gaps = {(b.date() - a.date()).days for a, b in pairwise(starts)} - {0}
    if not gaps:
        return 1

    def placed(days: int) -> int:
        first = starts[0]
        return sum(start == first + timedelta(days=days * k) for k, start in enumerate(starts))

    return min(sorted(gaps), key=lambda days: -placed(days))


def series(meetings: Sequence[tuple[datetime, datetime]]) -> Series:
    """The rule for these meetings (naive local (start, end) pairs, sorted by start).

    The step is a gap in days (weekly when it is a whole number of weeks, see
    :func:`_step_days`); each
    meeting then is the rule's occurrence of the same number, and only those at another time
    or length need an override, so moving one meeting usually adds one override. Every
    REQUEST carries the whole series (rule and overrides) with a higher SEQUENCE, so a client
    replaces what it had and is right even when a change gives another rule.
    """
    if not meetings:
        raise ValueError("a series needs at least one meeting")
    first, first_end = meetings[0]
    days = _step_days([start for start, _ in meetings])
    rrule: dict[str, object]
    if days % 7 == 0:
        rrule = {"FREQ": "WEEKLY", "INTERVAL": days // 7, "BYDAY": BYDAY[first.weekday()]}
    else:
        rrule = {"FREQ": "DAILY", "INTERVAL": days}
    rrule["COUNT"] = len(meetings)
    starts = tuple(first + timedelta(days=days * k) for k in range(len(meetings)))
    return Series(starts=starts, duration=first_end - first, rrule=rrule)


@dataclass(frozen=True)
class Days:
    """A rule through some days: every one it gives is a day, or one of ``skipped``."""

    rrule: dict[str, object]  # for icalendar's RRULE property
    skipped: tuple[date, ...]  # days the rule gives that are not among the days (EXDATE)


def through(days: Sequence[date]) -> Days:
    """The rule from the first of ``days`` (sorted, distinct, at least two) to the last.

    Its step is the greatest common divisor of their distances from the first day (weekly
    when that is a whole number of weeks), so the rule gives every day on its own date and
    the days between that are not among them are skipped (EXDATE). Unlike :func:`series`,
    nothing is moved to another date: a client never has to reorder occurrences (Outlook
    refuses an exception that moves an occurrence past another), whatever the days are.
    """
    if len(days) < 2:
        raise ValueError("a rule through days needs at least two of them")
    first = days[0]
    step = reduce(gcd, [(day - first).days for day in days[1:]])
    count = (days[-1] - first).days // step + 1
    rrule: dict[str, object]
    if step % 7 == 0:
        rrule = {"FREQ": "WEEKLY", "INTERVAL": step // 7, "BYDAY": BYDAY[first.weekday()]}
    else:
        rrule = {"FREQ": "DAILY", "INTERVAL": step}
    rrule["COUNT"] = count
    wanted = set(days)
    given = (first + timedelta(days=step * k) for k in range(count))
    return Days(rrule=rrule, skipped=tuple(day for day in given if day not in wanted))
