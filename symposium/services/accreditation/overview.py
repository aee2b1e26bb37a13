"""What an organiser must still send: per register the accredited sessions, who earned points,
who lacks a number, the deadline and whether the list went out (by whom, when).

A deadline within ``SOON`` days with a list never exported is shown on the back-office home
page, so no register's deadline passes unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

from symposium.models import Accreditation, Event, ListExport
from symposium.services.accreditation import lists, points

SOON = timedelta(days=14)


@dataclass
class RegisterOverview:
    accreditation: Accreditation
    sessions: int
    attended: int
    earned: int
    missing: int
    days: list[date]
    last_export: ListExport | None
    days_left: int | None  # to the deadline, from today (negative: passed)

    @property
    def urgent(self) -> bool:
        """Deadline within 14 days (or passed) and no list exported yet."""
        return (
            self.days_left is not None and self.days_left <= SOON.days and self.last_export is None
        )


def event_overview(db: DbSession, event: Event, now: datetime) -> list[RegisterOverview]:
    """One line per register that accredited the event, in the event's order."""
    computed = points.event_points(db, event)
    today = now.astimezone(event.tz).date()
    exports = _last_exports(db, [a.id for a in computed.accreditations])
    found = []
    for accreditation in computed.accreditations:
        listed = lists.attendance_list(db, event, accreditation, computed=computed)
        found.append(
            RegisterOverview(
                accreditation,
                len(accreditation.sessions),
                len(listed.rows),
                len(listed.earned),
                len(listed.missing),
                lists.days_of(event, accreditation),
                exports.get(accreditation.id),
                (accreditation.deadline - today).days if accreditation.deadline else None,
            )
        )
    return found


def _last_exports(db: DbSession, accreditation_ids: Iterable[int]) -> dict[int, ListExport]:
    rows = db.scalars(
        select(ListExport)
        .where(ListExport.accreditation_id.in_(list(accreditation_ids) or [0]))
        .options(selectinload(ListExport.by))
        .order_by(ListExport.at, ListExport.id)
    )
    return {row.accreditation_id: row for row in rows}


def deadlines_soon(db: DbSession, events: Iterable[Event], now: datetime) -> list[Accreditation]:
    """Accreditations of ``events`` whose deadline is within 14 days (or passed less than
    14 days ago) while no list was ever exported: for the back-office home page."""
    ids = [e.id for e in events]
    today = now.date()
    rows = db.scalars(
        select(Accreditation)
        .where(
            Accreditation.event_id.in_(ids or [0]),
            Accreditation.deadline.is_not(None),
            Accreditation.deadline <= today + SOON,
            Accreditation.deadline >= today - SOON,
            ~select(ListExport.id).where(ListExport.accreditation_id == Accreditation.id).exists(),
        )
        .options(selectinload(Accreditation.register), selectinload(Accreditation.event))
        .order_by(Accreditation.deadline)
    )
    return list(rows)
