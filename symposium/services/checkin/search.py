"""Finding someone at the door by name, when the ticket is at home or the camera fails.

A volunteer types what they hear: "jose" must find "José", "oconnor" and "o'connor" must find
"O'Connor", case never matters. Names are compared in a folded form (accents stripped, case
folded, only letters and digits kept), in Python, over the event's registrations read in one
light query (id and name): the same on SQLite and PostgreSQL, fast enough for thousands. Only
the hits are loaded in full, with their places and their presence in this session.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

from symposium.models import Enrolment, Meeting, Presence, Registration, Session
from symposium.services.checkin import presence
from symposium.services.checkin.presence import Answer
from symposium.services.core.names import sort_key

# Fewer letters than this find too many people to read on a phone.
MIN_LETTERS = 3
# At most this many hits are shown; more asks for more letters.
MAX_HITS = 20

# Letters that Unicode does not decompose into a base letter and an accent.
_FOLDED = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i"})


def fold(text: str) -> str:
    """``text`` as names are compared: no accents, no case, only letters and digits."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLDED))
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def words(query: str) -> list[str]:
    """The folded words of a query; each must occur in a name for it to match."""
    return [w for w in (fold(part) for part in query.split()) if w]


def long_enough(query: str) -> bool:
    """Whether a query has the letters a search needs (``MIN_LETTERS`` in all)."""
    return sum(len(w) for w in words(query)) >= MIN_LETTERS


@dataclass(frozen=True)
class Hit:
    """One person found: their admission to this session and their presence in it."""

    registration: Registration
    admission: Answer
    presence: Presence | None


@dataclass(frozen=True)
class Found:
    hits: list[Hit]
    # More people matched than are shown: type more of the name.
    more: bool


def members(
    session: Session, registrations: Iterable[Registration], presences: Iterable[Presence]
) -> list[Hit]:
    """Everyone with a place in ``session``, by surname, with their presence (of the
    meeting ``presences`` are of): the tick list at a group's door, where twelve people
    need no search and no QR code."""
    here = {p.registration_id: p for p in presences}
    people = sorted(presence.expected(session, registrations), key=lambda r: sort_key(r.name))
    return [Hit(r, presence.admission(session, r), here.get(r.id)) for r in people]


def search_people(
    db: DbSession, session: Session, query: str, meeting: Meeting | None = None
) -> Found:
    """The event's registrations whose name holds every word of ``query`` (see the module),
    by name, at most ``MAX_HITS``; nobody for a query shorter than ``MIN_LETTERS``. Their
    presence is that of ``meeting`` in a group that meets several times."""
    needles = words(query)
    if sum(len(w) for w in needles) < MIN_LETTERS:
        return Found([], False)
    names = db.execute(
        select(Registration.id, Registration.name).where(
            Registration.event_id == session.event_id, Registration.anonymised_at.is_(None)
        )
    ).all()
    matched = sorted(
        ((fold(name), name, id_) for id_, name in names if _matches(fold(name), needles)),
    )
    shown = [id_ for _, _, id_ in matched[:MAX_HITS]]
    if not shown:
        return Found([], False)
    loaded = {
        r.id: r
        for r in db.scalars(
            select(Registration)
            .where(Registration.id.in_(shown))
            .options(
                selectinload(Registration.profession),
                selectinload(Registration.enrolments).selectinload(Enrolment.session),
            )
        )
    }
    here = {
        p.registration_id: p
        for p in db.scalars(
            select(Presence)
            .where(
                Presence.session_id == session.id,
                Presence.registration_id.in_(shown),
                Presence.undone_at.is_(None),
                Presence.meeting_id == meeting.id if meeting else Presence.meeting_id.is_(None),
            )
            .options(selectinload(Presence.checked_in_by))
        )
    }
    hits = [
        Hit(loaded[i], presence.admission(session, loaded[i]), here.get(i))
        for i in shown
        if i in loaded
    ]
    return Found(hits, len(matched) > MAX_HITS)


def _matches(name: str, needles: list[str]) -> bool:
    return all(needle in name for needle in needles)
