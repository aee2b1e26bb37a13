"""Create or update an event from its file, in place.

An event is matched by its slug, rounds and sessions by their ``key``, meetings by their key
within a session, so reloading an edited file updates rows instead of replacing them and
everything that refers to them (registrations) stays. Capacity changes go through the same
rules as the back-office (``registration.places``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

from symposium.models import (
    Event,
    EventStatus,
    Meeting,
    Presence,
    Profession,
    Referral,
    Round,
    Session,
    SessionQuota,
    Theme,
    User,
)
from symposium.services.accreditation import event_file as accreditation_file
from symposium.services.core import audit
from symposium.services.core.locking import begin_write, lock_programme
from symposium.services.mail import render
from symposium.services.programme import branding
from symposium.services.programme.catalogue import ensure_catalogue
from symposium.services.programme.editing import schedule
from symposium.services.programme.event_files import (
    EventFileError,
    EventSpec,
    MeetingSpec,
    Problem,
    SessionSpec,
    parse_file,
)
from symposium.services.registration.lifecycle import event_cancelled, sessions_rescheduled
from symposium.services.registration.places import fill_places, limit_problems, live_enrolments


@dataclass
class LoadResult:
    event: Event
    changes: Counter[str] = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return sum(self.changes.values()) > 0

    def summary(self) -> str:
        if not self.changed:
            return f"{self.event.slug}: no changes"
        parts = [f"{what} {n}" for what, n in sorted(self.changes.items())]
        return f"{self.event.slug}: " + ", ".join(parts)


def load_event_file(
    db: DbSession, path: str | Path, now: datetime, actor: User | None = None
) -> LoadResult:
    """Validate ``path`` and create or update its event; the caller commits.

    Capacities are changed under the same locks as registrations: a limit below what is
    already confirmed is refused, and room that a higher limit creates goes to the waiting
    list at once.
    """
    begin_write(db)
    ensure_catalogue(db)
    spec = parse_file(path, db)
    result = apply_spec(db, spec, now)
    if result.changed:
        audit.record(
            db, user=actor, event=result.event, action="event_file_loaded", target=str(path),
            after=dict(result.changes), now=now,
        )  # fmt: skip
    return result


def apply_spec(db: DbSession, spec: EventSpec, now: datetime) -> LoadResult:
    professions = {p.code: p for p in db.scalars(select(Profession))}
    themes = {t.code: t for t in db.scalars(select(Theme))}
    existing_ids = list(
        db.scalars(select(Session.id).join(Session.event).where(Event.slug == spec.slug))
    )
    event_id = db.scalar(select(Event.id).where(Event.slug == spec.slug))
    if event_id is not None:
        lock_programme(db, event_id, existing_ids)
    event = db.scalars(
        select(Event)
        .where(Event.slug == spec.slug)
        .options(
            selectinload(Event.rounds),
            selectinload(Event.professions),
            selectinload(Event.sessions).options(
                selectinload(Session.themes),
                selectinload(Session.professions),
                selectinload(Session.quotas).selectinload(SessionQuota.profession),
                selectinload(Session.meetings),
                selectinload(Session.round),
            ),
        )
    ).one_or_none()
    if event is not None:
        _check_registrations(db, event, spec, professions)
    result = LoadResult(event or Event(slug=spec.slug))
    changes = result.changes
    if event is None:
        event = result.event
        db.add(event)
        changes["created event"] += 1
    was_cancelled = event.status is EventStatus.CANCELLED
    schedules = {s.id: schedule(s) for s in event.sessions if s.id is not None}
    starts_at = event.starts_at
    event_changed = _assign(event, spec.values)
    if event.id is not None and event.starts_at != starts_at:
        event.reminders_queued_at = None  # postponed: a reminder before the new date
    event_changed |= _assign_list(event, "professions", [professions[c] for c in spec.professions])
    if event_changed and event.id is not None:
        changes["updated event"] += 1
    brand = spec.branding
    if brand is not None:  # a file without [branding] leaves the back-office's choice
        rebranded = branding.apply(event, brand.accent_colour, brand.logo, remove_logo=True)
        if rebranded and event.id is not None:
            changes["updated branding"] += 1

    rounds = {r.key: r for r in event.rounds}
    for round_spec in spec.rounds:
        round_ = rounds.get(round_spec.key)
        if round_ is None:
            round_ = Round(key=round_spec.key)
            event.rounds.append(round_)
            rounds[round_spec.key] = round_
            changes["created rounds"] += 1
            _assign(round_, round_spec.values)
        elif _assign(round_, round_spec.values):
            changes["updated rounds"] += 1

    sessions = {s.key: s for s in event.sessions}
    for s_spec in spec.sessions:
        session = sessions.get(s_spec.key)
        new = session is None
        if session is None:
            session = Session(key=s_spec.key)
            event.sessions.append(session)
            changes["created sessions"] += 1
        changed = _assign(session, s_spec.values)
        wanted_round = rounds[s_spec.round_key] if s_spec.round_key else None
        if session.round is not wanted_round:
            session.round = wanted_round
            changed = True
        changed |= _assign_list(session, "themes", [themes[c] for c in s_spec.themes])
        changed |= _assign_list(
            session, "professions", [professions[c] for c in s_spec.professions]
        )
        changed |= _apply_quotas(session, s_spec.quotas, professions)
        changed |= _apply_meetings(session, s_spec.meetings, changes)
        if changed and not new:
            changes["updated sessions"] += 1

    wanted_sessions = {s.key for s in spec.sessions}
    dropped = [s for s in event.sessions if s.key not in wanted_sessions]
    # Their (cancelled) enrolments go with them: write the mail about those places first.
    if dropped:
        render.render_pending(db, [s.id for s in dropped])
    for session in dropped:
        event.sessions.remove(session)
        changes["deleted sessions"] += 1
    wanted_rounds = {r.key for r in spec.rounds}
    for round_ in list(event.rounds):
        if round_.key not in wanted_rounds:
            event.rounds.remove(round_)
            changes["deleted rounds"] += 1
    db.flush()
    accreditation_file.apply(db, event, spec.accreditations, changes)
    kept = [s.id for s in event.sessions if s.id in existing_ids]
    if changes["updated sessions"] and (
        promoted := fill_places(db, kept, now, "promoted:limit_raised")
    ):
        changes["promoted from waiting list"] += len(promoted)
    moved = [s.id for s in event.sessions if s.id in schedules and schedule(s) != schedules[s.id]]
    if moved and (n := sessions_rescheduled(db, moved, now)):
        changes["calendar updates queued"] += n
    if event.status is EventStatus.CANCELLED and not was_cancelled and event.id is not None:
        changes["cancellation notices queued"] += event_cancelled(db, event, now)
    return result


def _check_registrations(
    db: DbSession, event: Event, spec: EventSpec, professions: dict[str, Profession]
) -> None:
    """Refuse a file that would drop a registration or squeeze confirmed places."""
    problems = []
    kind = spec.values.get("kind", event.kind)
    if event.kind != kind and db.scalar(
        select(func.count()).select_from(Referral).where(Referral.event_id == event.id)
    ):
        # Its referrals would be hidden from its coordinators (and from the purge).
        problems.append(Problem("kind", f"the event has referrals; it stays a {event.kind}"))
    wanted = {s.key: s for s in spec.sessions}
    for session in event.sessions:
        path = f"sessions.{session.key}"
        s_spec = wanted.get(session.key)
        if s_spec is None:
            if live := live_enrolments(db, session.id):
                problems.append(
                    Problem(path, f"has {live} registration(s); it cannot be removed from the file")
                )
            continue
        problems += _attended_meetings(db, session, s_spec, path)
        quotas = {professions[c].id: n for c, n in s_spec.quotas.items()}
        for where, taken in limit_problems(db, session.id, s_spec.values["capacity"], quotas):
            what = "capacity"
            if where.startswith("quotas."):
                code = next(c for c, p in professions.items() if p.id == int(where[7:]))
                where, what = f"quotas.{code}", "the quota"
            message = f"{taken} places are already confirmed; {what} cannot be lower"
            problems.append(Problem(f"{path}.{where}", message))
    if problems:
        raise EventFileError(problems)


def _attended_meetings(
    db: DbSession, session: Session, s_spec: SessionSpec, path: str
) -> list[Problem]:
    """A meeting with recorded attendance stays, on its day: removing it or moving it to
    another day would take presences (and certificates) with it."""
    zone = session.event.tz
    wanted = {m.key: m for m in s_spec.meetings}
    problems = []
    for meeting in session.meetings:
        spec = wanted.get(meeting.key)
        moved = spec is not None and (
            spec.starts_at.astimezone(zone).date() != meeting.starts_at.astimezone(zone).date()
        )
        if (spec is None or moved) and meeting.id is not None and attended(db, meeting):
            problems.append(
                Problem(
                    f"{path}.meetings.{meeting.key}",
                    "has recorded attendance; it cannot be removed from the file"
                    if spec is None
                    else "has recorded attendance; it cannot move to another day",
                )
            )
    return problems


def attended(db: DbSession, meeting: Meeting) -> bool:
    """Whether anyone's presence at this meeting is on record (it must then stay)."""
    live = select(Presence.id).where(
        Presence.meeting_id == meeting.id, Presence.undone_at.is_(None)
    )
    return db.scalar(live.limit(1)) is not None


def _assign(obj: object, values: dict[str, Any]) -> bool:
    """Set only the attributes that differ, so an unchanged file writes nothing."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _assign_list(obj: object, name: str, wanted: list[Any]) -> bool:
    """Replace a many-to-many collection unless it already holds the same members."""
    if set(getattr(obj, name)) == set(wanted):
        return False
    setattr(obj, name, wanted)
    return True


def _apply_quotas(
    session: Session, wanted: dict[str, int], professions: dict[str, Profession]
) -> bool:
    current = {q.profession.code: q for q in session.quotas}
    changed = False
    for code, places in wanted.items():
        quota = current.get(code)
        if quota is None:
            session.quotas.append(SessionQuota(profession=professions[code], places=places))
            changed = True
        elif quota.places != places:
            quota.places = places
            changed = True
    for code, quota in current.items():
        if code not in wanted:
            session.quotas.remove(quota)
            changed = True
    return changed


def _apply_meetings(session: Session, wanted: list[MeetingSpec], changes: Counter[str]) -> bool:
    current = {m.key: m for m in session.meetings}
    changed = False
    for spec in wanted:
        values = {
            "title": spec.title,
            "room": spec.room,
            "starts_at": spec.starts_at,
            "ends_at": spec.ends_at,
        }
        meeting = current.get(spec.key)
        if meeting is None:
            meeting = Meeting(key=spec.key, **values)
            session.meetings.append(meeting)
            changes["created meetings"] += 1
        elif _assign(meeting, values):
            changes["updated meetings"] += 1
            changed = True
    keys = {m.key for m in wanted}
    for meeting in list(session.meetings):
        if meeting.key not in keys:
            session.meetings.remove(meeting)
            changes["deleted meetings"] += 1
            changed = True
    return changed
