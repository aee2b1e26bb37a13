"""A registration's check-in code: what the QR code on a ticket or badge holds.

The code is random (65 bits from ``secrets``), not derived from the id or the manage token:
a photo of a badge lets nobody open the registration, and knowing the manage link does not
tell anyone the code. It is 13 characters of Crockford's base32 alphabet (no I, L, O or U,
so no two characters look alike), stored without dashes and shown as ``ABCD-EFGH-JKMNP``.
Typed codes are read the Crockford way: case, spaces and dashes ignored, O read as 0 and
I or L as 1. Unique per event (a database constraint on (event_id, checkin_code)).
"""

from __future__ import annotations

import io
import secrets

import segno
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import Event, Registration

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: 5 bits a character
LENGTH = 13  # 65 bits
GROUPS = (4, 4, 5)
# What people type for what they read (Crockford): O for 0, I and L for 1.
LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
SEPARATORS = str.maketrans("", "", " -\u2010\u2011\u2012\u2013\u2014_.\t")


def new_code() -> str:
    """A fresh random code (stored form: 13 characters, no dashes)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def format_code(code: str) -> str:
    """The code as people read it: ``ABCD-EFGH-JKMNP``."""
    parts, start = [], 0
    for size in GROUPS:
        parts.append(code[start : start + size])
        start += size
    return "-".join(parts)


def parse_code(text: str) -> str | None:
    """The stored form of a typed or scanned code, or None when it cannot be one."""
    code = text.upper().translate(SEPARATORS).translate(LOOK_ALIKES)
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def find_by_code(db: DbSession, event: Event, text: str) -> Registration | None:
    """The registration of this event with this code (typed or scanned), if any."""
    code = parse_code(text)
    if code is None:
        return None
    return db.scalars(
        select(Registration).where(
            Registration.event_id == event.id, Registration.checkin_code == code
        )
    ).one_or_none()


def code_taken(db: DbSession, event_id: int, code: str) -> bool:
    """Whether another registration of the event already has this code (a collision)."""
    found = select(Registration.id).where(
        Registration.event_id == event_id, Registration.checkin_code == code
    )
    return db.execute(found).first() is not None


def qr(code: str) -> segno.QRCode:
    """The QR code of a ticket: the formatted code only, never a link (see the module)."""
    return segno.make_qr(format_code(code), error="m")


def qr_svg(code: str, title: str) -> str:
    """An inline ``<svg>`` element (no XML declaration, no style attribute) for a page."""
    buffer = io.BytesIO()
    qr(code).save(
        buffer, kind="svg", xmldecl=False, svgns=True, border=4, title=title, omitsize=True,
        svgclass="ticket-qr", lineclass=None, dark="#000", light="#fff",
    )  # fmt: skip
    # An image with a name (its <title>) for screen readers; sized by the stylesheet.
    return buffer.getvalue().decode().strip().replace("<svg ", '<svg role="img" ', 1)


def qr_png(code: str, scale: int = 8) -> bytes:
    """The QR code as a PNG (the confirmation mail's inline image, the PDF ticket)."""
    buffer = io.BytesIO()
    qr(code).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
