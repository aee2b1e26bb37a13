"""Answering a busy database (``services.core.locking.Busy``): 503 with Retry-After.

The app's error handler answers every route; the API gets ``{"error": {"code": "busy"}}``.
"""

from __future__ import annotations

import math

from symposium.services.core.locking import lock_timeout_seconds


def retry_after() -> int:
    """Seconds to wait before retrying: whoever held the lock held it at least this long."""
    return max(1, math.ceil(lock_timeout_seconds()))
