"""Who registered for an event: the one query lists and exports start from, and the
back-office search (sort, page) over it, each in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

from symposium.models import Enrolment, EnrolmentStatus, Event, Profession, Registration, Session

SORTS = {
    "name": func.lower(Registration.name),
    "email": Registration.email,
    "profession": Profession.position,
    "organisation": func.lower(Registration.organisation),
    "registered": Registration.created_at,
}
PER_PAGE = 100


def participant_rows(event: Event, session: Session | None = None) -> Select:
    """The registrations of ``event`` as plain rows: id, name, email, profession (Dutch name,
    as accreditation bodies expect it), organisation, identifiers, created_at, status.

    With ``session``: only those with a live place in it, plus ``enrolment_status`` and
    ``waitlist_position``. Every list of participants (exports, presence lists) reads this.
    """
    query = (
        select(
            Registration.id,
            Registration.name,
            Registration.email,
            Profession.name_nl.label("profession"),
            Registration.organisation,
            Registration.identifiers,
            Registration.created_at,
            Registration.status,
        )
        .join(Profession, Profession.id == Registration.profession_id)
        .where(Registration.event_id == event.id)
    )
    if session is not None:
        if session.event_id != event.id:
            raise ValueError("the session belongs to another event")
        query = (
            query.join(Enrolment, Enrolment.registration_id == Registration.id)
            .where(
                Enrolment.session_id == session.id,
                Enrolment.status.in_([EnrolmentStatus.CONFIRMED, EnrolmentStatus.WAITLISTED]),
            )
            .add_columns(Enrolment.status.label("enrolment_status"), Enrolment.waitlist_position)
        )
    return query


@dataclass
class Page:
    registrations: list[Registration]
    total: int
    page: int
    pages: int


def search(
    db: DbSession,
    event: Event,
    query: str = "",
    sort: str = "name",
    descending: bool = False,
    page: int = 1,
) -> Page:
    """Registrations whose name, e-mail or organisation contains ``query``."""
    base = (
        select(Registration).join(Registration.profession).where(Registration.event_id == event.id)
    )
    if query.strip():
        needle = query.strip().lower()
        base = base.where(
            or_(
                func.lower(Registration.name).contains(needle, autoescape=True),
                Registration.email.contains(needle, autoescape=True),
                func.lower(Registration.organisation).contains(needle, autoescape=True),
            )
        )
    total = db.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(page, 1), pages)
    order = SORTS.get(sort, SORTS["name"])
    rows = db.scalars(
        base.order_by(order.desc() if descending else order, Registration.id)
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
        .options(
            selectinload(Registration.profession),
            selectinload(Registration.enrolments).selectinload(Enrolment.session),
        )
    ).all()
    return Page(list(rows), total, page, pages)
