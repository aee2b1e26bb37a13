"""An event's dashboard: every number an organiser checks at a glance, from a few grouped queries.

The page must stay fast with thousands of registrations, so nothing here loads registrations or
enrolments one by one: each figure comes from a ``GROUP BY`` (about eight statements in all,
whatever the size of the event). The capacity and quota rules stay in
``services.registration.places``; this module only counts and labels.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, and_, cast, distinct, func, literal, select, union_all
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.elements import ColumnElement

from symposium.models import (
    Enrolment,
    EnrolmentStatus,
    Event,
    OutboxMessage,
    OutboxStatus,
    Profession,
    Registration,
    RegistrationStatus,
    Round,
    Session,
    SessionQuota,
)
from symposium.services.registration import places, validation

# A session is "near full" from this share of its capacity on (and when full, of course).
NEAR_FULL = 0.9
# How many failed messages the page lists (newest first); the total is always shown.
FAILED_SHOWN = 20


@dataclass(frozen=True)
class DayCount:
    """One local calendar day: registrations made, registrations cancelled, active at its end."""

    day: date
    new: int
    cancelled: int
    total: int


@dataclass(frozen=True)
class SessionFill:
    id: int
    title: str
    capacity: int | None  # None: no limit
    confirmed: int
    waitlisted: int

    @property
    def full(self) -> bool:
        """No place left for anyone (the capacity rule of ``places.has_place``)."""
        return not places.has_place(self.capacity, self.confirmed, None, 0)

    @property
    def near_full(self) -> bool:
        return self.full or (
            self.capacity is not None and self.confirmed >= NEAR_FULL * self.capacity
        )

    @property
    def fill(self) -> float | None:
        """Share of the capacity confirmed (0..1, more only if a limit was set below it)."""
        if self.capacity is None:
            return None
        return self.confirmed / self.capacity if self.capacity else 1.0


@dataclass(frozen=True)
class RoundFill:
    """The sessions that run in parallel in one round (title None: sessions outside rounds)."""

    title: str | None
    sessions: list[SessionFill]


@dataclass(frozen=True)
class QuotaUse:
    session_id: int
    session_title: str
    used: int  # confirmed places of this profession
    places: int

    @property
    def reached(self) -> bool:
        """The quota admits nobody more of this profession (``places.has_place``)."""
        return not places.has_place(None, 0, self.places, self.used)

    @property
    def over(self) -> bool:
        return self.used > self.places


@dataclass(frozen=True)
class ProfessionUse:
    profession: Profession
    active: int  # active registrations
    quotas: list[QuotaUse]


@dataclass(frozen=True)
class FailedMail:
    id: int
    created_at: datetime
    kind: str
    to_address: str
    subject: str
    attempts: int
    last_error: str


@dataclass(frozen=True)
class EventCounts:
    """The three figures the back-office home shows per event: what needs an organiser now."""

    active: int = 0  # active registrations
    waiting: int = 0  # people (active registrations) with a place on a waiting list
    failed_mail: int = 0  # messages to its registrants the worker gave up on


@dataclass
class Dashboard:
    event: Event
    today: date  # in the event's time zone
    days: list[DayCount]
    active: int
    cancelled: int
    rounds: list[RoundFill]
    professions: list[ProfessionUse]
    mail: dict[str, int]  # outbox status -> messages (every status present, 0 when none)
    failed: list[FailedMail]
    failed_total: int
    near_full: list[SessionFill] = field(default_factory=list)
    # Messages the worker may have delivered twice (see services.mail.delivery): at least once.
    maybe_twice: int = 0

    @property
    def sessions(self) -> list[SessionFill]:
        return [s for r in self.rounds for s in r.sessions]

    @property
    def new_last_week(self) -> int:
        """Registrations made in the seven local days up to and including today."""
        since = self.today - timedelta(days=6)
        return sum(d.new for d in self.days if since <= d.day <= self.today)


def event_dashboard(db: DbSession, event: Event, now: datetime) -> Dashboard:
    """Build the dashboard of ``event`` as it stands at ``now`` (a bounded number of queries)."""
    days = registrations_per_day(db, event, now)
    rounds = session_fill(db, event)
    sessions = [s for r in rounds for s in r.sessions]
    professions = profession_use(db, event, sessions)
    mail, failed, failed_total, maybe_twice = outbox_summary(db, event)
    return Dashboard(
        event=event,
        today=now.astimezone(event.tz).date(),
        days=days,
        active=sum(p.active for p in professions),
        cancelled=sum(d.cancelled for d in days),
        rounds=rounds,
        professions=professions,
        mail=mail,
        failed=failed,
        failed_total=failed_total,
        near_full=[s for s in sessions if s.near_full],
        maybe_twice=maybe_twice,
    )


# --------------------------------------------------------------------------- over time


def _day_bucket(db: DbSession, event: Event, column: Any) -> ColumnElement[Any]:
    """A grouping key from which the local day follows (see :func:`_bucket_day`).

    PostgreSQL converts to the event's zone itself; SQLite has no zones, so there we group by
    UTC hour and convert each hour in Python (exact for every whole-hour zone offset).
    """
    if db.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(event.timezone, column), Date)
    return func.strftime("%Y-%m-%d %H", column)


def _bucket_day(bucket: date | str, event: Event) -> date:
    if isinstance(bucket, date):
        return bucket
    hour = datetime.strptime(bucket, "%Y-%m-%d %H").replace(tzinfo=UTC)
    return hour.astimezone(event.tz).date()


def registrations_per_day(db: DbSession, event: Event, now: datetime) -> list[DayCount]:
    """Registrations made and cancelled per local day, with the running active total.

    Every day from the opening of registration (or the first registration) to today (or the
    close of registration) is listed, days without any change too. One statement.
    """
    made = select(
        _day_bucket(db, event, Registration.created_at).label("bucket"), literal("new").label("k")
    ).where(Registration.event_id == event.id)
    cancelled = select(
        _day_bucket(db, event, Registration.cancelled_at).label("bucket"),
        literal("cancelled").label("k"),
    ).where(
        Registration.event_id == event.id,
        Registration.status == RegistrationStatus.CANCELLED,
        Registration.cancelled_at.is_not(None),
    )
    both = union_all(made, cancelled).subquery()
    counts: dict[date, dict[str, int]] = defaultdict(lambda: {"new": 0, "cancelled": 0})
    for bucket, kind, n in db.execute(
        select(both.c.bucket, both.c.k, func.count()).group_by(both.c.bucket, both.c.k)
    ):
        counts[_bucket_day(bucket, event)][kind] += n

    zone = event.tz
    opens = event.registration_opens_at
    closes = min(event.registration_closes_at or event.starts_at, event.starts_at)
    first = [opens.astimezone(zone).date()] if opens is not None else []
    if counts:
        first.append(min(counts))
    if not first:
        return []
    start = min(first)
    end = max([min(now, closes).astimezone(zone).date(), *counts])
    total = 0
    days = []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        made_n, cancelled_n = counts[day]["new"], counts[day]["cancelled"]
        total += made_n - cancelled_n
        days.append(DayCount(day, made_n, cancelled_n, total))
    return days


# --------------------------------------------------------------------------- sessions


def session_fill(db: DbSession, event: Event) -> list[RoundFill]:
    """Confirmed, waitlisted and capacity of every chosen session, grouped by round.

    Plenary sessions are left out (nobody chooses them; ``validation.enrollable``). Two
    statements: the sessions with their rounds, and ``places.session_counts``.
    """
    sessions = [
        s
        for s in db.scalars(
            select(Session)
            .where(Session.event_id == event.id)
            .options(joinedload(Session.round))
            .order_by(Session.position, Session.id)
        )
        if validation.enrollable(s)
    ]
    counts = places.session_counts(db, [s.id for s in sessions])
    groups: dict[int | None, list[SessionFill]] = defaultdict(list)
    rounds: dict[int, Round] = {}
    for s in sessions:
        c = counts[s.id]
        groups[s.round_id].append(
            SessionFill(s.id, s.title, s.capacity, c["confirmed"], c["waitlisted"])
        )
        if s.round is not None:
            rounds[s.round.id] = s.round
    ordered = sorted(rounds.values(), key=lambda r: (r.starts_at, r.id))
    result = [RoundFill(r.title, groups[r.id]) for r in ordered]
    if groups.get(None):
        result.append(RoundFill(None, groups[None]))
    return result


# --------------------------------------------------------------------------- professions


def profession_use(db: DbSession, event: Event, sessions: list[SessionFill]) -> list[ProfessionUse]:
    """Active registrations per profession and, per session with a quota, the places it uses.

    Three statements: registrations per profession, quota use (confirmed places, as the quota
    rule counts them), and the professions themselves.
    """
    active = dict(
        db.execute(
            select(Registration.profession_id, func.count())
            .where(
                Registration.event_id == event.id,
                Registration.status == RegistrationStatus.ACTIVE,
            )
            .group_by(Registration.profession_id)
        ).all()
    )
    titles = {s.id: s.title for s in sessions}
    quotas: dict[int, list[QuotaUse]] = defaultdict(list)
    if titles:
        rows = db.execute(
            select(
                SessionQuota.session_id,
                SessionQuota.profession_id,
                SessionQuota.places,
                func.count(Enrolment.id),
            )
            .outerjoin(
                Enrolment,
                and_(
                    Enrolment.session_id == SessionQuota.session_id,
                    Enrolment.profession_id == SessionQuota.profession_id,
                    Enrolment.status == EnrolmentStatus.CONFIRMED,
                ),
            )
            .where(SessionQuota.session_id.in_(list(titles)))
            .group_by(SessionQuota.session_id, SessionQuota.profession_id, SessionQuota.places)
        ).all()
        order = {session_id: i for i, session_id in enumerate(titles)}
        for session_id, profession_id, places, used in sorted(rows, key=lambda r: order[r[0]]):
            quotas[profession_id].append(QuotaUse(session_id, titles[session_id], used, places))
    ids = set(active) | set(quotas)
    if not ids:
        return []
    professions = db.scalars(
        select(Profession).where(Profession.id.in_(ids)).order_by(Profession.position)
    ).all()
    return [ProfessionUse(p, active.get(p.id, 0), quotas.get(p.id, [])) for p in professions]


# --------------------------------------------------------------------------- mail


def outbox_summary(
    db: DbSession, event: Event
) -> tuple[dict[str, int], list[FailedMail], int, int]:
    """Messages to this event's registrants per status, the newest failed ones, the total
    failed, and how many may have been delivered twice (a reply lost after the message).

    Two statements. Mail not tied to a registration (password resets) is no event's concern.
    """
    of_event = and_(
        OutboxMessage.registration_id == Registration.id, Registration.event_id == event.id
    )
    mail = {str(status): 0 for status in OutboxStatus}
    maybe_twice = 0
    for status, n, doubtful in db.execute(
        select(
            OutboxMessage.status,
            func.count(),
            func.count().filter(OutboxMessage.maybe_sent > 0),
        )
        .join(Registration, of_event)
        .group_by(OutboxMessage.status)
    ):
        mail[str(status)] = n
        maybe_twice += doubtful
    failed = [
        FailedMail(*row)
        for row in db.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.created_at,
                OutboxMessage.kind,
                OutboxMessage.to_address,
                OutboxMessage.subject,
                OutboxMessage.attempts,
                OutboxMessage.last_error,
            )
            .join(Registration, of_event)
            .where(OutboxMessage.status == OutboxStatus.FAILED)
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
            .limit(FAILED_SHOWN)
        )
    ]
    return mail, failed, mail[str(OutboxStatus.FAILED)], maybe_twice


# --------------------------------------------------------------------------- home


def event_counts(db: DbSession, events: Sequence[Event]) -> dict[int, EventCounts]:
    """:class:`EventCounts` per event id (every event of ``events`` present, zeros when none).

    Three grouped statements, whatever the number of events: the home page lists them all.
    Someone waiting for two sessions counts once; failed mail as :func:`outbox_summary`
    counts it (mail tied to a registration of the event).
    """
    ids = [e.id for e in events]
    if not ids:
        return {}
    of_events = Registration.event_id.in_(ids)
    active = dict(
        db.execute(
            select(Registration.event_id, func.count())
            .where(of_events, Registration.status == RegistrationStatus.ACTIVE)
            .group_by(Registration.event_id)
        ).all()
    )
    waiting = dict(
        db.execute(
            select(Registration.event_id, func.count(distinct(Registration.id)))
            .join(Enrolment, Enrolment.registration_id == Registration.id)
            .where(
                of_events,
                Registration.status == RegistrationStatus.ACTIVE,
                Enrolment.status == EnrolmentStatus.WAITLISTED,
            )
            .group_by(Registration.event_id)
        ).all()
    )
    failed = dict(
        db.execute(
            select(Registration.event_id, func.count(OutboxMessage.id))
            .join(OutboxMessage, OutboxMessage.registration_id == Registration.id)
            .where(of_events, OutboxMessage.status == OutboxStatus.FAILED)
            .group_by(Registration.event_id)
        ).all()
    )
    return {i: EventCounts(active.get(i, 0), waiting.get(i, 0), failed.get(i, 0)) for i in ids}
