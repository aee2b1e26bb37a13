"""Event definition files (TOML): read and validate completely, into plain specs.

Every problem in a file is collected (with its path in the file) before anything is written;
``programme.event_loading`` then creates or updates the event from the specs. See
docs/event-file.md.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.clock import localise
from symposium.models import EventKind, EventStatus, Profession, Register, SessionKind, Theme
from symposium.models.event import SLUG
from symposium.services.accreditation import event_file as accreditation_file
from symposium.services.accreditation.event_file import AccreditationSpec
from symposium.services.core.errors import RuleError
from symposium.services.programme import branding
from symposium.services.programme.file_reader import EventFileError as EventFileError
from symposium.services.programme.file_reader import Problem as Problem
from symposium.services.programme.file_reader import Reader, join

KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


LANGUAGES = ("nl", "en")


EVENT_KEYS = {
    "slug", "title", "subtitle", "description", "audience", "objectives", "venue", "address",
    "timezone", "starts_at", "ends_at", "registration_opens_at", "registration_closes_at",
    "capacity", "status", "languages", "professions", "organiser", "rounds", "sessions",
    "late_tolerance_minutes", "early_tolerance_minutes", "accreditations", "reminder_days",
    "practical_info", "branding", "kind", "referral_retention_months",
}  # fmt: skip


BRANDING_KEYS = {"accent_colour", "logo"}


ORGANISER_KEYS = {"name", "email", "phone"}


ROUND_KEYS = {"key", "title", "starts_at", "ends_at"}


SESSION_KEYS = {
    "key", "kind", "title", "description", "speakers", "room", "themes", "round", "starts_at",
    "ends_at", "capacity", "professions", "quotas", "hours", "meetings", "series",
}  # fmt: skip


MEETING_KEYS = {"key", "title", "room", "starts_at", "ends_at"}


SERIES_KEYS = {"first_starts_at", "duration_minutes", "count", "interval_days"}


@dataclass
class MeetingSpec:
    key: str
    title: str
    room: str
    starts_at: datetime
    ends_at: datetime


@dataclass
class SessionSpec:
    key: str
    values: dict[str, Any]
    round_key: str | None
    themes: list[str]
    professions: list[str]
    quotas: dict[str, int]
    meetings: list[MeetingSpec]


@dataclass
class RoundSpec:
    key: str
    values: dict[str, Any]


@dataclass
class BrandingSpec:
    """The file's [branding]: what it leaves out is the site's default (no logo)."""

    accent_colour: str
    logo: branding.Logo | None


@dataclass
class EventSpec:
    slug: str
    values: dict[str, Any]
    professions: list[str]
    rounds: list[RoundSpec]
    sessions: list[SessionSpec]
    # None: the file has no [[accreditations]] (the event's stay as they are).
    accreditations: list[AccreditationSpec] | None = None
    # None: the file has no [branding] (the event's, perhaps set in the back-office, stays).
    branding: BrandingSpec | None = None


def parse_file(path: str | Path, db: DbSession) -> EventSpec:
    """Read and validate a file; raise :class:`EventFileError` listing every problem."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise EventFileError([Problem(str(path), exc.strerror or str(exc))]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise EventFileError([Problem(str(path), f"not valid TOML: {exc}")]) from exc
    return parse_data(data, db, Path(path).parent)


def parse_data(data: dict[str, Any], db: DbSession, folder: Path | None = None) -> EventSpec:
    """Validate a file's contents; a logo's path is relative to ``folder`` (the file's)."""
    problems: list[Problem] = []
    zone_name = data.get("timezone", "Europe/Amsterdam")
    try:
        zone = ZoneInfo(zone_name) if isinstance(zone_name, str) else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    if zone is None:
        problems.append(Problem("timezone", f"unknown time zone {zone_name!r}"))
        zone = ZoneInfo("Europe/Amsterdam")
    r = Reader(problems, zone)
    r.table(data, "", EVENT_KEYS)

    profession_codes = set(db.scalars(select(Profession.code)))
    theme_codes = set(db.scalars(select(Theme.code)))

    slug = r.text(data, "slug", "", required=True, max_length=80)
    if slug and not SLUG.fullmatch(slug):
        r.problem("slug", "use lower-case letters, digits and single hyphens (e.g. 7roses-2027)")
    organiser = r.table(data.get("organiser", {}), "organiser", ORGANISER_KEYS)
    languages = r.text_list(data, "languages", "") if "languages" in data else ["nl"]
    for i, lang in enumerate(languages):
        if lang not in LANGUAGES:
            r.problem(f"languages[{i + 1}]", f"must be one of: {', '.join(LANGUAGES)}")
    if not languages:
        r.problem("languages", "name at least one language")
    values: dict[str, Any] = {
        "title": r.text(data, "title", "", required=True, max_length=200),
        "subtitle": r.text(data, "subtitle", "", max_length=300),
        "description": r.text(data, "description", ""),
        "audience": r.text(data, "audience", ""),
        "objectives": r.text_list(data, "objectives", ""),
        "venue": r.text(data, "venue", "", max_length=200),
        "address": r.text(data, "address", "", max_length=300),
        "timezone": zone.key,
        "starts_at": r.instant(data, "starts_at", "", required=True),
        "ends_at": r.instant(data, "ends_at", "", required=True),
        "registration_opens_at": r.instant(data, "registration_opens_at", ""),
        "registration_closes_at": r.instant(data, "registration_closes_at", ""),
        "capacity": r.integer(data, "capacity", "", minimum=1),
        "status": EventStatus(
            r.choice(data, "status", "", tuple(s.value for s in EventStatus), "draft")
        ),
        "organiser_name": r.text(organiser, "name", "organiser", max_length=200),
        "organiser_email": r.text(organiser, "email", "organiser", max_length=254),
        "organiser_phone": r.text(organiser, "phone", "organiser", max_length=40),
        "languages": languages,
        "late_tolerance_minutes": _tolerance(r, data, "late_tolerance_minutes"),
        "early_tolerance_minutes": _tolerance(r, data, "early_tolerance_minutes"),
        "reminder_days": _reminder_days(r, data),
        "practical_info": r.text(data, "practical_info", ""),
        "kind": EventKind(
            r.choice(data, "kind", "", tuple(k.value for k in EventKind), "symposium")
        ),
        "referral_retention_months": _retention_months(r, data),
    }
    if "referral_retention_months" in data and values["kind"] is not EventKind.SERIES:
        r.problem("referral_retention_months", 'only a series (kind = "series") takes referrals')
    if values["organiser_email"] and not EMAIL.fullmatch(values["organiser_email"]):
        r.problem("organiser.email", "is not an e-mail address")
    event_start, event_end = values["starts_at"], values["ends_at"]
    _check_order(r, "ends_at", event_start, event_end)
    opens, closes = values["registration_opens_at"], values["registration_closes_at"]
    _check_order(r, "registration_closes_at", opens, closes)
    if closes and event_end and closes > event_end:
        r.problem("registration_closes_at", "must not be after the event ends")

    event_professions = _codes(r, data, "professions", "", profession_codes, "profession")

    rounds: list[RoundSpec] = []
    round_times: dict[str, tuple[datetime | None, datetime | None]] = {}
    for i, raw in enumerate(_list_of_tables(r, data, "rounds")):
        path = _item_path("rounds", i, raw)
        item = r.table(raw, path, ROUND_KEYS)
        key = _key(r, item, path, round_times)
        start = r.instant(item, "starts_at", path, required=True)
        end = r.instant(item, "ends_at", path, required=True)
        _check_order(r, f"{path}.ends_at", start, end)
        _check_within(r, path, start, end, event_start, event_end)
        title = r.text(item, "title", path, required=True, max_length=200)
        if key:
            round_times[key] = (start, end)
            rounds.append(RoundSpec(key, {"title": title, "starts_at": start, "ends_at": end}))

    sessions: list[SessionSpec] = []
    seen_sessions: dict[str, object] = {}
    for i, raw in enumerate(_list_of_tables(r, data, "sessions")):
        path = _item_path("sessions", i, raw)
        item = r.table(raw, path, SESSION_KEYS)
        key = _key(r, item, path, seen_sessions)
        kind = r.choice(item, "kind", path, tuple(k.value for k in SessionKind), "workshop")
        round_key = r.text(item, "round", path) or None
        if round_key is not None and round_key not in round_times:
            r.problem(f"{path}.round", f"no round with key {round_key!r}")
        start = r.instant(item, "starts_at", path)
        end = r.instant(item, "ends_at", path)
        if (start is None) != (end is None):
            r.problem(path, "give both starts_at and ends_at, or neither")
        _check_order(r, f"{path}.ends_at", start, end)
        _check_within(r, path, start, end, event_start, event_end)
        meetings = _meetings(r, item, path, event_start, event_end)
        if not {"starts_at", "ends_at", "round", "meetings", "series"} & item.keys():
            r.problem(path, "needs a time: a round, starts_at/ends_at, meetings or a series")
        professions = _codes(r, item, "professions", path, profession_codes, "profession")
        if event_professions:
            for code in professions:
                if code not in event_professions:
                    r.problem(f"{path}.professions", f"{code!r} is not admitted by the event")
        quotas = _quotas(r, item, path, profession_codes, professions or event_professions)
        hours = r.number(item, "hours", path, what="hours")
        values_s = {
            "kind": SessionKind(kind),
            "title": r.text(item, "title", path, required=True, max_length=200),
            "description": r.text(item, "description", path),
            "speakers": r.text_list(item, "speakers", path),
            "room": r.text(item, "room", path, max_length=120),
            "starts_at": start,
            "ends_at": end,
            "capacity": r.integer(item, "capacity", path, minimum=0),
            "hours": hours,
            "position": i,
        }
        themes = _codes(r, item, "themes", path, theme_codes, "theme")
        if key:
            sessions.append(
                SessionSpec(key, values_s, round_key, themes, professions, quotas, meetings)
            )

    accrediting = set(db.scalars(select(Register.code).where(Register.accredits)))
    hours = {s.key: s.values["hours"] for s in sessions}
    accreditations = accreditation_file.parse(r, data, hours, accrediting)
    brand = _branding(r, data, folder) if "branding" in data else None
    if problems:
        raise EventFileError(problems)
    return EventSpec(slug, values, event_professions, rounds, sessions, accreditations, brand)


def _branding(r: Reader, data: dict[str, Any], folder: Path | None) -> BrandingSpec | None:
    """[branding]: the accent colour and the logo file, by the back-office's rules."""
    table = r.table(data["branding"], "branding", BRANDING_KEYS)
    colour = r.text(table, "accent_colour", "branding")
    logo_path = r.text(table, "logo", "branding")
    spec = BrandingSpec("", None)
    try:
        spec.accent_colour = branding.checked_accent(colour)
    except RuleError as exc:
        r.problem("branding.accent_colour", _english(exc))
    if not logo_path:
        return spec
    base = (folder or Path.cwd()).resolve()
    try:
        path = (base / logo_path).resolve()
    except (OSError, ValueError):
        path = None
    # Only a file beside the event file (or below it): a file handed to the operator must
    # not publish an image from elsewhere on the server as its logo.
    if path is None or Path(logo_path).is_absolute() or not path.is_relative_to(base):
        r.problem("branding.logo", "must be a file in the event file's folder (a relative path)")
        return spec
    if not path.is_file():
        r.problem("branding.logo", f"{logo_path}: no such file")
        return spec
    try:
        with open(path, "rb") as fh:
            raw = fh.read(branding.MAX_LOGO + 1)
        spec.logo = branding.checked_logo(raw)
    except OSError as exc:
        r.problem("branding.logo", f"cannot read {str(path)!r}: {exc.strerror or exc}")
    except RuleError as exc:
        r.problem("branding.logo", f"{logo_path}: {_english(exc)}")
    return spec


def _english(exc: RuleError) -> str:
    """A rule's message as the file's other problems are given: in English."""
    with force_locale("en"):
        return str(exc.message)


def _tolerance(r: Reader, data: dict[str, Any], key: str) -> int:
    """Minutes late (or early) that still count as attending in full; 10 when not given."""
    minutes = r.integer(data, key, "", minimum=0)
    if minutes is not None and minutes > 120:
        r.problem(key, "must be at most 120 minutes")
        return 10
    return 10 if minutes is None else minutes


def _reminder_days(r: Reader, data: dict[str, Any]) -> int:
    """Days before the event its registrants get a reminder; 2 when not given, 0 for none."""
    days = r.integer(data, "reminder_days", "", minimum=0)
    if days is not None and days > 30:
        r.problem("reminder_days", "must be at most 30 days")
        return 2
    return 2 if days is None else days


def _retention_months(r: Reader, data: dict[str, Any]) -> int:
    """Months after closing that a series keeps a referral (12 when not given): at least one,
    at most ten years."""
    months = r.integer(data, "referral_retention_months", "", minimum=1)
    if months is not None and months > 120:
        r.problem("referral_retention_months", "must be at most 120 months")
        return 12
    return 12 if months is None else months


def _list_of_tables(r: Reader, data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        r.problem(key, f"must be an array of tables ([[{key}]])")
        return []
    return value


def _item_path(prefix: str, index: int, raw: Any) -> str:
    key = raw.get("key") if isinstance(raw, dict) else None
    if isinstance(key, str) and key:
        return f"{prefix}.{key}"
    return f"{prefix}[{index + 1}]"


def _key(r: Reader, item: dict[str, Any], path: str, seen: dict[str, Any]) -> str | None:
    key = r.text(item, "key", path, required=True, max_length=60)
    if not key:
        return None
    if not KEY.fullmatch(key):
        r.problem(f"{path}.key", "use letters, digits, '-' and '_' only")
        return None
    if key in seen:
        r.problem(f"{path}.key", f"key {key!r} is used twice")
        return None
    seen[key] = True
    return key


def _codes(
    r: Reader, data: dict[str, Any], key: str, path: str, known: set[str], what: str
) -> list[str]:
    codes = r.text_list(data, key, path)
    for code in codes:
        if code not in known:
            r.problem(join(path, key), f"unknown {what} {code!r}")
    if len(set(codes)) != len(codes):
        r.problem(join(path, key), "names the same code twice")
    return [c for c in dict.fromkeys(codes) if c in known]


def _quotas(
    r: Reader, item: dict[str, Any], path: str, known: set[str], allowed: list[str]
) -> dict[str, int]:
    raw = item.get("quotas", {})
    if not isinstance(raw, dict):
        r.problem(f"{path}.quotas", "must be a table of profession = places")
        return {}
    quotas: dict[str, int] = {}
    for code, places in raw.items():
        where = f"{path}.quotas.{code}"
        if code not in known:
            r.problem(where, f"unknown profession {code!r}")
        elif allowed and code not in allowed:
            r.problem(where, "this profession may not join the session")
        elif isinstance(places, bool) or not isinstance(places, int) or places < 0:
            r.problem(where, "must be a whole number of places, 0 or more")
        else:
            quotas[code] = places
    return quotas


def _meetings(
    r: Reader,
    item: dict[str, Any],
    path: str,
    event_start: datetime | None,
    event_end: datetime | None,
) -> list[MeetingSpec]:
    if "meetings" in item and "series" in item:
        r.problem(path, "give meetings or a series, not both")
        return []
    meetings: list[MeetingSpec] = []
    if "series" in item:
        where = f"{path}.series"
        if not isinstance(item["series"], dict):
            r.problem(where, "must be a table: { first_starts_at = …, count = …, … }")
            return []
        series = r.table(item["series"], where, SERIES_KEYS)
        first = series.get("first_starts_at")
        count = r.integer(series, "count", where, minimum=1, required=True)
        minutes = r.integer(series, "duration_minutes", where, minimum=1, required=True)
        interval = r.integer(series, "interval_days", where, minimum=1) or 7
        if first is None:
            r.problem(f"{where}.first_starts_at", "is required")
        elif not isinstance(first, datetime) or first.tzinfo is not None:
            r.problem(
                f"{where}.first_starts_at",
                "must be a local date and time without offset (e.g. 2027-03-09T19:00:00)",
            )
        elif count and minutes:
            # Repeat on the wall clock, so a weekly 19:00 stays 19:00 across DST changes.
            for n in range(count):
                wall = first + timedelta(days=n * interval)
                try:
                    start = localise(wall, r.zone)
                    end = localise(wall + timedelta(minutes=minutes), r.zone)
                except ValueError as exc:
                    r.problem(f"{where}", f"meeting {n + 1}: {exc}")
                    continue
                meetings.append(MeetingSpec(str(n + 1), "", "", start, end))
    else:
        seen: dict[str, Any] = {}
        for i, raw in enumerate(_list_of_tables(r, item, "meetings")):
            where = f"{path}.meetings[{i + 1}]"
            meeting = r.table(raw, where, MEETING_KEYS)
            if "key" not in meeting and isinstance(raw, dict):
                meeting = {**meeting, "key": str(i + 1)}
            key = _key(r, meeting, where, seen)
            start = r.instant(meeting, "starts_at", where, required=True)
            end = r.instant(meeting, "ends_at", where, required=True)
            _check_order(r, f"{where}.ends_at", start, end)
            title = r.text(meeting, "title", where, max_length=200)
            room = r.text(meeting, "room", where, max_length=120)
            if key and start and end:
                meetings.append(MeetingSpec(key, title, room, start, end))
    for m in meetings:
        _check_within(r, f"{path}.meetings.{m.key}", m.starts_at, m.ends_at, event_start, event_end)
    return meetings


def _check_order(r: Reader, path: str, start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        r.problem(path, "must be after the start")


def _check_within(
    r: Reader,
    path: str,
    start: datetime | None,
    end: datetime | None,
    event_start: datetime | None,
    event_end: datetime | None,
) -> None:
    if None in (start, end, event_start, event_end):
        return
    if start < event_start or end > event_end:  # type: ignore[operator]
        r.problem(path, "must lie within the event's starts_at and ends_at")
