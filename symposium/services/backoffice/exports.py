"""Exports for organisers: every registration of an event and the participants of one session.

The ``*_table`` functions read with a fixed handful of queries (never one per registration,
so 5,000 registrations export in one go) and return plain :class:`Table` values: header
texts plus rows of ``str``/``int``/naive local ``datetime``/``None``. The writers turn a
table into CSV or XLSX bytes and know nothing about the domain.

Headers and status words go through Flask-Babel (the back-office's language); profession
names are the Dutch ones, as accreditation bodies expect them.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.filters import local, local_date, local_time, whole_minutes
from symposium.models import (
    Enrolment,
    EnrolmentStatus,
    Event,
    Meeting,
    Presence,
    Registration,
    RegistrationStatus,
    Round,
    Session,
    SessionKind,
)
from symposium.services.accreditation import numbers
from symposium.services.backoffice.participants import participant_rows
from symposium.services.checkin import attendance
from symposium.services.core import names

Value = str | int | datetime | None

CSV_MIMETYPE = "text/csv; charset=utf-8"
# The CSV separators an organiser chooses from (see :func:`to_csv`): comma, which every
# program reads, and semicolon, which Excel with Dutch regional settings opens directly.
DELIMITERS = {"comma": ",", "semicolon": ";"}
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# How Excel shows the (naive, local) date-times; the cell itself holds a real date value.
XLSX_DATETIME_FORMAT = "dd-mm-yyyy hh:mm"
CSV_DATETIME_FORMAT = "%Y-%m-%d %H:%M"  # ISO order: every Excel locale reads it as a date
XLSX_MIN_WIDTH, XLSX_MAX_WIDTH = 8, 60
# A spreadsheet runs a cell that starts with one of these as a formula ("CSV injection"):
# registrants type their own names, addresses and organisations, so such text is neutralised.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Where a spreadsheet may start a cell: the start of the text or, in a CSV, after any
# separator a program might split on (Dutch Excel splits a comma CSV on ";"), a tab or a line
# break; spaces and quotes in between do not stop a formula. An apostrophe before the
# formula character makes it text (the OWASP advice): "+31 6 1234" shows as "'+31 6 1234".
_SKIPPED = r"(?:[^\S\t\r\n]|\")*"
_FORMULA = "[" + re.escape("".join(FORMULA_START)) + "]"
# A cell (XLSX) is never split; its start is checked past any blank, line break or quote.
_CELL_FORMULA = re.compile(rf'^(?=(?:\s|")*{_FORMULA}|[\t\r])')
_SPLIT_FORMULA = re.compile(rf"((?:^|[,;\t\r\n]){_SKIPPED})(?={_FORMULA})")


@dataclass
class Table:
    """What a writer needs: header texts and rows of plain values."""

    title: str
    columns: list[str]
    rows: list[list[Value]]


@dataclass
class Participant:
    """One live enrolment in a session, with what a list or a signature sheet shows."""

    registration_id: int
    name: str
    email: str
    profession: str
    organisation: str
    identifiers: dict[str, str]
    phone: str
    needs: str
    status: EnrolmentStatus
    waitlist_position: int | None
    registered_at: datetime  # aware UTC
    presence: Presence | None = None  # their live check-in in this session, if any

    @property
    def is_confirmed(self) -> bool:
        return self.status is EnrolmentStatus.CONFIRMED

    @property
    def register_numbers(self) -> str:
        """All identifiers on one line, e.g. "BIG 12345678901 · NIP-00004711" (for print)."""
        return numbers.shown(self.identifiers)


# --------------------------------------------------------------------------- reading


def _naive_local(value: datetime | None, zone: str) -> datetime | None:
    """Spreadsheets have no time zones: the event's wall-clock time, without tzinfo."""
    return None if value is None else local(value, zone).replace(tzinfo=None)


def _register_codes(identifier_dicts: Iterable[dict[str, str] | None]) -> list[str]:
    """The register codes that occur at all: one column each, none left empty throughout."""
    return sorted({code for ids in identifier_dicts if ids for code, value in ids.items() if value})


def _enrolment_label(status: EnrolmentStatus, position: int | None) -> str:
    if status is EnrolmentStatus.CONFIRMED:
        return _("confirmed")
    return _("waiting list, position %(n)d", n=position or 0)


def registrations_table(db: DbSession, event: Event) -> Table:
    """Every registration of ``event`` (cancelled ones too), one row each, in sign-up order.

    Five queries whatever the number of registrations: rounds, sessions, registrations
    with their profession, all live enrolments of the event, and all live presences.
    """
    rounds = db.scalars(
        select(Round).where(Round.event_id == event.id).order_by(Round.starts_at, Round.id)
    ).all()
    sessions = {
        s.id: s
        for s in db.scalars(
            select(Session).where(Session.event_id == event.id).order_by(Session.position)
        )
    }
    # Enrollable sessions outside any round (groups, free-standing workshops) share a column.
    has_groups = any(
        s.round_id is None and s.kind is not SessionKind.PLENARY for s in sessions.values()
    )

    registrations = db.execute(
        participant_rows(event)
        .add_columns(Registration.phone, Registration.needs)
        .order_by(Registration.id)
    ).all()
    enrolments = db.execute(
        select(
            Enrolment.registration_id,
            Enrolment.session_id,
            Enrolment.status,
            Enrolment.waitlist_position,
        )
        .join(Registration, Registration.id == Enrolment.registration_id)
        .where(Registration.event_id == event.id, Enrolment.status != EnrolmentStatus.CANCELLED)
        .order_by(Enrolment.id)
    ).all()

    round_index = {r.id: i for i, r in enumerate(rounds)}
    groups_index = len(rounds)
    # registration id -> one list of "title (status)" per round, plus one for groups
    chosen: dict[int, list[list[str]]] = defaultdict(
        lambda: [[] for _slot in range(len(rounds) + 1)]
    )
    for registration_id, session_id, status, position in enrolments:
        session = sessions.get(session_id)
        if session is None:
            continue
        slot = groups_index if session.round_id is None else round_index[session.round_id]
        chosen[registration_id][slot].append(
            f"{session.title} ({_enrolment_label(status, position)})"
        )

    codes = _register_codes(r.identifiers for r in registrations)
    columns = [
        _("Registration"),
        _("Name"),
        _("E-mail address"),
        _("Profession"),
        _("Organisation"),
        *codes,
        _("Registered at"),
        _("Status"),
        *(r.title for r in rounds),
        *([_("Groups")] if has_groups else []),
        _("Checked in"),
        *_contact_columns(),
    ]
    present = attendance.event_presences(db, event)
    status_labels = {
        RegistrationStatus.ACTIVE: _("Active"),
        RegistrationStatus.CANCELLED: _("Cancelled"),
    }
    rows: list[list[Value]] = []
    for r in registrations:
        identifiers = r.identifiers or {}
        choices = chosen[r.id]
        rows.append(
            [
                r.id,
                r.name,
                r.email,
                r.profession,
                r.organisation,
                *(identifiers.get(code) for code in codes),
                _naive_local(r.created_at, event.timezone),
                status_labels[r.status],
                *("; ".join(c) or None for c in choices[: len(rounds)]),
                *(["; ".join(choices[groups_index]) or None] if has_groups else []),
                _attended(present.get(r.id, []), sessions, event.timezone),
                *_contact_cells(r.phone, r.needs),
            ]
        )
    return Table(_("Registrations"), columns, rows)


def session_participants(
    db: DbSession, event: Event, session: Session, meeting: Meeting | None = None
) -> list[Participant]:
    """Confirmed participants (by name), then the waiting list (by position); one query.
    Their presence is the session's (a group's: at ``meeting``).

    Cancelled enrolments (and so cancelled registrations) are left out.
    """
    rows = db.execute(
        participant_rows(event, session).add_columns(Registration.phone, Registration.needs)
    ).all()
    present = {p.registration_id: p for p in attendance.session_presences(db, session, meeting)}
    participants = [
        Participant(
            registration_id=row.id,
            name=row.name,
            email=row.email,
            profession=row.profession,
            organisation=row.organisation,
            identifiers=row.identifiers or {},
            phone=row.phone,
            needs=row.needs,
            status=row.enrolment_status,
            waitlist_position=row.waitlist_position,
            registered_at=row.created_at,
            presence=present.get(row.id),
        )
        for row in rows
    ]
    participants.sort(
        key=lambda p: (
            not p.is_confirmed,
            p.waitlist_position or 0,
            names.sort_key(p.name),
            p.registration_id,
        )
    )
    return participants


def participants_table(
    event: Event, session: Session, participants: Sequence[Participant]
) -> Table:
    """The per-session list as a table (columns as on the screen, times in local time)."""
    codes = _register_codes(p.identifiers for p in participants)
    columns = [
        _("Name"),
        _("E-mail address"),
        _("Profession"),
        _("Organisation"),
        *codes,
        _("Status"),
        _("Waiting list position"),
        _("Registered at"),
        _("Checked in"),
        _("Checked out"),
        _("Minutes late"),
        _("Minutes left early"),
        _("Attended in full"),
        *_contact_columns(),
    ]
    rows: list[list[Value]] = [
        [
            p.name,
            p.email,
            p.profession,
            p.organisation,
            *(p.identifiers.get(code) for code in codes),
            _("Confirmed") if p.is_confirmed else _("Waiting list"),
            p.waitlist_position,
            _naive_local(p.registered_at, event.timezone),
            *_presence_cells(p.presence, event.timezone),
            *_contact_cells(p.phone, p.needs),
        ]
        for p in participants
    ]
    return Table(session.title, columns, rows)


def _contact_columns() -> list[str]:
    """Last, so every older column keeps its place for sheets built on these exports."""
    return [_("Phone number"), _("Accessibility or dietary needs")]


def _contact_cells(phone: str, needs: str) -> list[Value]:
    """The phone (to reach someone who does not turn up) and the needs as typed, line breaks
    kept (the catering summary, ``backoffice.catering``, counts them); blank when none."""
    return [phone or None, needs or None]


def _attended(presences: list[Presence], sessions: dict[int, Session], zone: str) -> str | None:
    """ "Kleine workshop 13:02–14:30; …": every session someone was checked in at."""
    parts = []
    for p in presences:
        session = sessions.get(p.session_id)
        if session is None:
            continue
        out = local_time(p.checked_out_at, zone) if p.checked_out_at else ""
        title = session.title
        if p.meeting_id is not None:  # a group's meetings: each with its day
            title = f"{title} {local_date(p.checked_in_at, zone, 'short')}"
        parts.append(f"{title} {local_time(p.checked_in_at, zone)}–{out}".rstrip("–"))
    return "; ".join(parts) or None


def _presence_cells(presence: Presence | None, zone: str) -> list[Value]:
    """Checked in, checked out, minutes late, minutes early, in full: blank if never in."""
    if presence is None:
        return [None, None, None, None, None]
    out = presence.checked_out_at
    return [
        _naive_local(presence.checked_in_at, zone),
        _naive_local(out, zone) if out is not None else None,
        whole_minutes(attendance.late_by(presence)),
        whole_minutes(attendance.early_by(presence)),
        _("yes") if attendance.in_full(presence) else _("no"),
    ]


# --------------------------------------------------------------------------- writers


def _neutralise(text: str) -> str:
    """A CSV cell that runs as no formula however it is split (comma, semicolon, tab, line).

    ``Piet;=1+1`` becomes ``Piet;'=1+1``: one column in a comma reader, and plain text in
    the second column Dutch Excel makes of it.
    """
    return _SPLIT_FORMULA.sub(r"\1'", text)


def _neutralise_cell(text: str) -> str:
    """An XLSX cell is never split, so only its start can make it a formula."""
    return _CELL_FORMULA.sub("'", text)


def _csv_cell(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(CSV_DATETIME_FORMAT)
    if isinstance(value, str):
        return _neutralise(value)
    return str(value)


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[Value]], delimiter: str = ",") -> bytes:
    """RFC 4180 CSV (``\\r\\n``, quoted only where needed) in UTF-8 with a byte-order mark.

    Why the BOM: without it Excel reads the file as Windows-1252, so "Zoë de Vries-Çelik"
    arrives as "ZoÃ« de Vries-Ã‡elik". Why comma by default: it is the format every other tool
    (LibreOffice, Google Sheets, Python, accreditation portals) reads without asking. Caveat:
    Excel with Dutch regional settings splits a *double-clicked* CSV on its list separator,
    ";" (the comma is the decimal sign there), so such a file lands in one column. The usual
    fix, a ``sep=,`` first line, makes Excel ignore the BOM and break the diacritics again, so
    it is not used. Organisers on Dutch Excel take the XLSX export (right in any locale),
    choose the semicolon (:data:`DELIMITERS`, a choice on the exports page), or import the
    CSV through Data > From Text/CSV. Date-times are written in ISO order, which every locale
    reads as a date.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([_neutralise(c) for c in columns])
    writer.writerows([_csv_cell(v) for v in row] for row in rows)
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def _sheet_title(title: str) -> str:
    """Excel sheet names: at most 31 characters and none of ``[]:*?/\\``."""
    return re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31] or "Sheet1"


def _display_width(value: Value) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        if value.tzinfo is not None:  # refused before the workbook is half written
            raise ValueError("give spreadsheets naive local date-times")
        return len(XLSX_DATETIME_FORMAT)
    return max(len(line) for line in str(value).splitlines() or [""])


def to_xlsx(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Value]],
    preamble: Sequence[tuple[str, Value]] = (),
) -> bytes:
    """One worksheet ready to filter and print: bold frozen header, fitted widths, autofilter.

    ``preamble`` rows (label, value) come above the table: what a register's attendance list
    states first (organiser, activity, date, activity ID).

    Date-times must be naive local times (spreadsheets know no zones) and become real Excel
    date-times, so they sort and filter as dates. Text stays text even when it looks like a
    number (register numbers keep their leading zeros) or a formula (never run). Streams
    through openpyxl's write-only mode to stay light with thousands of rows.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_title(title))
    widths = [len(c) for c in columns]
    for row in rows:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], _display_width(value))
    for i, width in enumerate(widths, start=1):
        fitted = min(max(width + 2, XLSX_MIN_WIDTH), XLSX_MAX_WIDTH)
        sheet.column_dimensions[get_column_letter(i)].width = fitted
    top = len(preamble) + 2 if preamble else 1  # the table's header row
    sheet.freeze_panes = f"A{top + 1}"
    last = get_column_letter(max(len(columns), 1))
    sheet.auto_filter.ref = f"A{top}:{last}{len(rows) + top}"
    sheet.print_title_rows = f"{top}:{top}"

    bold = Font(bold=True)
    for label, value in preamble:
        cell = WriteOnlyCell(sheet, value=_neutralise_cell(ILLEGAL_CHARACTERS_RE.sub("", label)))
        cell.font = bold
        sheet.append([cell, _xlsx_cell(sheet, value)])
    if preamble:
        sheet.append([])
    header = []
    for text in columns:
        cell = WriteOnlyCell(sheet, value=_neutralise_cell(ILLEGAL_CHARACTERS_RE.sub("", text)))
        cell.data_type = "s"
        cell.font = bold
        cell.alignment = Alignment(vertical="top")
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(sheet: object, value: Value) -> object:
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = XLSX_DATETIME_FORMAT
        return cell
    if isinstance(value, str):
        # Never a formula cell: openpyxl stores text starting with "=" as one, and Excel would
        # run "+1" or "-1+1" typed into such a cell later; so the same apostrophe as in CSV.
        text = _neutralise_cell(ILLEGAL_CHARACTERS_RE.sub("", value))
        if "\n" not in text:
            return text
        cell = WriteOnlyCell(sheet, value=text)  # needs on several lines: show every line
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        return cell
    return value
