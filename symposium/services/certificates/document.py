"""The certificate as a printable A4 PDF, built from what the certificate says as issued.

Set in the house style (``core.pdf``, DejaVu Sans embedded: Latin with diacritics, Greek,
Cyrillic and Arabic). Text that needs shaping (Arabic and other right-to-left or joining
scripts) is shaped with HarfBuzz (uharfbuzz) line by line, so a name in any of these scripts
prints joined, in the right order, and extracts as typed.

Speed: loading and subsetting the font costs fpdf2 about 60 ms a document, the page itself
a few. Many certificates are therefore built as one document and split into single PDFs
with pypdf (:func:`singles`): a thousand take seconds, not a minute (bench/documents.py).
The mail worker asks for one at a time and gets it from a batch of the certificates waiting
in the outbox (:func:`for_mail`).
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
import zipfile
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import force_locale, format_date, format_time, ngettext
from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.filters import local
from symposium.models import Certificate, CertificateDesign, OutboxMessage, OutboxStatus
from symposium.services.accreditation.points import shown_points
from symposium.services.certificates import codes, verification
from symposium.services.core import pdf as house
from symposium.services.core.pdf import INK, MUTED, PALE, RULE
from symposium.services.core.urls import external_url
from symposium.services.programme import branding

MARGIN = 20.0
WIDTH = 210.0
HEIGHT = 297.0
TEXT = WIDTH - 2 * MARGIN
BATCH = 50  # certificates the mail worker builds at once
# Built PDFs of this process by (id, code, settings): the random code, not the id alone, names
# the certificate (SQLite may give a deleted certificate's id to the next one), and the
# fingerprint of the event's settings the signature block as it is now.
_built: OrderedDict[tuple[int, str, str], bytes] = OrderedDict()
KEEP = 2 * BATCH


def verify_url(code: str) -> str:
    """The address the QR code holds: the certificate's public verification page."""
    return external_url("certificates.verify", code=codes.format_code(code))


def needs_shaping(text: str) -> bool:
    """Whether ``text`` holds a script that only prints right when shaped (Arabic, Hebrew,
    and other right-to-left or joining scripts)."""
    return any(unicodedata.bidirectional(c) in ("R", "AL", "AN") for c in text)


def pdf(certificate: Certificate, design: CertificateDesign | None, *, preview: bool = False,
        now: datetime | None = None) -> bytes:  # fmt: skip
    """One certificate as a PDF (a preview is marked as one across the page)."""
    return _Document([certificate], {certificate.event_id: design}, preview, now).render()[0]


def combined(certificates: Sequence[Certificate], designs: dict[int, Any]) -> bytes:
    """All of them in one PDF, one certificate after another (for printing)."""
    return _Document(list(certificates), designs).render()[0]


def singles(certificates: Sequence[Certificate], designs: dict[int, Any]) -> list[bytes]:
    """One PDF per certificate, built as one document and split (see the module)."""
    if not certificates:
        return []
    whole, pages = _Document(list(certificates), designs).render()
    reader = PdfReader(io.BytesIO(whole))
    out = []
    for first, last in pages:
        writer = PdfWriter()
        for number in range(first, last + 1):
            writer.add_page(reader.pages[number - 1])
        certificate = certificates[len(out)]
        writer.add_metadata(
            {"/Title": _title(certificate), "/Author": certificate.content["event"]["organiser"]
             or certificate.content["event"]["title"]}
        )  # fmt: skip
        buffer = io.BytesIO()
        writer.write(buffer)
        out.append(buffer.getvalue())
    return out


def zipped(certificates: Sequence[Certificate], designs: dict[int, Any]) -> bytes:
    """A ZIP of single PDFs, each named by its number and the person's name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for certificate, body in zip(certificates, singles(certificates, designs), strict=True):
            archive.writestr(filename(certificate), body)
    return buffer.getvalue()


def filename(certificate: Certificate) -> str:
    """``7ROSES-0012 Jan de Vries.pdf``, safe on every file system."""
    name = "".join(c for c in certificate.name if c.isalnum() or c in " -.'")[:60].strip()
    return f"{certificate.number} {name}.pdf".replace("/", "-")


def designs_of(db: DbSession, event_ids: Sequence[int]) -> dict[int, CertificateDesign]:
    return {
        d.event_id: d
        for d in db.scalars(
            select(CertificateDesign).where(CertificateDesign.event_id.in_(list(event_ids) or [0]))
        )
    }


def for_mail(db: DbSession, certificate_id: int) -> tuple[Certificate, bytes] | None:
    """The certificate a queued mail attaches, and its PDF; None when it is gone or revoked.

    Built with the other certificates waiting in the outbox (up to :data:`BATCH`) and kept
    in this process for the messages that follow, so a worker sending a thousand builds
    twenty documents, not a thousand. What is kept is named by the certificate's code and
    the event's settings as they are now (a new signatory is on the next mail).
    """
    certificate = db.get(Certificate, certificate_id)
    if certificate is None or certificate.revoked_at is not None:
        return None
    designs = designs_of(db, [certificate.event_id])
    key = _key(certificate, designs)
    if key not in _built:
        waiting = list(
            db.scalars(
                select(Certificate)
                .join(OutboxMessage, OutboxMessage.certificate_id == Certificate.id)
                .where(
                    OutboxMessage.status == OutboxStatus.QUEUED,
                    Certificate.id.not_in([certificate.id, *(k[0] for k in _built)]),
                    Certificate.revoked_at.is_(None),
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(BATCH - 1)
            )
        )
        batch = [certificate, *waiting]
        designs = designs_of(db, sorted({c.event_id for c in batch}))
        try:
            built = singles(batch, designs)
        except Exception:  # one that cannot be built must not fail the others' mail
            batch, built = [certificate], singles([certificate], designs)
        for found, body in zip(batch, built, strict=True):
            _built[_key(found, designs)] = body
        while len(_built) > KEEP:
            _built.popitem(last=False)
    return certificate, _built[key]


def _key(certificate: Certificate, designs: dict[int, Any]) -> tuple[int, str, str]:
    found = designs.get(certificate.event_id)
    settings = hashlib.sha256()
    logo = certificate.event.logo  # the event's look is on the page as it is now, too
    settings.update(f"{certificate.event.accent_colour}\n{logo and logo.digest}\n".encode())
    if found is not None:
        settings.update(f"{found.signatory_name}\n{found.signatory_role}\n".encode())
        settings.update(found.signature or b"")
    return (certificate.id, certificate.code, settings.hexdigest())


def _title(certificate: Certificate) -> str:
    with force_locale(certificate.language):
        return f"{_heading(certificate)} · {certificate.content['event']['title']}"


def _heading(certificate: Certificate) -> str:
    if certificate.content["event"].get("series") and not certificate.content["registers"]:
        return _("Certificate of participation")
    return _("Certificate of attendance")


def _local(value: str | None, zone: str) -> datetime | None:
    if not value:
        return None
    from_iso = datetime.fromisoformat(value)
    return local(from_iso, zone)


class _Document:
    """Certificates set one after another in one fpdf2 document."""

    def __init__(
        self,
        certificates: list[Certificate],
        designs: dict[int, Any],
        preview: bool = False,
        now: datetime | None = None,
    ):
        self.certificates = certificates
        self.designs = designs
        self.preview = preview
        first = certificates[0]
        doc = FPDF(orientation="portrait", unit="mm", format="A4")
        doc.set_margins(MARGIN, MARGIN, MARGIN)
        doc.set_auto_page_break(True, margin=22)
        with force_locale(first.language):
            title = _title(first) if len(certificates) == 1 else _("Certificates")
        self.pdf = house.setup(
            doc, title=title,
            author=first.content["event"]["organiser"] or first.content["event"]["title"],
            language=first.language, now=now or first.issued_at,
        )  # fmt: skip
        self.pdf.set_text_shaping(False)

    def render(self) -> tuple[bytes, list[tuple[int, int]]]:
        """The PDF and, per certificate, its first and last page."""
        pages = []
        for certificate in self.certificates:
            with force_locale(certificate.language):
                first = self.pdf.page_no() + 1
                _Page(self.pdf, certificate, self.designs.get(certificate.event_id),
                      self.preview).draw()  # fmt: skip
                pages.append((first, self.pdf.page_no()))
        return bytes(self.pdf.output()), pages


class _Page:
    def __init__(self, pdf: FPDF, certificate: Certificate, design: Any, preview: bool):
        self.pdf = pdf
        self.c = certificate
        self.content = certificate.content
        self.event = certificate.content["event"]
        self.zone = self.event["timezone"]
        self.design = design
        self.preview = preview
        self.brand = branding.for_pdf(certificate.event)
        self.accent = self.brand.accent

    # ------------------------------------------------------------------ text helpers
    def _font(self, size: float, bold: bool = False, color: tuple[int, int, int] = INK) -> None:
        house.font(self.pdf, size, bold, color)

    def _text(self, height: float, text: str, align: str = "L", width: float = 0) -> None:
        """One paragraph, shaped when its script needs it, wrapped at word boundaries.

        Text that needs no shaping is wrapped here, a word at a time, and set line by line:
        fpdf2's multi_cell measures a line again for every character it adds, which was a
        third of a certificate's cost.
        """
        pdf = self.pdf
        text = unicodedata.normalize("NFC", text)
        width = width or TEXT
        lines = None if needs_shaping(text) else self._wrap(text, width - 2 * pdf.c_margin)
        if lines is None:  # shaped text, or a word wider than the column
            pdf.set_text_shaping(needs_shaping(text))
            pdf.multi_cell(width, height, text, align=align,
                           new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
            pdf.set_text_shaping(False)
            return
        x = pdf.get_x()
        for line in lines:
            pdf.set_x(x)
            pdf.cell(width, height, line, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if x != pdf.l_margin:  # as multi_cell: the next line starts where this one did
            pdf.set_x(x)

    def _wrap(self, text: str, width: float) -> list[str] | None:
        """The lines of ``text`` within ``width`` (mm), or None when a word is wider."""
        measure = self.pdf.get_string_width
        space = measure(" ")
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line, used = "", 0.0
            for word in paragraph.split(" "):
                size = measure(word)
                if size > width:
                    return None
                if line and used + space + size > width:
                    lines.append(line)
                    line, used = word, size
                else:
                    line, used = (f"{line} {word}", used + space + size) if line else (word, size)
            lines.append(line)
        return lines

    def _label(self, text: str) -> None:
        self._font(8.5, True, MUTED)
        self.pdf.cell(0, 5, text.upper(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def _date(self, value: datetime, fmt: str = "long") -> str:
        return format_date(value.date(), fmt)

    def _dates(self) -> str:
        """The day(s) attended: of the sessions, or of the meetings of a group."""
        days = verification.days_attended(self.content)
        if len(days) == 1:
            return format_date(days[0], "full")
        return f"{format_date(days[0], 'long')} – {format_date(days[-1], 'long')}"

    # ------------------------------------------------------------------ the page
    def draw(self) -> None:
        pdf = self.pdf
        pdf.add_page()
        self._band()
        self._person()
        self._event()
        self._sessions()
        if self.content["registers"]:
            self._registers()
        self._closing()
        if self.preview or self.c.revoked_at is not None:
            self._stamp()

    def _band(self) -> None:
        pdf, brand = self.pdf, self.brand
        pdf.set_fill_color(*self.accent)
        pdf.rect(0, 0, WIDTH, 6, style="F")
        if brand.logo is not None:  # the logo in the organiser's place ("Organised by" stays)
            house.logo(pdf, brand.logo, brand.logo_size, MARGIN, 11, TEXT / 2, 14)
        pdf.set_xy(MARGIN, 16)
        self._font(9, True, MUTED)
        organiser = self.event["organiser"] or self.event["title"]
        pdf.cell(TEXT / 2, 5, "" if brand.logo is not None else organiser.upper()[:70])
        self._font(9, False, MUTED)
        pdf.cell(TEXT / 2, 5, _("No. %(number)s", number=self.c.number), align="R",
                 new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
        pdf.set_y(30)
        self._font(26, True, self.accent)
        self._text(12, _heading(self.c))
        pdf.ln(5)

    def _person(self) -> None:
        self._font(11, False, MUTED)
        self._text(6, _("This is to certify that"))
        self.pdf.ln(1)
        self._font(22, True)
        self._text(10, self.c.name)
        details = [d for d in (self.c.profession, self.content["numbers"]) if d]
        if details:
            self._font(10.5, False, MUTED)
            self._text(5.5, " · ".join(details))
        self.pdf.ln(3)

    def _event(self) -> None:
        self._font(11, False, MUTED)
        self._text(6, _("took part in"))
        self.pdf.ln(1)
        self._font(15, True)
        self._text(7.5, self.event["title"])
        self._font(10.5)
        self._text(5.5, self._dates())
        place = ", ".join(p for p in (self.event["venue"], self.event["address"]) if p)
        if place:
            self._text(5.5, place)
        if self.event["organiser"]:
            self._font(10.5, False, MUTED)
            self._text(5.5, _("Organised by %(organiser)s", organiser=self.event["organiser"]))
        self.pdf.ln(4)

    def _sessions(self) -> None:
        pdf = self.pdf
        sessions = self.content["sessions"]
        series = self.event.get("series") and not self.content["registers"]
        self._label(_("Groups attended") if series else _("Sessions attended"))
        self._rule()
        for row in sessions:
            self._session(row)
        if self.content["hours"] and Decimal(self.content["hours"]) > 0:
            self._font(10, True)
            pdf.cell(TEXT - 28, 6, _("Contact hours"), align="R")
            pdf.cell(28, 6, shown_points(Decimal(self.content["hours"])), align="R",
                     new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
        pdf.ln(3)

    def _session(self, row: dict[str, Any]) -> None:
        pdf = self.pdf
        starts, ends = _local(row["starts_at"], self.zone), _local(row["ends_at"], self.zone)
        if pdf.will_page_break(12):
            pdf.add_page()
        y = pdf.get_y()
        when = ""
        met = [local(datetime.fromisoformat(start), self.zone) for start, _end in row["meetings"]]
        if met:  # a group: from the first meeting attended to the last
            span = sorted({met[0].date(), met[-1].date()})
            when = " – ".join(format_date(d, "d MMM") for d in span)
        elif starts is not None and ends is not None:
            when = f"{format_date(starts.date(), 'd MMM')}  {format_time(starts, 'HH:mm')}–" \
                   f"{format_time(ends, 'HH:mm')}"  # fmt: skip
        self._font(9.5, False, MUTED)
        pdf.set_xy(MARGIN, y)
        pdf.cell(34, 5.5, when)
        pdf.set_xy(MARGIN + 36, y)
        self._font(10, True)
        self._text(5.5, row["title"], width=TEXT - 36 - 28)
        bottom = pdf.get_y()
        notes = []
        days = ", ".join(format_date(d.date(), "d MMM") for d in met)
        if met and "meetings_held" in row:
            notes.append(
                ngettext(
                    "%(num)d of %(held)d meeting attended: %(days)s",
                    "%(num)d of %(held)d meetings attended: %(days)s",
                    len(met), held=row["meetings_held"], days=days,
                )
            )  # fmt: skip
        elif met:  # issued before presence per meeting: the group's meetings, not attended
            notes.append(f"{ngettext('%(num)d meeting', '%(num)d meetings', len(met))}: {days}")
        elif not row["in_full"]:
            notes.append(_("partly attended: no contact hours"))
        if notes:
            pdf.set_x(MARGIN + 36)
            self._font(8.5, False, MUTED)
            self._text(4.5, " · ".join(notes), width=TEXT - 36 - 28)
            bottom = pdf.get_y()
        if row["hours"]:
            pdf.set_xy(MARGIN + TEXT - 28, y)
            self._font(10)
            pdf.cell(28, 5.5, _("%(hours)s h", hours=shown_points(Decimal(row["hours"]))),
                     align="R")  # fmt: skip
        pdf.set_xy(MARGIN, bottom + 1)
        self._rule(light=True)

    def _rule(self, light: bool = False) -> None:
        pdf = self.pdf
        pdf.set_draw_color(*(PALE if light else RULE))
        pdf.set_line_width(0.2 if light else 0.4)
        y = pdf.get_y() + 0.5
        pdf.line(MARGIN, y, WIDTH - MARGIN, y)
        pdf.set_y(y + 1.5)

    def _registers(self) -> None:
        pdf = self.pdf
        if pdf.will_page_break(30):
            pdf.add_page()
        self._label(_("Accreditation"))
        self._rule()
        for row in self.content["registers"]:
            if pdf.will_page_break(16):
                pdf.add_page()
            y = pdf.get_y()
            self._font(11, True)
            pdf.cell(TEXT - 40, 6, row["register"])
            self._font(11, True, self.accent)
            points = Decimal(row["points"])
            shown = ngettext("%(points)s point", "%(points)s points", 1 if points == 1 else 2,
                             points=shown_points(points))  # fmt: skip
            pdf.cell(40, 6, shown, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_y(y + 6)
            self._font(9, False, MUTED)
            statement = _(
                "This activity was accredited by %(body)s under activity ID %(activity)s.",
                body=row["body"], activity=row["activity_id"] or "–",
            )  # fmt: skip
            if row["number"]:
                statement += " " + _("Registered under number %(number)s.", number=row["number"])
            self._text(4.5, statement)
            pdf.ln(1.5)
            self._rule(light=True)
        pdf.ln(2)

    def _closing(self) -> None:
        """The signature, the issue date and the verification code with its QR code."""
        pdf = self.pdf
        height = 50.0
        if pdf.get_y() > HEIGHT - 22 - height:
            pdf.add_page()
        top = max(pdf.get_y() + 2, HEIGHT - 22 - height)
        design = self.design
        pdf.set_xy(MARGIN, top)
        if design is not None and design.signature_type and design.signature:
            pdf.image(io.BytesIO(design.signature), x=MARGIN, y=top, h=18, keep_aspect_ratio=True,
                      w=60)  # fmt: skip
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.3)
        pdf.line(MARGIN, top + 20, MARGIN + 75, top + 20)
        pdf.set_xy(MARGIN, top + 21.5)
        signatory = design.signatory_name if design is not None else ""
        column = 68.0
        self._font(10, True)
        self._text(5, signatory or self.event["organiser"] or self.event["title"], width=column)
        if design is not None and design.signatory_role:
            self._font(9, False, MUTED)
            self._text(4.5, design.signatory_role, width=column)
        self._font(9, False, MUTED)
        issued = local(self.c.issued_at, self.zone)
        self._text(4.5, _("Issued on %(date)s", date=format_date(issued.date(), "long")),
                   width=column)  # fmt: skip
        # The verification block: what to do on the left, the QR code on the right.
        size, text = 30.0, 62.0
        left = WIDTH - MARGIN - size
        start = left - text - 2
        pdf.set_fill_color(*PALE)
        pdf.rect(start - 3, top - 3, WIDTH - MARGIN - start + 6, size + 14, style="F",
                 round_corners=True)  # fmt: skip
        house.qr(pdf, verify_url(self.c.code), left, top, size)
        pdf.set_xy(start, top + 1)
        self._font(8, True, MUTED)
        self._text(4.5, _("Verify this certificate").upper(), width=text)
        pdf.set_x(start)
        self._font(8.5, False, MUTED)
        self._text(4.2, _("Scan the code, or enter it at"), width=text)
        pdf.set_x(start)
        self._text(4.2, external_url("certificates.lookup"), width=text)
        pdf.set_xy(start, pdf.get_y() + 1.5)
        self._font(9.5, True)
        pdf.cell(text, 6, codes.format_code(self.c.code))
        pdf.set_xy(start, top + size + 4)
        self._font(7.5, False, MUTED)
        pdf.cell(text, 4, _("Certificate %(number)s", number=self.c.number))

    def _stamp(self) -> None:
        pdf = self.pdf
        word = _("PREVIEW – NOT VALID") if self.preview else _("REVOKED")
        with pdf.local_context(fill_opacity=0.14), pdf.rotation(35, WIDTH / 2, HEIGHT / 2):
            self._font(44, True, (180, 30, 30))
            pdf.set_xy(0, HEIGHT / 2 - 10)
            pdf.cell(WIDTH, 20, word, align="C")
