"""The printable A4 ticket (``/r/<token>/ticket.pdf``): who, what, when, where, the QR code.

Only confirmed places are on it (with their times and rooms); a waiting-list place is named
as such, without a ticket for it; cancelled places are left out. A cancelled registration
has no ticket at all (:class:`NoTicket`). Set in the house style (``services/core/pdf.py``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from symposium.filters import local_date, local_time, localised_name
from symposium.models import EnrolmentStatus, Registration, Session
from symposium.services.checkin import tickets
from symposium.services.core import pdf as house
from symposium.services.core.pdf import INK, MUTED, PALE
from symposium.services.programme import branding, calendar

MARGIN = 18.0
WIDTH = 210.0


class NoTicket(LookupError):
    """The registration is cancelled: there is nothing to admit anyone to."""


@dataclass(frozen=True)
class Line:
    """One row of the ticket's programme."""

    when: str
    title: str
    room: str
    waiting: int | None = None  # position on the waiting list; None: confirmed


def programme(registration: Registration) -> tuple[list[Line], list[Line]]:
    """(confirmed, waitlisted) rows, in time order, in the current language."""
    zone = registration.event.timezone
    confirmed = [
        _line(s, zone) for s in calendar.confirmed_sessions(registration) if not s.is_cancelled
    ]
    waiting = [
        _line(e.session, zone, e.waitlist_position or 0)
        for e in registration.enrolments
        if e.status is EnrolmentStatus.WAITLISTED
    ]
    return confirmed, waiting


def _line(session: Session, zone: str, waiting: int | None = None) -> Line:
    starts, ends = session.effective_starts_at, session.effective_ends_at
    if session.meetings:  # a group: every meeting, one per line of the "when" column
        when = "\n".join(_when(m.starts_at, m.ends_at, zone) for m in session.meetings)
        rooms = sorted({m.room or session.room for m in session.meetings} - {""})
        return Line(when, session.title, ", ".join(rooms), waiting)
    return Line(_when(starts, ends, zone), session.title, session.room, waiting)


def _when(starts: datetime | None, ends: datetime | None, zone: str) -> str:
    if starts is None:
        return ""
    day = local_date(starts, zone, "EEE d MMM")
    return f"{day}  {local_time(starts, zone)}–{local_time(ends, zone)}"


def ticket_pdf(registration: Registration, now: datetime) -> bytes:
    """The ticket as PDF bytes, in the registrant's language; :class:`NoTicket` if cancelled."""
    if not registration.is_active:
        raise NoTicket(registration.id)
    with force_locale(registration.language):
        return _Ticket(registration, now).render()


class _Ticket:
    def __init__(self, registration: Registration, now: datetime):
        self.registration = registration
        self.event = registration.event
        self.brand = branding.for_pdf(self.event)
        self.now = now
        pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.set_auto_page_break(True, margin=24)
        self.pdf = house.setup(
            pdf, title=f"{_('Ticket')} · {self.event.title}",
            author=self.event.organiser_name or self.event.title,
            language=registration.language, now=now,
        )  # fmt: skip

    def render(self) -> bytes:
        pdf = self.pdf
        pdf.add_page()
        self._banner()
        top = 58.0
        self._qr(top)
        self._person(top)
        self._programme(max(pdf.get_y() + 8, top + 92))
        self._footer()
        return bytes(pdf.output())

    def _font(self, size: float, bold: bool = False, color: tuple[int, int, int] = INK) -> None:
        house.font(self.pdf, size, bold, color)

    def _banner(self) -> None:
        """The accent band with the event's title; its logo on a white tile at the right
        (a logo made for white paper may vanish on the accent)."""
        pdf, event, brand = self.pdf, self.event, self.brand
        accent = brand.accent
        pdf.set_fill_color(*accent)
        pdf.rect(0, 0, WIDTH, 44, style="F")
        width = WIDTH - 2 * MARGIN
        if brand.logo is not None:
            tile_w, tile_h, pad = 52.0, 24.0, 3.0
            left = WIDTH - MARGIN - tile_w
            pdf.set_fill_color(255, 255, 255)
            pdf.rect(left, 10, tile_w, tile_h, style="F", round_corners=True)
            house.logo(pdf, brand.logo, brand.logo_size, left + pad, 10 + pad, tile_w - 2 * pad,
                       tile_h - 2 * pad, align="R")  # fmt: skip
            width -= tile_w + 6
        pdf.set_xy(MARGIN, 12)
        self._font(9, True, house.tint(accent, 0.8))
        pdf.cell(width, 5, _("Ticket").upper(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._font(20, True, (255, 255, 255))
        pdf.multi_cell(width, 9, event.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if event.subtitle:
            self._font(10.5, False, house.tint(accent, 0.88))
            pdf.multi_cell(width, 5.5, event.subtitle, max_line_height=5.5)

    def _person(self, top: float) -> None:
        pdf, r, event = self.pdf, self.registration, self.event
        column = 104.0
        pdf.set_xy(MARGIN, top)
        self._label(_("Name"))
        self._font(20, True)
        pdf.multi_cell(column, 9, r.name, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._font(11, False, MUTED)
        details = [localised_name(r.profession), r.organisation]
        pdf.multi_cell(column, 5.5, "\n".join(d for d in details if d), new_x=XPos.LMARGIN)
        pdf.ln(5)
        self._label(_("When"))
        zone = event.timezone
        first, last = local_date(event.starts_at, zone), local_date(event.ends_at, zone)
        self._font(11.5, True)
        pdf.multi_cell(
            column, 6, first if first == last else f"{first} –\n{last}", new_x=XPos.LMARGIN
        )
        self._font(11, False)
        if first == last:
            hours = f"{local_time(event.starts_at, zone)}–{local_time(event.ends_at, zone)}"
            pdf.multi_cell(column, 6, hours, new_x=XPos.LMARGIN)
        pdf.ln(3)
        if event.venue or event.address:
            self._label(_("Where"))
            self._font(11.5, True)
            pdf.multi_cell(column, 6, event.venue, new_x=XPos.LMARGIN)
            self._font(11, False)
            pdf.multi_cell(column, 6, event.address, new_x=XPos.LMARGIN)

    def _label(self, text: str) -> None:
        self._font(8.5, True, MUTED)
        self.pdf.cell(0, 5, text.upper(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def _qr(self, top: float) -> None:
        pdf = self.pdf
        code = self.registration.checkin_code
        left, size = 134.0, 58.0
        pdf.set_fill_color(*PALE)
        pdf.set_draw_color(*PALE)
        pdf.rect(left - 4, top - 4, size + 8, size + 28, style="F", round_corners=True)
        pdf.image(io.BytesIO(tickets.qr_png(code, scale=10)), x=left, y=top, w=size, h=size)
        pdf.set_xy(left - 4, top + size + 3)
        self._font(13, True)
        pdf.cell(size + 8, 7, tickets.format_code(code), align="C", new_x=XPos.LEFT)
        pdf.set_xy(left - 4, top + size + 11)
        self._font(8, False, MUTED)
        pdf.multi_cell(size + 8, 4, _("Show this code at the door"), align="C")

    def _programme(self, top: float) -> None:
        pdf = self.pdf
        confirmed, waiting = programme(self.registration)
        pdf.set_draw_color(*self.brand.accent)
        pdf.set_line_width(0.6)
        pdf.line(MARGIN, top, WIDTH - MARGIN, top)
        pdf.set_xy(MARGIN, top + 4)
        self._font(14, True, self.brand.accent)
        pdf.cell(0, 8, _("Your programme"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
        if not confirmed:
            self._font(10.5, False, MUTED)
            pdf.multi_cell(0, 6, _("No confirmed sessions."), new_x=XPos.LMARGIN)
        for line in confirmed:
            self._row(line)
        if waiting:
            pdf.ln(3)
            self._label(_("Waiting list (not on this ticket)"))
            for line in waiting:
                self._row(line)

    def _row(self, line: Line) -> None:
        pdf = self.pdf
        when_width, gap = 52.0, 4.0
        text_width = WIDTH - 2 * MARGIN - when_width - gap
        if pdf.will_page_break(16):
            pdf.add_page()
        y = pdf.get_y()
        muted = line.waiting is not None
        pdf.set_xy(MARGIN, y)
        self._font(10, False, MUTED)
        pdf.multi_cell(when_width, 5.5, line.when)
        after_when = pdf.get_y()
        pdf.set_xy(MARGIN + when_width + gap, y)
        self._font(11, True, MUTED if muted else INK)
        pdf.multi_cell(text_width, 5.5, line.title, new_x=XPos.LEFT, new_y=YPos.NEXT)
        notes = []
        if line.room:
            notes.append(_("Room: %(room)s", room=line.room))
        if muted:
            notes.append(_("Waiting list, position %(n)d", n=line.waiting))
        if notes:
            self._font(9.5, False, MUTED)
            pdf.multi_cell(text_width, 5, " · ".join(notes), new_x=XPos.LEFT, new_y=YPos.NEXT)
        bottom = max(pdf.get_y(), after_when) + 2
        pdf.set_draw_color(220, 225, 232)
        pdf.set_line_width(0.2)
        pdf.line(MARGIN, bottom, WIDTH - MARGIN, bottom)
        pdf.set_xy(MARGIN, bottom + 2)

    def _footer(self) -> None:
        pdf, event = self.pdf, self.event
        pdf.set_auto_page_break(False)
        pdf.set_xy(MARGIN, 297 - 22)
        self._font(8, False, MUTED)
        contact = " · ".join(
            p for p in (event.organiser_name, event.organiser_email, event.organiser_phone) if p
        )
        text = _(
            "This ticket holds only your check-in code: it does not open your registration. "
            "Changes to your programme: use the link in your confirmation e-mail."
        )
        pdf.multi_cell(WIDTH - 2 * MARGIN, 4, f"{text}\n{contact}", align="C")
