"""Absolute links from BASE_URL, and the one check of a path to send someone back to.

Links are built from the configured public address, never from the request's Host header:
mail is written by a worker outside any request, and a link built from a forged Host
("password-reset poisoning") would hand a reset token to whoever owns that host.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import current_app

# Percent-decoding is repeated at most this often; a path still changing after that is refused.
_MAX_DECODINGS = 4


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL on BASE_URL, in a request or not (mail, calendars, API answers)."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http"
    )
    current_app.inject_url_defaults(endpoint, values)
    return adapter.build(endpoint, values, force_external=True)


def same_site_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site (to redirect to after sign-in), else None.

    Parsed, not pattern-matched: no scheme, no host, one leading "/", and no control
    characters, spaces or backslashes, in the text as given and after each percent-decoding
    (browsers read ``/\\evil.example`` and ``/%09/evil.example`` as another host).
    """
    if not target:
        return None
    text = target
    for _ in range(_MAX_DECODINGS + 1):
        if not _plain_path(text):
            return None
        decoded = unquote(text)
        if decoded == text:
            return target
        text = decoded
    return None


def _plain_path(text: str) -> bool:
    # Cc/Cf/Zs/Zl…: tabs, CR/LF, NUL, zero-width and other spaces, which browsers strip.
    if any(c == "\\" or unicodedata.category(c)[0] in "CZ" for c in text):
        return False
    parts = urlsplit(text)
    return (
        not parts.scheme and not parts.netloc and text.startswith("/") and not text.startswith("//")
    )
