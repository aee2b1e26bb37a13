"""What the caterer and the venue need to know: the needs of the active registrations, counted.

Registrants type their needs as free text, so "Vegetarisch", "vegetarisch " and
"VEGETARISCH." must count as one need, and "geen" or "n.v.t." as none at all. Nothing
cleverer than that: "vegetarisch, glutenvrij" stays one need of its own, because the
caterer has to make that one lunch, not one vegetarian and one gluten-free lunch. Counted
per event (one lunch per person, whatever sessions or meetings they chose).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from symposium.filters import local_date
from symposium.models import Event, Registration, RegistrationStatus
from symposium.services.backoffice.exports import Table, Value

# What people type in the needs field when they have none (compared after normalising).
# Whole phrases only: "geen gluten" is a need.
NO_NEEDS = frozenset(
    {
        "-", "--", "geen", "nee", "nvt", "n.v.t", "none", "no", "n/a", "geen bijzonderheden",
        "niet van toepassing", "geen dieetwensen", "geen wensen", "geen allergieën",
        "nothing", "not applicable", "no special needs",
    }
)  # fmt: skip
_SPACE = re.compile(r"\s+")
_TRAILING = ".,;:!"


@dataclass(frozen=True)
class Need:
    """One need as most of its registrants wrote it, and how many active registrations have it."""

    text: str
    count: int


@dataclass(frozen=True)
class Catering:
    """The needs, most frequent first, and the active registrations without any."""

    needs: list[Need] = field(default_factory=list)
    without: int = 0

    @property
    def total(self) -> int:
        """Every active registration: the lunches to order."""
        return self.without + sum(n.count for n in self.needs)


def tidy(text: str) -> str:
    """The need as shown: line breaks and runs of spaces become one space, ends trimmed."""
    return _SPACE.sub(" ", text).strip()


def normalise(text: str) -> str:
    """The key needs are counted by: tidied, case-folded, without a final full stop or comma."""
    return tidy(text).casefold().rstrip(_TRAILING).rstrip()


def catering_summary(db: DbSession, event: Event) -> Catering:
    """The needs of ``event``'s active registrations (cancelled ones eat nothing), counted.

    One grouped query (identical texts arrive counted); the texts that differ only in case,
    spacing or a final full stop are merged here, and shown as most of them wrote it.
    """
    rows = db.execute(
        select(Registration.needs, func.count(), func.min(Registration.id))
        .where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.ACTIVE,
        )
        .group_by(Registration.needs)
    ).all()
    counts: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    without = 0
    for text, n, _first_id in sorted(rows, key=lambda row: row[2]):  # first registered first
        key = normalise(text or "")
        if not key or key in NO_NEEDS:
            without += n
            continue
        counts[key] += n
        spellings.setdefault(key, Counter())[tidy(text)] += n
    needs = [
        # most_common keeps first-seen order among equals: the earliest registrant's spelling
        Need(spellings[key].most_common(1)[0][0], n)
        for key, n in counts.items()
    ]
    needs.sort(key=lambda need: (-need.count, normalise(need.text)))
    return Catering(needs, without)


def catering_table(catering: Catering) -> Table:
    """The summary as an export: one row per need, then those without and the total."""
    rows: list[list[Value]] = [[need.text, need.count] for need in catering.needs]
    rows.append([_("No needs given"), catering.without])
    rows.append([_("Total active registrations"), catering.total])
    return Table(_("Catering"), [_("Need"), _("Registrations")], rows)


def catering_preamble(event: Event) -> list[tuple[str, Value]]:
    """Above the XLSX table: which event, and on which day, the counts are for."""
    return [(_("Event"), event.title), (_("Date"), local_date(event.starts_at, event.timezone))]
