"""The attendance lists a register takes, per register and per activity date.

- the **paste list** for PE-online's import box: one number per line, exactly the people who
  earned points, nothing else on the line;
- the **XLSX presence list**: the header a register asks for (organiser, activity, date,
  activity ID, register) and per attendee initials and surname, profession, numbers, the
  sessions attended with check-in and check-out times, contact hours, points and the reason
  where points were reduced;
- the **PDF presence list**: the same, with a signature column.

Someone who earned points but has no valid number for the register is never dropped in
silence: they are listed apart (``missing``), on the page and at the end of each list.
Points come from ``accreditation.points``; this module only arranges them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import (
    Accreditation,
    Event,
    ListExport,
    Profession,
    Register,
    Registration,
    User,
)
from symposium.services.accreditation import numbers, points
from symposium.services.backoffice.exports import to_xlsx
from symposium.services.core import audit, names
from symposium.services.core.errors import RuleError

FORMATS = ("paste", "xlsx", "pdf")


@dataclass(frozen=True)
class Row:
    registration_id: int
    name: str
    initials: str
    surname: str
    profession: str
    numbers: str  # every number the person gave, for the list's reader
    result: points.Result
    number_problem: str | None  # why the register cannot take the number, else None

    @property
    def listed(self) -> bool:
        """On the paste list: earned points and has a number the register takes."""
        return self.result.earned and self.number_problem is None


@dataclass
class AttendanceList:
    event: Event
    accreditation: Accreditation
    day: date | None
    rows: list[Row]  # everyone of the register's professions who attended, by surname
    # Of its professions, registered, but never checked in (the organiser may still give
    # points, e.g. when the scans were lost): not on any list.
    absent: list[Row] = field(default_factory=list)

    @property
    def register(self) -> Register:
        return self.accreditation.register

    @property
    def earned(self) -> list[Row]:
        return [r for r in self.rows if r.listed]

    @property
    def missing(self) -> list[Row]:
        """Earned points, but the register cannot take their number (none, or malformed)."""
        return [r for r in self.rows if r.result.earned and r.number_problem is not None]

    @property
    def days(self) -> list[date]:
        return days_of(self.event, self.accreditation)

    def lines(self, row: Row) -> list[points.Line]:
        """The person's lines on this list's date (all of them without one)."""
        return [line for line in row.result.lines if _on(line, self.day, self.event)]


def accreditation_for(db: DbSession, event: Event, code: str) -> Accreditation:
    """The event's accreditation by the register ``code``; refused when it has none."""
    for found in points.accreditations(db, event):
        if found.register.code == code.upper():
            return found
    raise RuleError(
        "not_accredited",
        _("%(register)s did not accredit this event.", register=code),
        "register",
        status=404,
    )


def days_of(event: Event, accreditation: Accreditation) -> list[date]:
    """The activity dates of the register's accredited sessions (one per day of the event)."""
    found = {
        s.session.effective_starts_at.astimezone(event.tz).date()
        for s in accreditation.sessions
        if s.session.effective_starts_at is not None
    }
    return sorted(found)


def attendance_list(
    db: DbSession,
    event: Event,
    accreditation: Accreditation,
    day: date | None = None,
    computed: points.EventPoints | None = None,
) -> AttendanceList:
    """The register's list: everyone of its professions who checked in at least once
    (``computed``: the event's points, when the caller has them already)."""
    if computed is None:
        computed = points.event_points(db, event, day=day)
    results = {
        registration_id: found
        for registration_id, rs in computed.results.items()
        for found in rs
        if found.accreditation.id == accreditation.id
    }
    patterns = _patterns(db, accreditation.register)
    people = db.execute(
        select(Registration.id, Registration.name, Registration.identifiers, Profession.name_nl,
               Profession.name_en)
        .join(Profession, Profession.id == Registration.profession_id)
        .where(Registration.id.in_(list(results) or [0]))
    ).all()  # fmt: skip
    locale = _locale()
    rows, absent = [], []
    for registration_id, name, identifiers, name_nl, name_en in people:
        found = results[registration_id]
        given, surname = names.initials(name)
        here = [line for line in found.attended if _on(line, day, event)]
        (rows if here or found.override is not None else absent).append(
            Row(
                registration_id, name, given, surname, name_en if locale == "en" else name_nl,
                numbers.shown(identifiers), found, _number_problem(found.number, patterns),
            )
        )  # fmt: skip
    rows.sort(key=lambda r: names.sort_key(r.name))
    absent.sort(key=lambda r: names.sort_key(r.name))
    return AttendanceList(event, accreditation, day, rows, absent)


def _on(line: points.Line, day: date | None, event: Event) -> bool:
    """Whether a line is of the list's date (every line is, on a list without one)."""
    return (
        day is None or line.starts_at is None or line.starts_at.astimezone(event.tz).date() == day
    )


def _patterns(db: DbSession, register: Register) -> list[re.Pattern[str]]:
    codes = register.number_registers
    found = db.scalars(select(Register).where(Register.code.in_(codes))).all()
    return [re.compile(r.identifier_pattern) for r in found if r.identifier_pattern]


def _number_problem(number: str | None, patterns: list[re.Pattern[str]]) -> str | None:
    if number is None:
        return _("no number")
    if patterns and not any(p.fullmatch(number) for p in patterns):
        return _("number %(number)s is not in the register's format", number=number)
    return None


def paste(found: AttendanceList) -> str:
    """PE-online's import box: one number per line, only those who earned points."""
    return "".join(f"{row.result.number}\n" for row in found.earned)


def sessions_attended(event: Event, result: points.Result, day: date | None = None) -> str:
    """ "Opening (09:28); Kleine workshop (13:02–14:05)": the sessions the register accredited
    that the person attended, with the check-in time, and the check-out time of someone who
    left before "everyone left"."""
    zone = event.tz

    def clock(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%H:%M") if moment else ""

    def times(line: points.Line) -> str:
        if line.checked_out_at is None:  # stayed to the end (never checked out)
            return clock(line.checked_in_at)
        return f"{clock(line.checked_in_at)}–{clock(line.checked_out_at)}"

    def shown(line: points.Line) -> bool:
        if line.accredited is None or line.starts_at is None:
            return line.accredited is not None
        return day is None or line.starts_at.astimezone(zone).date() == day

    return "; ".join(f"{line.title} ({times(line)})" for line in result.attended if shown(line))


def reasons(row: Row) -> str:
    found = [str(r) for r in row.result.reasons]
    if row.result.earned and row.number_problem:
        found.append(_("Not on the paste list: %(problem)s.", problem=row.number_problem))
    return " ".join(found)


def header(found: AttendanceList) -> list[tuple[str, str]]:
    """What a register's list states first: organiser, activity, date, ID, register."""
    event, accreditation = found.event, found.accreditation
    days = [found.day] if found.day else found.days or [event.starts_at.astimezone(event.tz).date()]
    first, last = (d.strftime("%d-%m-%Y") for d in (days[0], days[-1]))
    when = first if first == last else f"{first} – {last}"
    register = accreditation.register
    by = f"{register.name} ({accreditation.body})" if accreditation.body else register.name
    return [
        (_("Organiser"), event.organiser_name),
        (_("Activity"), event.title),
        (_("Date"), when),
        (_("Activity ID"), accreditation.activity_id),
        (_("Accrediting register"), by),
    ]


def columns() -> list[str]:
    return [
        _("Initials"), _("Surname"), _("Profession"), _("Register number"), _("All numbers"),
        _("Sessions attended"), _("Contact hours"), _("Points"), _("Reason"),
    ]  # fmt: skip


def table_rows(found: AttendanceList) -> list[list[object]]:
    return [
        [
            row.initials, row.surname, row.profession, row.result.number or "", row.numbers,
            sessions_attended(found.event, row.result, found.day),
            float(points.total_hours(found.lines(row))), float(row.result.points), reasons(row),
        ]
        for row in found.rows
    ]  # fmt: skip


def filename(found: AttendanceList, extension: str) -> str:
    day = f"-{found.day.isoformat()}" if found.day else ""
    return f"{found.event.slug}-{found.register.code.lower()}{day}.{extension}"


def record_export(
    db: DbSession, actor: User | None, found: AttendanceList, fmt: str, now: datetime
) -> ListExport:
    """Note who took the list out and when (the overview shows it); audited."""
    row = ListExport(
        accreditation_id=found.accreditation.id, format=fmt, day=found.day,
        people=len(found.earned), by=actor, at=now,
    )  # fmt: skip
    db.add(row)
    audit.record(
        db, user=actor, event=found.event, action="attendance_list_exported",
        target=f"register:{found.register.code}",
        after={"format": fmt, "day": found.day.isoformat() if found.day else None,
               "people": len(found.earned), "missing": len(found.missing)},
        now=now,
    )  # fmt: skip
    db.flush()
    return row


def _locale() -> str:
    return str(get_locale() or "nl")


def xlsx(found: AttendanceList) -> bytes:
    """The XLSX presence list: the register's header above one row per attendee."""
    return to_xlsx(found.register.short_name, columns(), table_rows(found), header(found))
