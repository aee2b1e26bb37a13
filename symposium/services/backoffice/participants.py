"""Finding registrations in the back-office: search, sort, page, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

from symposium.models import Enrolment, Event, Profession, Registration

SORTS = {
    "name": func.lower(Registration.name),
    "email": Registration.email,
    "profession": Profession.position,
    "organisation": func.lower(Registration.organisation),
    "registered": Registration.created_at,
}
PER_PAGE = 100


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
