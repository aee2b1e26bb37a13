"""Answering a busy database (``services.core.locking.Busy``): 503 with Retry-After.

The app's error handler answers every route; the API gets ``{"error": {"code": "busy"}}``. A
page with a form calls :func:`keep_form` before it calls its service, so that a busy database
shows that same form again, with what was typed and a notice, instead of a page that loses it.

A database that cannot be reached at all (restarting, down, a connection cut) is answered the
same way, 503 with Retry-After (API code ``database_unavailable``), see :func:`unavailable`;
the engine's ``pool_pre_ping`` then replaces the dead connections once it is back.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import psycopg
from flask import g
from sqlalchemy.exc import DBAPIError

from symposium.services.core.locking import is_lock_timeout, lock_timeout_seconds

# A restart takes a few seconds; a client retrying sooner only adds to the queue.
UNAVAILABLE_RETRY_SECONDS = 5


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


def unavailable(error: BaseException) -> bool:
    """Whether a database error means "cannot reach the database" rather than a bad statement.

    PostgreSQL: any driver ``OperationalError`` (connection refused or cut, the server shutting
    down or starting up) except a lock timeout, which is ``Busy``. SQLite has no server: only
    a connection SQLAlchemy itself found dead counts.
    """
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    return isinstance(error.orig, psycopg.OperationalError) and not is_lock_timeout(error.orig)
