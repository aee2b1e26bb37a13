"""A group series on the public programme: one summary per group instead of a timeline.

A series such as "Welzijn op recept" has eight groups that meet six times each; laid out day
by day it is 48 meeting cards, while a client (or the GP who refers them) chooses a group:
its theme, when and where it meets, from when to when, and whether there is room. The
meetings themselves are a detail of the group.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from symposium.filters import local
from symposium.models import Event, Meeting, Session, SessionKind, Theme


@dataclass(frozen=True)
class GroupSummary:
    """What a group's card shows.

    ``first`` is the meeting whose weekday and times stand for the group: every meeting's
    when ``same_day_and_time``, else only the first one's (the card then says so). ``place``
    is the room most meetings use: a group has no place of its own beyond its rooms, and the
    event's venue stands above them all. ``languages`` are the event's ("the languages the
    event is held in"), as a group has no language of its own.
    """

    session: Session
    meetings: list[Meeting]
    first: Meeting
    same_day_and_time: bool
    first_day: date
    last_day: date
    place: str
    same_place: bool
    languages: list[str]
    places_left: int | None

    @property
    def themes(self) -> list[Theme]:
        return list(self.session.themes)

    @property
    def cancelled(self) -> bool:
        return self.session.is_cancelled


@dataclass(frozen=True)
class SeriesProgramme:
    """The groups to show as cards, and the other (plenary) sessions of the series."""

    groups: list[GroupSummary]
    others: list[Session]


def is_group(session: Session) -> bool:
    return session.kind is SessionKind.GROUP and bool(session.meetings)


def is_series(sessions: Iterable[Session]) -> bool:
    """Whether every session a registrant chooses (all but the plenary ones) is a group with
    its own meetings: then the page lists groups, not days."""
    chosen = [s for s in sessions if s.kind is not SessionKind.PLENARY]
    return bool(chosen) and all(is_group(s) for s in chosen)


def summarise(
    session: Session, zone: str, languages: Sequence[str], places_left: int | None
) -> GroupSummary:
    """One group's card; ``places_left`` comes from ``registration.places`` (its one home)."""
    meetings = list(session.meetings)
    starts = [local(m.starts_at, zone) for m in meetings]
    ends = [local(m.ends_at, zone) for m in meetings]
    day_and_time = {(s.weekday(), s.time(), e.time()) for s, e in zip(starts, ends, strict=True)}
    rooms = [m.room or session.room for m in meetings]
    # The room most meetings use; on a tie the first meeting's (Counter keeps first-seen order).
    place = Counter(rooms).most_common(1)[0][0]
    return GroupSummary(
        session=session,
        meetings=meetings,
        first=meetings[0],
        same_day_and_time=len(day_and_time) == 1,
        first_day=starts[0].date(),
        last_day=starts[-1].date(),
        place=place,
        same_place=len(set(rooms)) == 1,
        languages=list(languages),
        places_left=places_left,
    )


def _order(group: GroupSummary) -> tuple[int, object, str]:
    """By (first) theme in catalogue order, then first meeting; groups without a theme last."""
    themes = group.session.themes
    position = themes[0].position if themes else 1 << 30
    return (position, group.first.starts_at, group.session.title)


def series_programme(
    event: Event, sessions: Sequence[Session], places_left: Mapping[int, int | None]
) -> SeriesProgramme | None:
    """The (filtered) ``sessions`` of ``event`` as group cards, or None when the event is not a
    group series (:func:`is_series` over all its sessions, so a filter never changes the
    layout): a symposium keeps its day-by-day timeline."""
    if not is_series(event.sessions):
        return None
    groups = [
        summarise(s, event.timezone, event.languages, places_left.get(s.id))
        for s in sessions
        if is_group(s)
    ]
    others = [s for s in sessions if not is_group(s)]
    return SeriesProgramme(sorted(groups, key=_order), others)
