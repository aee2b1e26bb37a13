"""Name badges for the registration desk: A6 cards, or 8 to an A4 label sheet (2 × 4 of
105 × 74 mm), with name, organisation, profession and the ticket's QR code, so a badge can
be scanned at every session's door. Sorted by surname (``core.names``), for everyone or one
letter range (a desk per range of the alphabet); cancelled registrations get none.
"""

from __future__ import annotations

import enum
import io
import string
from datetime import datetime

from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

from symposium.filters import localised_name
from symposium.models import Event, Registration, RegistrationStatus
from symposium.services.checkin import tickets
from symposium.services.core import names
from symposium.services.core import pdf as house
from symposium.services.core.pdf import ACCENT, INK, MUTED, RULE

LETTERS = string.ascii_uppercase
# Surnames that do not start with a letter A–Z are filed after Z.
OTHER = "#"


class Layout(enum.StrEnum):
    A6 = "a6"  # one card per A6 page
    LABELS = "a4-8"  # eight labels of 105 × 74 mm to an A4 sheet


def in_range(name: str, first: str, last: str) -> bool:
    """Whether a surname is filed between the letters ``first`` and ``last`` (inclusive)."""
    letter = names.initial(name)
    if letter == OTHER:
        return last == LETTERS[-1]
    return first <= letter <= last


def badge_people(db: DbSession, event: Event, first: str = "A", last: str = "Z") -> list:
    """Everyone with an active registration, surnames from ``first`` to ``last``, sorted."""
    registrations = db.scalars(
        select(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.ACTIVE,
            Registration.anonymised_at.is_(None),
        )
        .options(selectinload(Registration.profession))
    ).all()
    chosen = [r for r in registrations if in_range(r.name, first, last)]
    return sorted(chosen, key=lambda r: names.sort_key(r.name))


def badges_pdf(
    event: Event, people: list[Registration], layout: Layout, now: datetime, language: str
) -> bytes:
    """The badges as PDF bytes, in the current language."""
    if layout is Layout.A6:
        pdf = FPDF(orientation="portrait", unit="mm", format=(105, 148))
    else:
        pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    house.setup(
        pdf, title=f"{_('Name badges')} · {event.title}",
        author=event.organiser_name or event.title, language=language, now=now,
    )  # fmt: skip
    for index, person in enumerate(people):
        if layout is Layout.A6:
            pdf.add_page()
            _card(pdf, event, person, 0, 0, 105, 148)
        else:
            spot = index % 8
            if spot == 0:
                pdf.add_page()
                _cut_lines(pdf)
            column, row = spot % 2, spot // 2
            _label(pdf, event, person, column * 105.0, row * 297 / 4, 105.0, 297 / 4)
    if not people:
        pdf.add_page()
    return bytes(pdf.output())


def _fit(pdf: FPDF, text: str, width: float, size: float, smallest: float) -> float:
    """The largest font size up to ``size`` at which ``text`` fits on one line of ``width``."""
    usable = width - 2 * pdf.c_margin - 0.5
    while size > smallest:
        house.font(pdf, size, True)
        if pdf.get_string_width(text) <= usable:
            break
        size -= 1
    return size


def _band(pdf: FPDF, event: Event, x: float, y: float, w: float, h: float) -> None:
    pdf.set_fill_color(*ACCENT)
    pdf.rect(x, y, w, h, style="F")
    pdf.set_xy(x + 6, y + (h - 5) / 2)
    house.font(pdf, 9, True, (255, 255, 255))
    pdf.cell(w - 12, 5, event.title, align="L")


def _details(pdf: FPDF, person: Registration, x: float, y: float, w: float) -> None:
    """Name (as large as fits), organisation, profession, from (x, y) down."""
    size = _fit(pdf, person.name, w, 22, 11)
    house.font(pdf, size, True, INK)
    pdf.set_xy(x, y)
    pdf.multi_cell(w, size * 0.45, person.name, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.ln(1.5)
    pdf.set_x(x)
    if person.organisation:
        house.font(pdf, 11, False, INK)
        pdf.multi_cell(w, 5, person.organisation, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_x(x)
    house.font(pdf, 10, False, MUTED)
    pdf.multi_cell(
        w, 5, localised_name(person.profession), align="L", new_x=XPos.LEFT, new_y=YPos.NEXT
    )


def _qr(pdf: FPDF, person: Registration, x: float, y: float, size: float) -> None:
    code = person.checkin_code
    pdf.image(io.BytesIO(tickets.qr_png(code, scale=8)), x=x, y=y, w=size, h=size)
    pdf.set_xy(x - 4, y + size + 0.5)
    house.font(pdf, 7.5, False, MUTED)
    pdf.cell(size + 8, 4, tickets.format_code(code), align="C")


def _card(pdf: FPDF, event: Event, person: Registration, x: float, y: float, w: float,
          h: float) -> None:  # fmt: skip
    """An A6 card: the event on top, the name large, the QR code below."""
    _band(pdf, event, x, y, w, 16)
    _details(pdf, person, x + 8, y + 26, w - 16)
    size = 44.0
    _qr(pdf, person, x + (w - size) / 2, y + h - size - 14, size)


def _label(pdf: FPDF, event: Event, person: Registration, x: float, y: float, w: float,
           h: float) -> None:  # fmt: skip
    """A 105 × 74 mm label: the event on top, name and details left, the QR code right."""
    _band(pdf, event, x + 4, y + 4, w - 8, 10)
    size = 30.0
    _details(pdf, person, x + 8, y + 20, w - size - 20)
    _qr(pdf, person, x + w - size - 8, y + 22, size)


def _cut_lines(pdf: FPDF) -> None:
    """Thin lines between the labels, for cutting plain paper (labels need none)."""
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.1)
    pdf.line(105, 0, 105, 297)
    for row in (1, 2, 3):
        pdf.line(0, row * 297 / 4, 210, row * 297 / 4)
