"""An event's branding: its logo and accent colour, on its pages, in its PDFs and mail.

The rules, for the back-office and the event file alike:

- The accent colour is ``#rrggbb`` and must leave white text readable (WCAG AA, a contrast
  of at least 4.5:1): buttons and the header bar put white text on it, and links put it on
  white, which is the same ratio. Empty means the site's own colour.
- The logo is a PNG or JPEG (told by its first bytes, never by its name) of at most
  :data:`MAX_LOGO` bytes. It is decoded with Pillow, scaled down to :data:`LOGO_BOX` and
  encoded again, so only its pixels are kept (no metadata, nothing appended to the file).
  SVG is refused: it can carry scripts, and fpdf2 would print it only in part.
- The logo is kept in the database (``EventLogo``), not in a folder: every app host
  serves it and every mail worker prints it, without storage shared between hosts.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import Event, EventLogo, User
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.core.locking import begin_write, lock_event
from symposium.services.core.urls import external_url
from symposium.services.programme.public import PUBLIC_STATUSES

DEFAULT_ACCENT = "#1f5f8b"  # the site's own (static/css/site.css, services/core/pdf.py)
MIN_CONTRAST = 4.5  # WCAG 2.x AA for normal text
MAX_LOGO = 500_000  # bytes; below the request limit (MAX_CONTENT_LENGTH, which gives a 413)
MAX_PIXELS = 25_000_000  # a small file may still unpack into gigabytes: refused unread
LOGO_BOX = (1200, 400)  # pixels: sharp in a 48 px high header on any screen and in print
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
MAGIC = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}


@dataclass(frozen=True)
class Logo:
    """A logo as it is stored: re-encoded, with its type, size and digest."""

    data: bytes
    content_type: str
    width: int
    height: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Brand:
    """What mail needs of an event's branding: its accent (always a colour, the event's or
    the site's) and the absolute address of its logo, if it has one."""

    accent: str
    logo_url: str | None


@dataclass(frozen=True)
class PdfBrand:
    """What a PDF needs: the accent as RGB and the logo's bytes with its size in pixels."""

    accent: tuple[int, int, int]
    logo: bytes | None
    logo_size: tuple[int, int]


def contrast_with_white(colour: str) -> float:
    """The WCAG contrast ratio of white text on ``colour`` (``#rrggbb``), 1 to 21."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def checked_accent(colour: str | None) -> str:
    """``colour`` in lower case, or "" for the default; RuleError when it is no colour or
    white text on it would be hard to read."""
    colour = (colour or "").strip()
    if not colour:
        return ""
    if not COLOUR.fullmatch(colour):
        raise RuleError(
            "accent_invalid",
            _l("Give the colour as # and six hexadecimal digits, e.g. #7a2e5c."),
            field="accent_colour",
        )
    ratio = contrast_with_white(colour)
    if ratio < MIN_CONTRAST:
        shown = f"{int(ratio * 100) / 100:.2f}"  # rounded down: 4.499 is not "4.50"
        raise RuleError(
            "accent_low_contrast",
            _l(
                "White text on %(colour)s has a contrast of only %(ratio)s:1; buttons and the "
                "header need at least 4.5:1. Choose a darker colour.",
                colour=colour.lower(),
                ratio=shown,
            ),
            field="accent_colour",
        )
    return colour.lower()


def checked_logo(data: bytes) -> Logo:
    """The uploaded logo, checked and re-encoded (see the module); RuleError when it is too
    large or not a PNG or JPEG image."""

    # Made when raised: a RuleError renders its message, which asks for the language.
    def too_large() -> RuleError:
        return RuleError(
            "logo_too_large", _l("The logo is larger than 500 kB or 25 megapixels."), field="logo"
        )

    def not_image() -> RuleError:
        return RuleError(
            "logo_not_image", _l("Upload the logo as a PNG or JPEG image."), field="logo"
        )

    if len(data) > MAX_LOGO:
        raise too_large()
    kind = next((k for magic, k in MAGIC.items() if data.startswith(magic)), None)
    if kind is None:
        raise not_image()
    try:
        with Image.open(io.BytesIO(data), formats=[kind]) as image:
            if image.width * image.height > MAX_PIXELS:
                raise too_large()
            image.load()
            return _encoded(image, kind)
    except Image.DecompressionBombError:
        raise too_large() from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise not_image() from None


def _encoded(image: Image.Image, kind: str) -> Logo:
    """The pixels again, at most :data:`LOGO_BOX`: a PNG keeps its transparency, a JPEG
    (a photo, likely) stays a JPEG so it stays small."""
    picture = image
    if image.mode.startswith("I"):  # 16-bit grey: scaled to 8 bits, not clipped to white
        picture = image.convert("I").point(lambda v: v / 257).convert("L")
    elif image.mode in ("P", "PA", "LA"):
        picture = image.convert("RGBA")
    picture = picture.convert("RGBA" if "A" in picture.mode else "RGB")
    picture.thumbnail(LOGO_BOX)
    out = io.BytesIO()
    if kind == "JPEG":
        if picture.mode == "RGBA":
            picture = picture.convert("RGB")
        picture.save(out, format="JPEG", quality=90, optimize=True)
    else:
        picture.save(out, format="PNG", optimize=True)
    return Logo(out.getvalue(), CONTENT_TYPES[kind], picture.width, picture.height)


def state(event: Event) -> dict[str, str]:
    """The branding as the audit log records it."""
    logo = event.logo
    return {
        "accent_colour": event.accent_colour,
        "logo": f"{logo.content_type.split('/')[1].upper()} {logo.width}×{logo.height} "
        f"({logo.digest[:8]})"
        if logo is not None
        else "",
    }


def apply(event: Event, accent_colour: str, logo: Logo | None, remove_logo: bool) -> bool:
    """Set checked values on the event (a new logo replaces the old, ``remove_logo`` drops
    it); whether anything changed. For :func:`save` and the event file."""
    changed = event.accent_colour != accent_colour
    event.accent_colour = accent_colour
    current = event.logo
    if logo is not None and (current is None or current.digest != logo.digest):
        if current is None:
            event.logo = current = EventLogo()
        current.data, current.content_type = logo.data, logo.content_type
        current.width, current.height, current.digest = logo.width, logo.height, logo.digest
        changed = True
    elif logo is None and remove_logo and current is not None:
        event.logo = None
        changed = True
    return changed


def save(
    db: DbSession,
    user: User | None,
    event: Event,
    *,
    accent_colour: str | None,
    logo: bytes | None,
    remove_logo: bool,
    now: datetime,
) -> bool:
    """Change the branding from the back-office (checked as the module says), with an
    entry in the audit log; whether anything changed."""
    accent = checked_accent(accent_colour)
    new_logo = checked_logo(logo) if logo else None
    # A new look restamps the event (its cached pages): its row is taken as a programme
    # change takes it.
    begin_write(db)
    lock_event(db, event.id)
    before = state(event)
    changed = apply(event, accent, new_logo, remove_logo)
    if changed:
        audit.record(
            db, user=user, event=event, action="branding_changed", target="branding",
            before=before, after=state(event), now=now,
        )  # fmt: skip
    db.flush()
    return changed


def public_logo(db: DbSession, slug: str) -> EventLogo | None:
    """The logo of a public event (published or cancelled), its bytes not read yet: a
    request that already has this version is answered without them."""
    return db.scalars(
        select(EventLogo)
        .join(Event, Event.id == EventLogo.event_id)
        .where(Event.slug == slug, Event.status.in_(PUBLIC_STATUSES))
    ).one_or_none()


def accent_css(colour: str) -> str:
    """The stylesheet that gives a page the event's accent (``colour`` checked by the
    caller). A stylesheet of our own, because the Content-Security-Policy allows no inline
    style (security_headers.py)."""
    return f":root {{ --accent: {colour}; }}\n"


def accent(event: Event) -> str:
    """The colour to use: the event's, else the site's."""
    return event.accent_colour or DEFAULT_ACCENT


def rgb(colour: str) -> tuple[int, int, int]:
    """``#rrggbb`` as fpdf2 takes it."""
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def for_pdf(event: Event) -> PdfBrand:
    """The event's branding for a PDF (the logo's bytes are read here, once per session)."""
    logo = event.logo
    if logo is None:
        return PdfBrand(rgb(accent(event)), None, (0, 0))
    return PdfBrand(rgb(accent(event)), logo.data, (logo.width, logo.height))


def for_mail(event: Event) -> Brand:
    """The hook for mail templates: the accent colour (``#rrggbb``, always set) and the
    absolute URL of the logo (on BASE_URL, versioned so it may be cached for a year), or
    None when the event has none. Works in a worker, outside any request."""
    logo = event.logo
    url = (
        external_url("programme.event_logo", slug=event.slug, v=logo.digest[:16])
        if logo is not None
        else None
    )
    return Brand(accent(event), url)
