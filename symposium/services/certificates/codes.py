"""A certificate's verification code: 100 random bits, typed from paper in seconds.

Random from ``secrets`` (never derived from an id, a number or another certificate's code),
written in Crockford's base32 as four groups of five (``K7QM3-XPA9B-4RT0C-VW2HN``) and read
the Crockford way, like the ticket's check-in code (``checkin.tickets``): case, spaces and
dashes ignored, O read as 0, I and L as 1.
"""

from __future__ import annotations

import secrets

from symposium.services.checkin.tickets import ALPHABET, LOOK_ALIKES, SEPARATORS

LENGTH = 20  # 100 bits
GROUP = 5


def new_code() -> str:
    """A fresh code in its stored form (20 characters, no dashes)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def format_code(code: str) -> str:
    """The code as printed: four groups of five joined by dashes."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def parse_code(text: str) -> str | None:
    """The stored form of a typed or scanned code, or None when it cannot be one."""
    code = text.upper().translate(SEPARATORS).translate(LOOK_ALIKES)
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code
