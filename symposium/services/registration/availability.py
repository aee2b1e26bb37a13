"""What someone is told about places: how many are left *for them*, and why they would wait.

A workshop can have free places overall while the quota of one profession is taken; a GP who
saw "47 places left" and then landed on the waiting list was told the wrong thing. The numbers
come from ``places.count_places`` and ``Counts.left_for``, the one home of capacity and quotas.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session as DbSession

from symposium.models import Enrolment, EnrolmentStatus, Session
from symposium.services.registration import places


class Full(StrEnum):
    """Why no place is left: the session is full, or its quota for the profession is."""

    SESSION = "session"
    PROFESSION = "profession"


@dataclass(frozen=True, slots=True)
class Places:
    """Places someone of one profession could take now (None: no limit), and when none are
    left, why (``full``)."""

    left: int | None
    full: Full | None = None
    # The profession's own quota is what limits them (fewer left for them than overall).
    by_quota: bool = False


def places_for(
    db: DbSession, sessions: Iterable[Session], profession_id: int | None
) -> dict[int, Places]:
    """Per session id: the places left for ``profession_id`` (for anyone when None)."""
    sessions = list(sessions)
    quotas = {(q.session_id, q.profession_id): q.places for s in sessions for q in s.quotas}
    counts = places.count_places(db, [s.id for s in sessions], quotas)
    found = {}
    for s in sessions:
        overall, own = counts.left_for(s.id, s.capacity, profession_id)
        if own is not None and (overall is None or own < overall):
            found[s.id] = Places(own, Full.PROFESSION if own == 0 else None, by_quota=True)
        else:
            found[s.id] = Places(overall, Full.SESSION if overall == 0 else None)
    return found


def waiting_reasons(db: DbSession, enrolments: Iterable[Enrolment]) -> dict[int, Full | None]:
    """Per waitlisted enrolment id, why it waits; None when a place is free (it is being
    offered to those ahead in line, or moves up with the next change)."""
    waiting = [e for e in enrolments if e.status == EnrolmentStatus.WAITLISTED]
    reasons: dict[int, Full | None] = {}
    by_profession: dict[int, list[Enrolment]] = {}
    for e in waiting:
        by_profession.setdefault(e.profession_id, []).append(e)
    for profession_id, mine in by_profession.items():
        found = places_for(db, {e.session_id: e.session for e in mine}.values(), profession_id)
        reasons.update({e.id: found[e.session_id].full for e in mine})
    return reasons
