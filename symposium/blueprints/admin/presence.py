"""A session's presence list for the organiser: who came, when, how, who is missing."""

from __future__ import annotations

from flask import render_template
from werkzeug.wrappers import Response

from symposium import clock
from symposium.blueprints.admin import bp, requires, session_or_404
from symposium.extensions import db
from symposium.models import Event
from symposium.services.accounts import access
from symposium.services.checkin import attendance, sheets
from symposium.services.core import names


@bp.get("/events/<slug>/sessions/<int:session_id>/presence")
@requires(access.MANAGE)
def session_presence(event: Event, session_id: int) -> Response | str:
    """Everyone checked in, by surname, with in/out times; then the expected who are not."""
    session = session_or_404(event, session_id)
    rows = attendance.session_presences(db.session, session)
    rows.sort(key=lambda p: names.sort_key(p.registration.name))
    here = {p.registration_id for p in rows}
    start = session.effective_starts_at
    started = start is not None and clock.now() >= start
    missing = [r for r in sheets.expected_people(db.session, session) if r.id not in here]
    return render_template(
        "admin/session_presence.html", event=event, session=session, rows=rows,
        missing=missing, started=started, late_by=attendance.late_by,
        early_by=attendance.early_by, in_full=attendance.in_full,
    )  # fmt: skip
