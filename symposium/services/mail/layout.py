"""A mail's two parts from one template per kind: a text that reads on its own, and HTML.

Each kind has one template, ``templates/mail/<kind>.txt``: what only that kind says, in the
blocks ``greeting``, ``lead`` and ``note``, extending ``mail/layout.txt``, which adds what
kinds share (the programme, the ticket, the certificate, the manage link, the organiser).
The HTML part (``mail/layout.html``) is laid out from the same data: the event with its
date, venue and a route link, the programme as a table, a button, the ticket's QR code,
the organiser's contact. The kind's own words reach it as paragraphs taken from the same
blocks (plain text, escaped by autoescape), so no sentence is written twice and the two
parts cannot drift apart, while no link, list or button is made from the text.

Layout rules for the HTML (what Outlook's Word engine, Gmail and Apple Mail all render):
tables for layout and a table cell with ``bgcolor`` for the button, inline styles, a fixed
600 px column for Outlook and ``max-width`` for the rest, no flex or grid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from flask import current_app, render_template

from symposium.models import Event, Session
from symposium.services.programme import calendar

# The accent of a mail without the event's own branding, and what a brand may give.
DEFAULT_ACCENT = "#1f5f8b"
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")

# Where the route link goes: OpenStreetMap's search, no account, key or tracking parameters.
ROUTE_URL = "https://www.openstreetmap.org/search?query="

_FAR = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Brand:
    """The look of a mail: its accent colour (buttons, rules) and an optional logo."""

    accent: str
    logo_url: str | None

    @classmethod
    def checked(cls, accent: str | None, logo_url: str | None) -> Brand:
        """Only a ``#rrggbb`` colour and an absolute http(s) address reach the HTML: the
        colour goes into style attributes, where escaping alone would not stop CSS."""
        colour = accent if accent and _HEX_COLOUR.fullmatch(accent) else DEFAULT_ACCENT
        parts = urlsplit(logo_url or "")
        logo = logo_url if parts.scheme in ("http", "https") and parts.netloc else None
        return cls(colour, logo)

    @property
    def on_accent(self) -> str:
        """Text colour on the accent: white unless the accent is light (WCAG luminance)."""
        srgb = [int(self.accent[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        red, green, blue = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
                            for c in srgb)  # fmt: skip
        luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
        return "#ffffff" if 1.05 / (luminance + 0.05) >= 4.5 else "#1d2330"


@dataclass(frozen=True)
class Row:
    """One line of the registrant's programme: a plenary session or one of their places."""

    title: str
    round: str
    plenary: bool
    status: str  # "confirmed" or "waitlisted"; "" for a plenary session
    position: int | None
    times: tuple[tuple[datetime, datetime, str], ...]  # (start, end, room) per meeting

    @property
    def starts_at(self) -> datetime:
        return self.times[0][0] if self.times else _FAR


def session_times(session: Session) -> tuple[tuple[datetime, datetime, str], ...]:
    if session.meetings:
        return tuple((m.starts_at, m.ends_at, m.room or session.room) for m in session.meetings)
    start, end = session.effective_starts_at, session.effective_ends_at
    return ((start, end, session.room),) if start and end else ()


def programme(event: Event, places: list[Any]) -> list[Row]:
    """The registrant's programme in time order: the plenary sessions (everyone attends
    them, as the calendar invitation shows) and ``places`` (their live places as queued)."""
    rows = [Row(s.title, "", True, "", None, session_times(s)) for s in calendar.plenaries(event)]
    for place in places:
        session = place.session
        round_title = session.round.title if session.round else ""
        times = session_times(session)
        status, position = str(place.status), place.waitlist_position
        rows.append(Row(session.title, round_title, False, status, position, times))
    return sorted(rows, key=lambda r: (r.starts_at, r.plenary is False, r.title))


def route_url(event: Event) -> str:
    """A route planner's search for the venue's address ("" without an address)."""
    where = event.address.strip() or event.venue.strip()
    return ROUTE_URL + quote(where, safe="") if where else ""


def paragraphs(text: str) -> list[str]:
    """Blocks of text separated by blank lines, each one line (a line break within a
    paragraph is a space: HTML gets paragraphs, never ``<br>``)."""
    return [" ".join(block.split()) for block in re.split(r"\n\s*\n", text) if block.strip()]


def tidy(text: str) -> str:
    """One blank line between paragraphs, none at the ends, no trailing spaces."""
    lines = "\n".join(line.rstrip() for line in text.strip().splitlines())
    return re.sub(r"\n{3,}", "\n\n", lines) + "\n"


def _blocks(kind: str, values: dict[str, Any]) -> dict[str, list[str]]:
    """The kind's own words (its greeting, lead and note blocks) as paragraphs; a block
    the kind leaves out is the text layout's (the greeting)."""
    env = current_app.jinja_env
    template = env.get_template(f"mail/{kind}.txt")
    chain = [template, env.get_template("mail/layout.txt")]
    context = template.new_context(values)
    found = {}
    for name in ("greeting", "lead", "note"):
        owner = next((t for t in chain if name in t.blocks), None)
        if owner is not None:
            found[name] = paragraphs("".join(owner.blocks[name](context)))
    return found


def write(kind: str, values: dict[str, Any], brand: Brand) -> tuple[str, str]:
    """The text and the HTML of message ``kind`` from ``values`` (the templates' names)."""
    values = dict(values)
    current_app.update_template_context(values)
    text = tidy(render_template(f"mail/{kind}.txt", **values))
    blocks = _blocks(kind, values)
    lead = blocks.get("lead", [])
    html = render_template(
        "mail/layout.html",
        **values,
        greeting=(blocks.get("greeting") or [""])[0],
        lead=lead,
        note=blocks.get("note", []),
        preheader=lead[0] if lead else "",
        brand=brand,
    )
    return text, html
