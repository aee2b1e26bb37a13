"""Jinja filters that show instants in the event's own time zone and language."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from flask import Flask
from flask_babel import get_locale

from symposium.services.accreditation.points import shown_points


def local(value: datetime, zone: str) -> datetime:
    """The instant ``value`` on the wall clock of ``zone``."""
    return value.astimezone(ZoneInfo(zone))


def local_time(value: datetime | None, zone: str) -> str:
    if value is None:
        return ""
    return format_time(local(value, zone), "HH:mm", locale=get_locale())


def local_date(value: datetime | None, zone: str, fmt: str = "full") -> str:
    if value is None:
        return ""
    return format_date(local(value, zone).date(), fmt, locale=get_locale())


def day(value: date) -> str:
    """A calendar day, e.g. "donderdag 18 maart 2027"."""
    return format_date(value, "full", locale=get_locale())


def date_span(first: date, last: date) -> str:
    """Two calendar days, the year once when they share it: "9 maart – 13 april 2027"."""
    locale = get_locale()
    if first == last:
        return format_date(last, "long", locale=locale)
    if first.year == last.year:
        start = format_skeleton("MMMMd", first, locale=locale)
    else:
        start = format_date(first, "long", locale=locale)
    return f"{start} – {format_date(last, 'long', locale=locale)}"


def language_name(code: str) -> str:
    """A language code ("nl") by its name in the page's language ("Nederlands", "Dutch")."""
    return Locale.parse(code).get_display_name(get_locale()) or code


def localised_name(obj: object) -> str:
    """Name of a catalogue entry (profession, theme) in the current language."""
    return obj.name(str(get_locale()))  # type: ignore[attr-defined]


def in_sentence(name: str) -> str:
    """A name inside a sentence: "huisarts", but "GZ-psycholoog" and "SPV" stay as they are."""
    if len(name) > 1 and name[0].isupper() and name[1].islower():
        return name[0].lower() + name[1:]
    return name


def whole_minutes(delta: timedelta | None) -> int | None:
    """Minutes late or early as a list shows them: whole minutes, rounded down."""
    return int(delta.total_seconds() // 60) if delta is not None else None


def points(value: Decimal | str | int) -> str:
    """Points as people write them: 1,5 or 6 (see ``accreditation.points.shown_points``)."""
    return shown_points(Decimal(str(value)))


def register(app: Flask) -> None:
    app.add_template_filter(points)
    app.add_template_filter(local_time)
    app.add_template_filter(whole_minutes)
    app.add_template_filter(in_sentence)
    app.add_template_filter(local_date)
    app.add_template_filter(day)
    app.add_template_filter(date_span)
    app.add_template_filter(language_name)
    app.add_template_filter(localised_name, "name")
    app.add_template_global(local, "local")
    app.add_template_global(get_locale)
