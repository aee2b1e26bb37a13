"""The one place that asks what time it is, so tests can inject a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app


def now() -> datetime:
    """Current time as an aware UTC datetime (``CLOCK`` config overrides it)."""
    clock = current_app.config.get("CLOCK")
    return clock() if clock is not None else datetime.now(UTC)
