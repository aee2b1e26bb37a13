"""The door: check-in pages for door volunteers, organisers and admins, one event at a time.

One module per area: pages (the session picker and the door of one session, working without
JavaScript), scans (the JSON the door page's scanner and offline queue send), walk_ins (adding
someone at the door). Every view declares what it needs with ``admin.requires`` (the door role
of the event, an organiser of it, or an admin), and every change goes through
``services.checkin.presence``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_babel import gettext as _

from symposium.filters import local_time
from symposium.services.checkin.presence import Answer, Verdict

bp = Blueprint("door", __name__, url_prefix="/door")


def _place(session: Any) -> str:
    return f"{session.title}, {session.room}" if session.room else session.title


def describe(answer: Answer) -> dict[str, Any]:
    """What the door shows for an answer, at a glance: colour, headline, detail (HTML and JSON
    alike, so a scan looks the same with and without JavaScript)."""
    zone = answer.session.event.timezone
    registration, row = answer.registration, answer.presence
    name = registration.name if registration is not None else ""
    headline, detail = "", ""
    if answer.verdict is Verdict.WELCOME:
        headline = _("Welcome, %(name)s", name=name)
        detail = _place(answer.session)
        if row is not None and row.admitted_anyway and answer.other is not None:
            detail += " · " + _("admitted anyway (place in %(place)s)", place=_place(answer.other))
    elif answer.verdict is Verdict.GOODBYE:
        headline = _("Goodbye, %(name)s", name=name)
        detail = _("Checked out at %(time)s", time=local_time(row.checked_out_at, zone))  # type: ignore[union-attr]
    elif answer.verdict is Verdict.OTHER_SESSION:
        headline = _("%(name)s: registered for another workshop this round", name=name)
        detail = _place(answer.other)
    elif answer.verdict is Verdict.ALREADY:
        assert row is not None
        if row.checked_out_at is not None:
            headline = _("%(name)s checked out at %(time)s", name=name,
                         time=local_time(row.checked_out_at, zone))  # fmt: skip
        else:
            headline = _("%(name)s: already checked in at %(time)s", name=name,
                         time=local_time(row.checked_in_at, zone))  # fmt: skip
        by = row.checked_in_by
        detail = _("by %(account)s", account=by.name or by.email) if by is not None else ""
    else:
        headline = name or _("Not admitted")
        detail = answer.reason_text
    return {
        "verdict": answer.verdict.value,
        "colour": answer.colour,
        "headline": headline,
        "detail": detail,
        "reason": answer.reason.value if answer.reason else None,
        "replayed": answer.replayed,
        "registration_id": registration.id if registration is not None else None,
        "presence_id": row.id if row is not None else None,
        "other_session_id": answer.other.id if answer.other is not None else None,
    }


from symposium.blueprints.door import pages, scans, walk_ins  # noqa: E402  (routes register on bp)

__all__ = ["bp", "describe", "pages", "scans", "walk_ins"]
