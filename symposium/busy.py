"""Answering a busy database (``services.core.locking.Busy``): 503 with Retry-After.

The app's error handler answers every route; the API gets ``{"error": {"code": "busy"}}``. A
page with a form calls :func:`keep_form` before it calls its service, so that a busy database
shows that same form again, with what was typed and a notice, instead of a page that loses it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from flask import g

from symposium.services.core.locking import lock_timeout_seconds


def keep_form(render: Callable[[], str]) -> None:
    """Should this request find the database busy, answer with ``render()`` (503).

    ``render`` shows the page with the submitted form; it runs after the rollback, so it must
    not rely on anything the failed transaction wrote.
    """
    g.busy_form = render


def kept_form() -> Callable[[], str] | None:
    return g.pop("busy_form", None)


def retry_after() -> int:
    """Seconds to wait before retrying: whoever held the lock held it at least this long."""
    return max(1, math.ceil(lock_timeout_seconds()))
