"""The flash-crowd workload, shared by flash_crowd.py and raw_limit.py.

An event with ``rounds`` rounds of ``workshops`` parallel workshops of ``places`` places each
(some with a per-profession quota), open for registration now; a fixed-seed list of people
who each pick one workshop per round, about a third of all picks landing on the three most
popular workshops, in a mix of professions that makes the quotas bite; and the checks that
no session or quota was overbooked and every waiting list is numbered 1..n.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from symposium.services.programme.catalogue import PROFESSIONS
from symposium.services.programme.catalogue import REGISTERS as CATALOGUE

SLUG = "bench-flash-crowd"
POPULAR = 3
POPULAR_SHARE = 1 / 3
# Quotas: the popular workshops admit few GPs and nurses, the fourth of each round few
# GZ-psychologists; the mix below sends more of them than that.
POPULAR_QUOTAS = {"huisarts": 3, "verpleegkundige": 3}
OTHER_QUOTAS = {3: {"gz-psycholoog": 5}}
PROFESSION_MIX = {
    "gz-psycholoog": 18,
    "huisarts": 15,
    "verpleegkundige": 15,
    "psychiater": 10,
    "maatschappelijk-werker": 10,
    "basispsycholoog": 8,
    "spv": 6,
    "psychotherapeut": 5,
    "klinisch-psycholoog": 4,
    "fysiotherapeut": 3,
    "ergotherapeut": 3,
    "overig": 3,
}
# The numbers each profession's accrediting registers take (asked where they accredited).
REGISTERS = {
    code: [n for r in registers for n in CATALOGUE[r].number_registers]
    for code, _nl, _en, registers in PROFESSIONS
}


@dataclass(frozen=True)
class Shape:
    rounds: int = 2
    workshops: int = 10
    places: int = 25

    def key(self, round_no: int, workshop_no: int) -> str:
        return f"r{round_no + 1}-w{workshop_no + 1:02d}"

    def popular(self) -> list[tuple[int, int]]:
        """The most popular workshops: the first of each round, then the second, ..."""
        order = [(r, w) for w in range(self.workshops) for r in range(self.rounds)]
        return order[:POPULAR]


@dataclass
class Person:
    n: int
    profession: str
    identifiers: dict[str, str]
    language: str
    picks: list[str] = field(default_factory=list)  # session keys, one per round

    @property
    def email(self) -> str:
        return f"bench.deelnemer{self.n}@example.org"

    @property
    def name(self) -> str:
        return f"Deelnemer {self.n} Benchmark"

    def body(self, session_ids: dict[str, int]) -> dict[str, Any]:
        """The JSON API request body."""
        return {
            "name": self.name,
            "email": self.email,
            "profession": self.profession,
            "identifiers": self.identifiers,
            "language": self.language,
            "consent": True,
            "sessions": [session_ids[k] for k in self.picks],
        }


def event_toml(shape: Shape, now: datetime | None = None, slug: str = SLUG) -> str:
    """An event file (docs/event-file.md) whose registration is open at ``now``."""
    now = now or datetime.now(UTC)
    day = (now + timedelta(days=60)).date()

    def at(hour: int, minute: int = 0) -> str:
        return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00Z"

    opens = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    closes = (now + timedelta(days=50)).strftime("%Y-%m-%dT%H:%M:%SZ")
    popular = shape.popular()
    lines = [
        f'slug = "{slug}"',
        'title = "Benchmark: flash crowd"',
        'status = "published"',
        'languages = ["nl", "en"]',
        f"starts_at = {at(8)}",
        f"ends_at = {at(8 + 2 * shape.rounds + 3)}",
        f"registration_opens_at = {opens}",
        f"registration_closes_at = {closes}",
        'venue = "Benchmarkzaal"',
        "",
        "[organiser]",
        'name = "Benchmark"',
        'email = "bench@example.org"',
    ]
    for r in range(shape.rounds):
        start = 10 + 2 * r
        lines += [
            "",
            "[[rounds]]",
            f'key = "r{r + 1}"',
            f'title = "Workshopronde {r + 1}"',
            f"starts_at = {at(start)}",
            f"ends_at = {at(start + 1, 30)}",
        ]
    lines += [
        "",
        "[[sessions]]",
        'key = "opening"',
        'kind = "plenary"',
        'title = "Opening"',
        f"starts_at = {at(8)}",
        f"ends_at = {at(9)}",
    ]
    for r in range(shape.rounds):
        for w in range(shape.workshops):
            quotas = POPULAR_QUOTAS if (r, w) in popular else OTHER_QUOTAS.get(w, {})
            lines += [
                "",
                "[[sessions]]",
                f'key = "{shape.key(r, w)}"',
                f'title = "Workshop {w + 1} van ronde {r + 1}"',
                f'description = "Een workshop in ronde {r + 1}, met oefeningen en casuïstiek."',
                f'speakers = ["Spreker {r + 1}.{w + 1}"]',
                f'room = "Zaal {w + 1}"',
                f'round = "r{r + 1}"',
                f"capacity = {shape.places}",
                "hours = 1.5",
            ]
            if quotas:
                inline = ", ".join(f'"{code}" = {n}' for code, n in quotas.items())
                lines.append(f"quotas = {{ {inline} }}")
    return "\n".join(lines) + "\n"


def people(count: int, seed: int, shape: Shape) -> list[Person]:
    """``count`` registrants, the same for the same seed."""
    rng = random.Random(seed)
    codes = list(PROFESSION_MIX)
    weights = list(PROFESSION_MIX.values())
    popular = shape.popular()
    # Each popular workshop gets probability p within its round, so that over all rounds
    # the popular ones receive POPULAR_SHARE of the picks.
    p = POPULAR_SHARE * shape.rounds / len(popular)
    result = []
    for n in range(1, count + 1):
        profession = rng.choices(codes, weights)[0]
        registers = REGISTERS[profession]
        identifiers = {}
        if "BIG" in registers:
            identifiers["BIG"] = "".join(rng.choice("0123456789") for _ in range(11))
        elif "NIP" in registers:
            identifiers["NIP"] = f"NIP-{rng.randrange(10**8):08d}"
        elif registers:
            identifiers[registers[0]] = f"4610{rng.randrange(100000, 999999)}"
        person = Person(n, profession, identifiers, "en" if rng.random() < 0.2 else "nl")
        for r in range(shape.rounds):
            hot = [w for rr, w in popular if rr == r]
            cold = [w for w in range(shape.workshops) if w not in hot]
            roll = rng.random()
            w = hot[int(roll / p)] if roll < p * len(hot) else rng.choice(cold)
            person.picks.append(shape.key(r, w))
        result.append(person)
    return result


def popular_share(persons: list[Person], shape: Shape) -> float:
    keys = {shape.key(r, w) for r, w in shape.popular()}
    picks = [k for p in persons for k in p.picks]
    return sum(k in keys for k in picks) / len(picks) if picks else 0.0


# --------------------------------------------------------------------------- invariants


def check(dsn: str, slug: str = SLUG) -> tuple[dict[str, int], list[str]]:
    """Counts, and every violation of capacity, quota or waiting-list order found."""
    import psycopg

    violations: list[str] = []
    with psycopg.connect(dsn) as conn:
        event_id, event_capacity = conn.execute(
            "SELECT id, capacity FROM events WHERE slug = %s", (slug,)
        ).fetchone()
        for key, capacity, confirmed in conn.execute(
            """
            SELECT s.key, s.capacity, count(e.id)
            FROM sessions s
            LEFT JOIN enrolments e ON e.session_id = s.id AND e.status = 'confirmed'
            WHERE s.event_id = %s AND s.capacity IS NOT NULL
            GROUP BY s.id HAVING count(e.id) > s.capacity
            """,
            (event_id,),
        ):
            violations.append(f"session {key}: {confirmed} confirmed, capacity {capacity}")
        for key, profession, places, confirmed in conn.execute(
            """
            SELECT s.key, p.code, q.places, count(e.id)
            FROM session_quotas q
            JOIN sessions s ON s.id = q.session_id
            JOIN professions p ON p.id = q.profession_id
            LEFT JOIN enrolments e ON e.session_id = q.session_id
                AND e.profession_id = q.profession_id AND e.status = 'confirmed'
            WHERE s.event_id = %s
            GROUP BY s.key, p.code, q.places HAVING count(e.id) > q.places
            """,
            (event_id,),
        ):
            violations.append(f"session {key}: {confirmed} {profession} confirmed, quota {places}")
        for key, positions in conn.execute(
            """
            SELECT s.key, array_agg(e.waitlist_position ORDER BY e.waitlist_position)
            FROM enrolments e JOIN sessions s ON s.id = e.session_id
            WHERE s.event_id = %s AND e.status = 'waitlisted'
            GROUP BY s.key
            """,
            (event_id,),
        ):
            if positions != list(range(1, len(positions) + 1)):
                shown = positions[:10] + (["..."] if len(positions) > 10 else [])
                violations.append(f"session {key}: waiting list positions {shown}, not 1..n")
        (misplaced,) = conn.execute(
            """
            SELECT count(*) FROM enrolments e JOIN sessions s ON s.id = e.session_id
            WHERE s.event_id = %s AND e.status = 'confirmed' AND e.waitlist_position IS NOT NULL
            """,
            (event_id,),
        ).fetchone()
        if misplaced:
            violations.append(f"{misplaced} confirmed enrolments carry a waiting-list position")
        # Nobody may wait while a place that fits them is free (no cancellations here).
        for key, profession in conn.execute(
            """
            SELECT DISTINCT s.key, p.code
            FROM enrolments w
            JOIN sessions s ON s.id = w.session_id
            JOIN professions p ON p.id = w.profession_id
            LEFT JOIN session_quotas q
                ON q.session_id = w.session_id AND q.profession_id = w.profession_id
            WHERE s.event_id = %s AND w.status = 'waitlisted'
              AND (s.capacity IS NULL OR s.capacity > (
                    SELECT count(*) FROM enrolments c
                    WHERE c.session_id = s.id AND c.status = 'confirmed'))
              AND (q.places IS NULL OR q.places > (
                    SELECT count(*) FROM enrolments c
                    WHERE c.session_id = s.id AND c.profession_id = w.profession_id
                      AND c.status = 'confirmed'))
            """,
            (event_id,),
        ):
            violations.append(f"session {key}: a {profession} waits while a place is free")
        registrations, confirmed, waitlisted, outbox = conn.execute(
            """
            SELECT
              (SELECT count(*) FROM registrations WHERE event_id = %(e)s),
              (SELECT count(*) FROM enrolments e JOIN sessions s ON s.id = e.session_id
                 WHERE s.event_id = %(e)s AND e.status = 'confirmed'),
              (SELECT count(*) FROM enrolments e JOIN sessions s ON s.id = e.session_id
                 WHERE s.event_id = %(e)s AND e.status = 'waitlisted'),
              (SELECT count(*) FROM outbox o JOIN registrations r ON r.id = o.registration_id
                 WHERE r.event_id = %(e)s)
            """,
            {"e": event_id},
        ).fetchone()
        if event_capacity is not None and registrations > event_capacity:
            violations.append(f"{registrations} registrations, event capacity {event_capacity}")
        (full_quota_sessions,) = conn.execute(
            """
            SELECT count(*) FROM (
              SELECT q.session_id FROM session_quotas q
              JOIN sessions s ON s.id = q.session_id
              LEFT JOIN enrolments e ON e.session_id = q.session_id
                AND e.profession_id = q.profession_id AND e.status = 'confirmed'
              WHERE s.event_id = %s
              GROUP BY q.session_id, q.profession_id, q.places HAVING count(e.id) = q.places
            ) AS reached
            """,
            (event_id,),
        ).fetchone()
    counts = {
        "registrations": registrations,
        "confirmed": confirmed,
        "waitlisted": waitlisted,
        "outbox": outbox,
        "quotas_reached": full_quota_sessions,
    }
    return counts, violations
