"""The house style of the PDFs the app prints (tickets, sign-in sheets, badges): fpdf2 with
DejaVu Sans embedded (static/fonts/, with its licence), so names in Latin with diacritics,
Greek, Cyrillic and Arabic print; Arabic is shaped where a document turns text shaping on
(the certificate does, for the lines that need it: services/certificates/document.py)."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import segno
from flask_babel import gettext as _
from fpdf import FPDF

FONTS = Path(__file__).resolve().parents[3] / "static" / "fonts"
FONT = "DejaVu"
INK = (29, 35, 48)
MUTED = (88, 96, 112)
ACCENT = (31, 95, 139)
PALE = (236, 242, 247)
RULE = (200, 206, 216)


def setup(pdf: FPDF, *, title: str, author: str, language: str, now: datetime) -> FPDF:
    """Fonts and document properties; ``pdf`` may be a subclass with a header and footer."""
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_lang(language)
    pdf.set_creation_date(now)
    return pdf


def heading_rule(pdf: FPDF, margin: float) -> None:
    """The accent line that closes a page's heading, and the space after it."""
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(0.5)
    pdf.line(margin, pdf.get_y() + 1.5, pdf.w - margin, pdf.get_y() + 1.5)
    pdf.ln(4)


def page_footer(pdf: FPDF, notice: str) -> None:
    """A sheet's notice and "Page n of m" at the foot of a page (``alias_nb_pages`` fills m)."""
    pdf.set_y(-12)
    font(pdf, 7.5, False, MUTED)
    page = _("Page %(page)s of %(pages)s", page=pdf.page_no(), pages="{nb}")
    pdf.cell(0, 4, f"{notice}   ·   {page}", align="C")


def qr(pdf: FPDF, text: str, x: float, y: float, size: float) -> None:
    """A QR code drawn as vector squares (sharp in print at any size; the certificate's
    verification address), with its quiet zone, ``size`` mm wide at (x, y)."""
    code = segno.make_qr(text, error="m")
    quiet = 2
    modules = code.symbol_size(border=quiet)[0]
    unit = size / modules
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, size, size, style="F")
    pdf.set_fill_color(0, 0, 0)
    for row, line in enumerate(code.matrix):
        column = 0
        while column < len(line):
            if not line[column]:
                column += 1
                continue
            start = column
            while column < len(line) and line[column]:
                column += 1
            pdf.rect(x + (start + quiet) * unit, y + (row + quiet) * unit,
                     (column - start) * unit, unit, style="F")  # fmt: skip


def logo(
    pdf: FPDF, image: bytes, size: tuple[int, int], x: float, y: float, width: float,
    height: float, align: str = "L",
) -> float:  # fmt: skip
    """An event's logo as large as fits in the box (mm) at (x, y), in its proportions, to
    the box's left or right (``align``) and centred in its height; the width it takes.

    fpdf2 names an image by its bytes, so a logo on many pages is stored once."""
    scale = min(width / size[0], height / size[1])
    w, h = size[0] * scale, size[1] * scale
    left = x if align == "L" else x + width - w
    pdf.image(io.BytesIO(image), x=left, y=y + (height - h) / 2, w=w, h=h)
    return w


def tint(colour: tuple[int, int, int], whiteness: float) -> tuple[int, int, int]:
    """``colour`` mixed with white (``whiteness`` 0 to 1): quiet text on an accent band."""
    return (
        round(colour[0] + (255 - colour[0]) * whiteness),
        round(colour[1] + (255 - colour[1]) * whiteness),
        round(colour[2] + (255 - colour[2]) * whiteness),
    )


def font(pdf: FPDF, size: float, bold: bool = False, color: tuple[int, int, int] = INK) -> None:
    pdf.set_font(FONT, "B" if bold else "", size)
    pdf.set_text_color(*color)
