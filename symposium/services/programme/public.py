"""What the public programme shows: upcoming events and a day-by-day timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

from symposium.filters import local
from symposium.models import (
    Event,
    EventStatus,
    Meeting,
    Profession,
    Round,
    Session,
    SessionQuota,
    Theme,
)

PUBLIC_STATUSES = (EventStatus.PUBLISHED, EventStatus.CANCELLED)


@dataclass
class Item:
    """One session on the timeline; for a group session, one of its meetings."""

    session: Session
    starts_at: datetime
    ends_at: datetime
    meeting: Meeting | None = None

    @property
    def room(self) -> str:
        return (self.meeting.room if self.meeting else "") or self.session.room


@dataclass
class Slot:
    """Sessions that run side by side: a round, or items sharing the same times."""

    starts_at: datetime
    ends_at: datetime
    round: Round | None
    items: list[Item] = field(default_factory=list)


@dataclass
class Day:
    date: date
    slots: list[Slot]


def upcoming_events(db: DbSession, now: datetime) -> list[Event]:
    """Published events that have not ended yet, soonest first."""
    return list(
        db.scalars(
            select(Event)
            .where(Event.status == EventStatus.PUBLISHED, Event.ends_at >= now)
            .order_by(Event.starts_at, Event.id)
        )
    )


def public_event(db: DbSession, slug: str) -> Event | None:
    """The event with its whole programme loaded, or None when it is not public."""
    return db.scalars(
        select(Event)
        .where(Event.slug == slug, Event.status.in_(PUBLIC_STATUSES))
        .options(
            selectinload(Event.rounds),
            selectinload(Event.professions),
            selectinload(Event.sessions).options(
                selectinload(Session.round),
                selectinload(Session.themes),
                selectinload(Session.professions),
                selectinload(Session.quotas).selectinload(SessionQuota.profession),
                selectinload(Session.meetings),
            ),
        )
    ).one_or_none()


class EventHead(NamedTuple):
    """The event's own columns that decide which cached page to serve."""

    id: int
    programme_stamp: str
    status: EventStatus
    starts_at: datetime
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None


_e = Event.__table__.c
# Built once, Core columns only: this is the whole database cost of a cached page.
_HEAD = select(
    _e.id,
    _e.programme_stamp,
    _e.status,
    _e.starts_at,
    _e.registration_opens_at,
    _e.registration_closes_at,
).where(_e.slug == bindparam("slug"), _e.status.in_(PUBLIC_STATUSES))


def public_event_head(db: DbSession, slug: str) -> EventHead | None:
    """The public event's stamp, status and dates (not the programme), or None."""
    row = db.execute(_HEAD, {"slug": slug}).first()
    return None if row is None else EventHead(*row)


def admitted_professions(db: DbSession, event: Event) -> list[Profession]:
    """The professions an event admits (all of the catalogue when it names none)."""
    if event.professions:
        return list(event.professions)
    return list(db.scalars(select(Profession).order_by(Profession.position)))


def event_themes(event: Event) -> list[Theme]:
    """Themes used by the event's sessions, in catalogue order."""
    themes = {theme.id: theme for s in event.sessions for theme in s.themes}
    return sorted(themes.values(), key=lambda t: t.position)


def filter_sessions(
    sessions: list[Session], theme: Theme | None = None, profession: Profession | None = None
) -> list[Session]:
    return [
        s
        for s in sessions
        if (theme is None or theme in s.themes) and (profession is None or s.admits(profession))
    ]


def timeline(sessions: list[Session], zone: str) -> list[Day]:
    """Group sessions (and the meetings of group sessions) into days and parallel slots."""
    slots: dict[object, Slot] = {}
    for session in sessions:
        if session.meetings:
            items = [Item(session, m.starts_at, m.ends_at, m) for m in session.meetings]
        else:
            start, end = session.effective_starts_at, session.effective_ends_at
            if start is None or end is None:
                continue
            items = [Item(session, start, end)]
        for item in items:
            key: object
            if item.meeting is None and session.round is not None:
                key = ("round", session.round.id)
            else:
                key = ("time", item.starts_at, item.ends_at)
            slot = slots.get(key)
            if slot is None:
                round_ = session.round if key[0] == "round" else None
                slot = slots[key] = Slot(item.starts_at, item.ends_at, round_)
            slot.items.append(item)

    days: dict[date, list[Slot]] = {}
    for slot in sorted(slots.values(), key=lambda s: (s.starts_at, s.ends_at)):
        days.setdefault(local(slot.starts_at, zone).date(), []).append(slot)
    return [Day(day, day_slots) for day, day_slots in days.items()]
