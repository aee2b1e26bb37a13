"""The ``[[accreditations]]`` tables of an event file: read them, and write them to the event.

One table per register that accredited the event; points per session default to the
session's contact hours (``hours``), and ``points`` overrides them per session key. See
docs/event-file.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import Accreditation, Event, Register, Rounding, Scope
from symposium.services.accreditation import editing
from symposium.services.accreditation.points import accreditations
from symposium.services.programme.file_reader import Reader

KEYS = {
    "register", "body", "activity_id", "scope", "daily_cap", "rounding", "deadline",
    "sessions", "points",
}  # fmt: skip


@dataclass
class AccreditationSpec:
    register: str
    values: dict[str, Any]
    points: dict[str, Decimal]  # session key -> points


def parse(
    r: Reader, data: dict[str, Any], hours: Mapping[str, Decimal | None], registers: set[str]
) -> list[AccreditationSpec] | None:
    """Read ``accreditations``; ``hours`` maps every session key of the file to its hours,
    ``registers`` holds the codes of the registers that accredit. None when the file has no
    such key: then the event's accreditations (maybe recorded in the back-office) stay."""
    if "accreditations" not in data:
        return None
    raw_list = data["accreditations"]
    if not isinstance(raw_list, list):
        r.problem("accreditations", "must be an array of tables ([[accreditations]])")
        return []
    specs: list[AccreditationSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_list):
        code = raw.get("register") if isinstance(raw, dict) else None
        path = (
            f"accreditations.{code}"
            if isinstance(code, str) and code
            else f"accreditations[{i + 1}]"
        )
        item = r.table(raw, path, KEYS)
        code = r.text(item, "register", path, required=True)
        if code and code not in registers:
            r.problem(
                f"{path}.register",
                f"unknown register {code!r}; one of: {', '.join(sorted(registers))}",
            )
            continue
        if code in seen:
            r.problem(f"{path}.register", f"{code!r} is named twice")
            continue
        seen.add(code)
        values = {
            "body": r.text(item, "body", path, max_length=200),
            "activity_id": r.text(item, "activity_id", path, max_length=60),
            "scope": Scope(r.choice(item, "scope", path, tuple(s.value for s in Scope), "session")),
            "daily_cap": r.number(item, "daily_cap", path, what="points"),
            "rounding": Rounding(
                r.choice(item, "rounding", path, tuple(x.value for x in Rounding), "none")
            ),
            "deadline": r.day(item, "deadline", path),
            "position": i,
        }
        if values["daily_cap"] == 0:
            r.problem(f"{path}.daily_cap", "must be more than 0 (leave it out for no cap)")
        points = _points(r, item, path, hours)
        if code:
            specs.append(AccreditationSpec(code, values, points))
    return specs


def _points(
    r: Reader, item: dict[str, Any], path: str, hours: Mapping[str, Decimal | None]
) -> dict[str, Decimal]:
    """Points per accredited session: the named sessions (default: every session with
    contact hours), at their hours unless ``points`` says otherwise."""
    if "sessions" in item:
        keys = r.text_list(item, "sessions", path)
        for key in keys:
            if key not in hours:
                r.problem(f"{path}.sessions", f"no session with key {key!r}")
    else:
        keys = [k for k, h in hours.items() if h]
    given = item.get("points", {})
    if not isinstance(given, dict):
        r.problem(f"{path}.points", "must be a table of session key = points")
        given = {}
    points: dict[str, Decimal] = {}
    for key in given:
        if key not in hours:
            r.problem(f"{path}.points.{key}", f"no session with key {key!r}")
        elif "sessions" in item and key not in keys:
            r.problem(f"{path}.points.{key}", "is not among this register's sessions")
    for key in keys:
        if key not in hours:
            continue
        value = r.number(given, key, f"{path}.points", what="points")
        if value is None and key in given:
            continue
        if value is None:
            value = hours[key]
        if value is None:
            r.problem(f"{path}.sessions", f"{key!r} has no hours: give its points")
            continue
        points[key] = value
    return points


def apply(
    db: DbSession, event: Event, specs: list[AccreditationSpec] | None, changes: Counter[str]
) -> None:
    """Make the event's accreditations those of the file (matched by register), updating
    rows in place; ``changes`` counts what changed. The event's sessions must be flushed.
    A file without ``accreditations`` (``specs`` None) leaves them as they are."""
    if specs is None:
        return
    registers = {reg.code: reg for reg in db.scalars(select(Register))}
    current = {a.register.code: a for a in accreditations(db, event)}
    sessions = {s.key: s for s in event.sessions}
    for spec in specs:
        accreditation = current.pop(spec.register, None)
        if accreditation is None:
            accreditation = Accreditation(event=event, register=registers[spec.register])
            db.add(accreditation)
            changes["created accreditations"] += 1
        points = {row.session_id: None for row in accreditation.sessions}  # unless named
        points |= {sessions[k].id: p for k, p in spec.points.items() if k in sessions}
        if editing.assign(accreditation, spec.values, points) and accreditation.id is not None:
            changes["updated accreditations"] += 1
    for accreditation in current.values():
        db.delete(accreditation)
        changes["deleted accreditations"] += 1
