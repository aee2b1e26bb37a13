"""The programme as the registration rules read it, built once per programme stamp.

Checking a registration needs the event's sessions (kind, round, times, who may join, quotas)
and the admitted professions with their registers. Loading those as ORM objects on every
request was most of a registration's cost in a flash crowd (docs/benchmarks.md), while they
only change when an organiser changes the programme, which gives the event a new
``programme_stamp``. So each worker keeps plain, immutable copies keyed by (event id, stamp).

Nothing here decides anything: the rules stay in ``services.registration`` (validation and
places read these copies; lifecycle re-checks the stamp under its locks, so a change committed
while it waited for a lock is never missed).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

from symposium.models import (
    Accreditation,
    Event,
    Profession,
    Register,
    Session,
    SessionKind,
    SessionQuota,
)
from symposium.models.event import open_to

CACHE_SIZE = 64  # events per worker; a programme is a few kB


@dataclass(frozen=True, slots=True)
class RegisterRule:
    """A number the registration form asks for (a register that issues numbers)."""

    code: str
    pattern: re.Pattern[str] | None
    identifier_name_nl: str
    identifier_name_en: str
    identifier_hint_nl: str
    identifier_hint_en: str
    several: bool

    @classmethod
    def of(cls, register: Register) -> RegisterRule:
        return cls(
            register.code,
            re.compile(register.identifier_pattern) if register.identifier_pattern else None,
            register.identifier_name_nl,
            register.identifier_name_en,
            register.identifier_hint_nl,
            register.identifier_hint_en,
            register.several,
        )

    def identifier_name(self, locale: str) -> str:
        return self.identifier_name_en if locale == "en" else self.identifier_name_nl

    def identifier_hint(self, locale: str) -> str:
        return self.identifier_hint_en if locale == "en" else self.identifier_hint_nl


@dataclass(frozen=True, slots=True)
class ProfessionRule:
    """A profession as this event's form sees it: the numbers it asks of them, which of those
    a register needs (``required``: one number of each group), and the profession codes
    their BIG numbers should end in."""

    id: int
    code: str
    name_nl: str
    name_en: str
    registers: tuple[RegisterRule, ...]
    required: tuple[tuple[str, ...], ...] = ()
    big_codes: frozenset[str] = frozenset()

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_nl

    @classmethod
    def of(
        cls,
        profession: Profession,
        accredited: Collection[str] = (),
        catalogue: Mapping[str, Register] | None = None,
    ) -> ProfessionRule:
        """The numbers that the profession's registers among ``accredited`` (this event's
        accrediting register codes) take attendance by; none when none accredited it (or
        when only eligibility is asked)."""
        catalogue = catalogue or {}
        registers = [r for r in profession.registers if r.code in accredited]
        asked = dict.fromkeys(code for r in registers for code in r.number_registers)
        return cls(
            profession.id,
            profession.code,
            profession.name_nl,
            profession.name_en,
            tuple(RegisterRule.of(catalogue[code]) for code in asked if code in catalogue),
            tuple(tuple(r.number_registers) for r in registers if r.number_required),
            frozenset(r.big_code for r in registers if r.big_code),
        )


def intervals(session: Session) -> tuple[tuple[datetime, datetime], ...]:
    """When a session takes place: its meetings, or its own (or its round's) times."""
    if session.meetings:
        return tuple((m.starts_at, m.ends_at) for m in session.meetings)
    start, end = session.effective_starts_at, session.effective_ends_at
    return ((start, end),) if start and end else ()


@dataclass(frozen=True, slots=True)
class SessionRule:
    """What the rules need of a session; ``professions`` empty means everyone."""

    id: int
    event_id: int
    kind: SessionKind
    title: str
    round_id: int | None
    round_title: str
    cancelled: bool
    intervals: tuple[tuple[datetime, datetime], ...]
    professions: frozenset[int]
    quotas: MappingProxyType[int, int]  # profession id -> places

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled

    def admits(self, profession_id: int) -> bool:
        return open_to(self.professions, profession_id)

    @classmethod
    def of(cls, session: Session) -> SessionRule:
        return cls(
            session.id,
            session.event_id,
            session.kind,
            session.title,
            session.round_id,
            session.round.title if session.round is not None else "",
            session.is_cancelled,
            intervals(session),
            frozenset(p.id for p in session.professions),
            MappingProxyType({q.profession_id: q.places for q in session.quotas}),
        )


@dataclass(frozen=True, slots=True)
class ProgrammeRules:
    event_id: int
    stamp: str
    sessions: MappingProxyType[int, SessionRule]
    professions: MappingProxyType[str, ProfessionRule]  # the admitted ones, by code


_cache: OrderedDict[tuple[int, str], ProgrammeRules] = OrderedDict()
_lock = threading.Lock()


def rules_for(db: DbSession, event: Event) -> ProgrammeRules:
    """The rules' copy of ``event``'s programme at its current stamp (built on first use)."""
    key = (event.id, event.programme_stamp)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    built = _build(db, event)
    with _lock:
        _cache[key] = built
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return built


def asked_numbers(db: DbSession, event: Event, profession: str) -> tuple[RegisterRule, ...]:
    """The register numbers ``event`` asks of the profession (code): those its accrediting
    registers take attendance by; none at an unaccredited event. The registration, walk-in
    and manage forms ask these, the validation checks them."""
    found = rules_for(db, event).professions.get(profession)
    return found.registers if found is not None else ()


def required_numbers(db: DbSession, event: Event, profession: str) -> frozenset[str]:
    """The numbers the form marks as required: of each group a register needs, the first
    (where the validation reports a missing one)."""
    found = rules_for(db, event).professions.get(profession)
    return frozenset(group[0] for group in found.required if group) if found else frozenset()


def _build(db: DbSession, event: Event) -> ProgrammeRules:
    sessions = db.scalars(
        select(Session)
        .where(Session.event_id == event.id)
        .options(
            selectinload(Session.round),
            selectinload(Session.professions),
            selectinload(Session.quotas).load_only(SessionQuota.profession_id, SessionQuota.places),
            selectinload(Session.meetings),
        )
        # Objects this session already holds may predate the stamp we build for: read anew.
        .execution_options(populate_existing=True)
    ).all()
    admitted = [p.id for p in event.professions]  # none named: the whole catalogue
    professions = (
        select(Profession)
        .options(selectinload(Profession.registers))
        .order_by(Profession.position)
        .execution_options(populate_existing=True)
    )
    if admitted:
        professions = professions.where(Profession.id.in_(admitted))
    accredited = set(
        db.scalars(
            select(Register.code)
            .join(Accreditation, Accreditation.register_id == Register.id)
            .where(Accreditation.event_id == event.id)
        )
    )
    catalogue = {r.code: r for r in db.scalars(select(Register))}
    return ProgrammeRules(
        event.id,
        event.programme_stamp,
        MappingProxyType({s.id: SessionRule.of(s) for s in sessions}),
        MappingProxyType(
            {p.code: ProfessionRule.of(p, accredited, catalogue) for p in db.scalars(professions)}
        ),
    )
