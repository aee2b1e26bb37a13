"""The one place that asks what time it is, so tests can inject a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def now() -> datetime:
    """Current time as an aware UTC datetime (``CLOCK`` config overrides it)."""
    clock = current_app.config.get("CLOCK")
    return clock() if clock is not None else datetime.now(UTC)


def localise(value: datetime, zone: ZoneInfo) -> datetime:
    """Turn a wall-clock time in ``zone`` into UTC, refusing times a DST change skips or repeats."""
    candidates = set()
    for fold in (0, 1):
        utc = value.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if utc.astimezone(zone).replace(tzinfo=None) == value:
            candidates.add(utc)
    if not candidates:
        raise ValueError(f"{value:%Y-%m-%d %H:%M} does not exist in {zone.key} (clocks go forward)")
    if len(candidates) > 1:
        raise ValueError(
            f"{value:%Y-%m-%d %H:%M} happens twice in {zone.key} (clocks go back); "
            "add a UTC offset, e.g. +02:00"
        )
    return candidates.pop()
