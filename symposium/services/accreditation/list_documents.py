"""A register's attendance list as a file: the paste list, the XLSX, or the PDF presence list
with its header, one row per attendee and a signature column.

Regional GP accreditation bodies ask for an Excel list and a signed PDF; the organiser prints
this one, lets it be signed (or attaches the signed sign-in sheets of the day), and sends it.
Anyone who earned points without a number the register takes is listed after the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask_babel import gettext as _
from fpdf import FPDF, FontFace, XPos, YPos

from symposium.filters import local_date, local_time
from symposium.services.accreditation import lists, points
from symposium.services.backoffice.exports import XLSX_MIMETYPE
from symposium.services.core import pdf as house
from symposium.services.core.pdf import ACCENT, INK, MUTED, RULE

MARGIN = 12
# Initials + surname, profession, register number, sessions attended, points, signature (mm).
COLUMNS = (44, 34, 31, 100, 18, 46)


class _Pages(FPDF):
    heading: Sequence[tuple[str, str]] = ()
    notice: str = ""

    def header(self) -> None:
        house.font(self, 8.5, True, MUTED)
        self.cell(0, 4.5, _("Presence list").upper(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for label, value in self.heading:
            house.font(self, 9.5, True, INK)
            self.cell(42, 5, label)
            house.font(self, 9.5, False, INK)
            self.multi_cell(0, 5, value or "–", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        house.heading_rule(self, MARGIN)

    def footer(self) -> None:
        house.page_footer(self, self.notice)


def presence_list_pdf(found: lists.AttendanceList, now: datetime, language: str) -> bytes:
    """The register's presence list as PDF bytes, in the current language."""
    event = found.event
    zone = event.timezone
    pdf = _Pages(orientation="landscape", unit="mm", format="A4")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=16)
    label = _("Presence list")
    house.setup(
        pdf, title=f"{label} · {found.register.short_name} · {event.title}",
        author=event.organiser_name or event.title, language=language, now=now,
    )  # fmt: skip
    pdf.heading = lists.header(found)
    printed = f"{local_date(now, zone, 'short')} {local_time(now, zone)}"
    pdf.notice = _("Personal data, for the register only. Printed %(time)s.", time=printed)
    pdf.add_page()
    house.font(pdf, 9.5, False, MUTED)
    pdf.multi_cell(
        0, 5,
        _("%(earned)d of %(attended)d attendees of this register earned points.",
          earned=len(found.earned), attended=len(found.rows)),
        new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )  # fmt: skip
    pdf.ln(2)
    heads = (_("Name"), _("Profession"), _("Register number"), _("Sessions attended"),
             _("Points"), _("Signature"))  # fmt: skip
    bold = FontFace(emphasis="BOLD")
    pdf.set_draw_color(*RULE)
    house.font(pdf, 9)
    with pdf.table(
        col_widths=COLUMNS, width=sum(COLUMNS), align="LEFT", text_align="LEFT",
        line_height=4.4, padding=(1.2, 1.6),
        headings_style=FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=ACCENT),
        borders_layout="HORIZONTAL_LINES", repeat_headings=1,
    ) as table:  # fmt: skip
        table.row(heads)
        for row in found.rows:
            cells = table.row()
            cells.cell(f"{row.initials} {row.surname}".strip(), style=bold)
            cells.cell(row.profession)
            cells.cell(row.result.number or "–")
            attended = lists.sessions_attended(event, row.result, found.day).replace("; ", "\n")
            why = " ".join(str(r) for r in row.result.reasons)
            cells.cell("\n".join(part for part in (attended, why) if part))
            cells.cell(points.shown_points(row.result.points), align="RIGHT")
            cells.cell("")
    if found.missing:
        pdf.ln(5)
        house.font(pdf, 11, True, INK)
        pdf.cell(0, 6, _("Earned points, but no number for this register"),
                 new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
        house.font(pdf, 9.5, False, INK)
        for row in found.missing:
            pdf.multi_cell(
                0, 5,
                f"{row.initials} {row.surname} · {row.profession} · "
                f"{points.shown_points(row.result.points)} · {row.number_problem}",
                new_x=XPos.LMARGIN, new_y=YPos.NEXT,
            )  # fmt: skip
    pdf.alias_nb_pages()
    return bytes(pdf.output())


MIMETYPES = {"paste": "text/plain", "xlsx": XLSX_MIMETYPE, "pdf": "application/pdf"}
EXTENSIONS = {"paste": "txt", "xlsx": "xlsx", "pdf": "pdf"}


def document(
    found: lists.AttendanceList, fmt: str, now: datetime, language: str
) -> tuple[bytes, str, str]:
    """(body, mimetype, file name) of the list in ``fmt`` (one of ``lists.FORMATS``)."""
    if fmt == "paste":
        body = lists.paste(found).encode()
    elif fmt == "xlsx":
        body = lists.xlsx(found)
    else:
        body = presence_list_pdf(found, now, language)
    return body, MIMETYPES[fmt], lists.filename(found, EXTENSIONS[fmt])
