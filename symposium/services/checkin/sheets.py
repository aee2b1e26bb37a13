"""Paper at the door: the sign-in sheet of a session, and entering its ticks afterwards.

The sheet (A4 landscape, PDF) lists everyone expected in the session, by surname
(``core.names``), with profession, organisation and register numbers (the accreditation
body checks those), a tick box and a signature column, then blank rows for walk-ins. It is
for the day the wifi, the phones or the volunteers are not there.

Entering a sheet (:func:`enter_paper`) records each ticked person as a presence "from paper"
(``Via.PAPER``) with who entered it, through ``presence.scan`` (the same rules as the door:
someone whose place is elsewhere now is not recorded but reported). Each person's paper
scan has a fixed client id (``paper-<session>-<registration>``), so entering the same sheet
twice records nothing twice. Paper tells no time: the check-in is at the session's start.

A group that meets several times has a sheet per meeting (``meeting``; by default the
current one, ``attendance.current_meeting``): its ticks are presences at that meeting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

from symposium.filters import local_date, local_time, localised_name
from symposium.models import (
    CheckinScan,
    Enrolment,
    Meeting,
    Presence,
    Registration,
    Session,
    User,
    Via,
)
from symposium.services.accounts import access
from symposium.services.accreditation import numbers
from symposium.services.checkin import attendance, presence
from symposium.services.checkin.answers import Verdict
from symposium.services.core import audit, names
from symposium.services.core import pdf as house
from symposium.services.core.errors import RuleError
from symposium.services.core.pdf import ACCENT, INK, MUTED, RULE

# Blank rows for walk-ins: at least this many, and the rest of the last page.
BLANK_ROWS = 6
MARGIN = 12.0
ROW_HEIGHT = 12.0
# Number, name, profession and organisation, register numbers, present, signature (mm).
COLUMNS = (9.0, 62.0, 58.0, 48.0, 24.0, 72.0)


def expected_people(db: DbSession, session: Session) -> list[Registration]:
    """Everyone expected in ``session`` (a place there), by surname: the sheet's rows."""
    registrations = db.scalars(
        select(Registration)
        .where(Registration.event_id == session.event_id, Registration.anonymised_at.is_(None))
        .options(
            selectinload(Registration.enrolments).selectinload(Enrolment.session),
            selectinload(Registration.profession),
        )
    ).all()
    return sorted(presence.expected(session, registrations), key=lambda r: names.sort_key(r.name))


@dataclass(frozen=True)
class PresenceList:
    """A session's presence list: who came (by surname), who was expected and did not."""

    rows: list[Presence]
    missing: list[Registration]
    started: bool  # whether absence counts yet (attendance.door_opened)


def presence_list(
    db: DbSession, session: Session, now: datetime, meeting: Meeting | None = None
) -> PresenceList:
    """The organiser's list of a session (of a group's meeting), the same people as its
    sign-in sheet."""
    rows = sorted(
        attendance.session_presences(db, session, meeting),
        key=lambda p: names.sort_key(p.registration.name),
    )
    here = {p.registration_id for p in rows}
    missing = [r for r in expected_people(db, session) if r.id not in here]
    return PresenceList(rows, missing, attendance.door_opened(session, now, len(rows), meeting))


def register_numbers(registration: Registration) -> str:
    """ "BIG 12345678901 · NIP-00012345": what the accreditation lists need, on the sheet."""
    return numbers.shown(registration.identifiers)


# --- the sheet ------------------------------------------------------------------------------


def sign_in_sheet(
    db: DbSession, session: Session, now: datetime, language: str, meeting: Meeting | None = None
) -> bytes:
    """The session's (a group meeting's) sign-in sheet as PDF bytes, in the current language."""
    return _Sheet(session, meeting, expected_people(db, session), now, language).render()


class _Pages(FPDF):
    """A4 landscape with the session on top of every page and its page number below."""

    heading: tuple[str, str] = ("", "")
    notice: str = ""

    def header(self) -> None:
        title, details = self.heading
        house.font(self, 8.5, True, MUTED)
        self.cell(0, 4.5, _("Sign-in sheet").upper(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        house.font(self, 15, True, INK)
        self.multi_cell(0, 7, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        house.font(self, 10, False, INK)
        self.multi_cell(0, 5.5, details, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        house.heading_rule(self, MARGIN)

    def footer(self) -> None:
        house.page_footer(self, self.notice)


class _Sheet:
    def __init__(
        self,
        session: Session,
        meeting: Meeting | None,
        people: list[Registration],
        now: datetime,
        language: str,
    ):
        self.session, self.people, self.now = session, people, now
        event = session.event
        zone = event.timezone
        pdf = _Pages(orientation="landscape", unit="mm", format="A4")
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.set_auto_page_break(True, margin=16)
        house.setup(
            pdf, title=f"{_('Sign-in sheet')} · {session.title}",
            author=event.organiser_name or event.title, language=language, now=now,
        )  # fmt: skip
        starts, ends = session.effective_starts_at, session.effective_ends_at
        room = session.room
        if meeting is not None:
            starts, ends, room = meeting.starts_at, meeting.ends_at, meeting.room or room
        when = f"{local_date(starts, zone)}, {local_time(starts, zone)}–{local_time(ends, zone)}"
        where = _("room %(room)s", room=room) if room else ""
        pdf.heading = (
            session.title,
            " · ".join(part for part in (event.title, when, where) if part),
        )
        printed = f"{local_date(now, zone, 'short')} {local_time(now, zone)}"
        pdf.notice = _(
            "Personal data: hand this sheet back to the organiser, who enters it and then "
            "destroys it. Printed %(time)s.",
            time=printed,
        )
        self.pdf = pdf

    def render(self) -> bytes:
        pdf = self.pdf
        pdf.add_page()
        house.font(pdf, 9.5, False, MUTED)
        pdf.multi_cell(
            0, 5,
            _("%(num)d expected. Tick the box and sign; write your name, profession and "
              "register number on an empty row if you are not on the list.",
              num=len(self.people)),
            new_x=XPos.LMARGIN, new_y=YPos.NEXT,
        )  # fmt: skip
        pdf.ln(2)
        heads = ("#", _("Name"), _("Profession · organisation"), _("Register numbers"),
                 _("Present"), _("Signature"))  # fmt: skip
        bold = FontFace(emphasis="BOLD")
        with self._table() as table:
            table.row(heads)
            for number, person in enumerate(self.people, start=1):
                row = table.row()
                row.cell(str(number))
                row.cell(person.name, style=bold)
                row.cell("\n".join(p for p in (localised_name(person.profession),
                                                person.organisation) if p))  # fmt: skip
                row.cell(register_numbers(person))
                row.cell("☐", align="CENTER", style=FontFace(size_pt=16))
                row.cell("")
        pdf.ln(4)
        blank = self._blank_rows()
        with self._table() as table:
            table.row(heads)
            for _blank in range(blank):
                row = table.row()
                for _column in COLUMNS:
                    row.cell("")
        pdf.alias_nb_pages()
        return bytes(pdf.output())

    def _table(self) -> Any:
        pdf = self.pdf
        pdf.set_draw_color(*RULE)
        house.font(pdf, 9.5)
        return pdf.table(
            col_widths=COLUMNS, width=sum(COLUMNS), align="LEFT", text_align="LEFT",
            line_height=4.6, min_row_height=ROW_HEIGHT, padding=(1.2, 1.6),
            headings_style=FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=ACCENT),
            borders_layout="HORIZONTAL_LINES", repeat_headings=1,
        )  # fmt: skip

    def _blank_rows(self) -> int:
        """The rest of the page, or a new page of them when fewer than BLANK_ROWS fit."""
        pdf = self.pdf
        bottom = pdf.h - pdf.b_margin
        fits = math.floor((bottom - pdf.get_y()) / ROW_HEIGHT) - 1  # below their heading
        if fits >= BLANK_ROWS:
            return fits
        pdf.add_page()
        return math.floor((bottom - pdf.get_y()) / ROW_HEIGHT) - 1


# --- entering a sheet -----------------------------------------------------------------------


@dataclass
class PaperEntry:
    """What entering a sheet did, for the organiser's notice."""

    recorded: list[Registration] = field(default_factory=list)
    already: list[Registration] = field(default_factory=list)
    # Ticked, but not let in by the rules (a place elsewhere now, cancelled): with the reason.
    refused: list[tuple[Registration, str]] = field(default_factory=list)


def client_id(
    db: DbSession, session: Session, registration_id: int, meeting: Meeting | None = None
) -> str:
    """The client id of a person's next paper scan in a session: ``paper-<s>-<r>-<n>``
    (``paper-<s>.<meeting>-<r>-<n>`` at a group's meeting).

    Numbered, so a refusal (their place was elsewhere then) or an undone check-in is not
    replayed for ever: entering them again is decided afresh. The same sheet sent twice at
    once draws the same number, and the second is a replay.
    """
    where = f"{session.id}.{meeting.id}" if meeting is not None else str(session.id)
    prefix = f"paper-{where}-{registration_id}-"
    earlier = db.scalar(
        select(func.count())
        .select_from(CheckinScan)
        .where(CheckinScan.event_id == session.event_id, CheckinScan.client_id.like(prefix + "%"))
    )
    return f"{prefix}{(earlier or 0) + 1}"


def enter_paper(
    db: DbSession,
    actor: User,
    session: Session,
    registration_ids: list[int],
    now: datetime,
    meeting: Meeting | None = None,
) -> PaperEntry:
    """Record the ticks of a paper sheet (of ``meeting``, in a group: by default the current
    one); one audit entry for the sheet. The caller commits."""
    if not access.can(actor, access.MANAGE, session.event):
        raise RuleError(
            "paper_not_allowed", _l("Only an organiser can enter a paper sheet."), status=403
        )
    if session.meetings:
        meeting = meeting or attendance.current_meeting(session, now)
        if meeting is not None and meeting.starts_at > now:
            raise RuleError(
                "meeting_not_held",
                _l("This meeting has not taken place yet: enter its list afterwards."),
                status=409,
            )
    start = meeting.starts_at if meeting is not None else (session.effective_starts_at or now)
    at = min(start, now)  # the sheet was signed at the start; entered now or later
    entry = PaperEntry()
    for registration_id in sorted(set(registration_ids)):
        person = db.get(Registration, registration_id)
        if person is None or person.event_id != session.event_id:
            continue  # not of this event: the form offers only the session's people
        if presence.live_presence(db, session, person, meeting) is not None:
            entry.already.append(person)  # scanned at the door, or this sheet entered before
            continue
        answer = presence.scan(
            db, actor, session, client_id=client_id(db, session, registration_id, meeting),
            now=now, registration_id=registration_id, at=at, via=Via.PAPER,
        )  # fmt: skip
        if answer.verdict is Verdict.WELCOME and not answer.replayed:
            entry.recorded.append(person)
        elif answer.verdict in (Verdict.WELCOME, Verdict.ALREADY):
            entry.already.append(person)
        else:
            entry.refused.append((person, answer.reason_text or _("a place in another session")))
    if entry.recorded:
        audit.record(
            db, user=actor, event=session.event, action="paper_entered",
            target=f"session {session.key}"
            + (f" meeting {meeting.key}" if meeting is not None else ""),
            note=", ".join(str(r.id) for r in entry.recorded), now=now,
        )  # fmt: skip
    return entry
