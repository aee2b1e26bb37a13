"""The public check of a certificate by its code: valid, revoked (and by what), or unknown.

It shows what anyone holding the paper already reads, and nothing more: the name, the
event and its dates, and the points per register. No address, phone, organisation or
register number leaves through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import Certificate
from symposium.services.certificates import codes


@dataclass(frozen=True)
class Verdict:
    """What the page and the API say about one code."""

    certificate: Certificate
    replacement: Certificate | None  # the valid certificate that replaced a revoked one

    @property
    def valid(self) -> bool:
        return self.certificate.revoked_at is None

    @property
    def code(self) -> str:
        return codes.format_code(self.certificate.code)

    @property
    def registers(self) -> list[dict[str, Any]]:
        """Register, body, activity ID and points: never the person's number."""
        return [
            {k: row[k] for k in ("register", "name", "body", "activity_id", "points")}
            for row in self.certificate.content.get("registers", [])
        ]

    @property
    def event(self) -> dict[str, Any]:
        event = self.certificate.content["event"]
        return {k: event[k] for k in ("title", "starts_at", "ends_at", "timezone")}

    @property
    def days(self) -> list[date]:
        """The days the person was checked in (see :func:`days_attended`)."""
        return days_attended(self.certificate.content)


def days_attended(content: dict[str, Any]) -> list[date]:
    """The days a certificate's holder was there, in the event's time zone: the meetings
    attended of a group, else the day of each session's check-in; the event's first day
    when the certificate names no session."""
    event = content["event"]
    zone = ZoneInfo(event["timezone"])
    starts = [
        start
        for s in content.get("sessions", [])
        for start in (_meetings_attended(s) or [s.get("checked_in_at") or s["starts_at"]])
        if start
    ] or [event["starts_at"]]
    return sorted({datetime.fromisoformat(s).astimezone(zone).date() for s in starts})


def _meetings_attended(row: dict[str, Any]) -> list[str]:
    """The starts of the meetings attended; none from a certificate issued before presence
    per meeting, whose list is the group's meetings (its day is the check-in's)."""
    return [m[0] for m in row.get("meetings") or []] if "meetings_held" in row else []


def verify(db: DbSession, text: str) -> Verdict | None:
    """The verdict on a typed or scanned code; None for a code that was never issued."""
    code = codes.parse_code(text)
    if code is None:
        return None
    found = db.scalars(select(Certificate).where(Certificate.code == code)).one_or_none()
    if found is None:
        return None
    # The valid end of the chain of replacements (a replacement may have been replaced too);
    # none when the last one was revoked without a successor.
    replacement, seen = found.replaced_by, {found.id}
    while replacement is not None and replacement.revoked_at is not None:
        seen.add(replacement.id)
        nxt = replacement.replaced_by
        replacement = nxt if nxt is not None and nxt.id not in seen else None
    return Verdict(found, replacement)
