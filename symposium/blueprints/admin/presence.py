"""A session's presence list for the organiser: who came, when, how, who is missing."""

from __future__ import annotations

from flask import render_template
from werkzeug.wrappers import Response

from symposium import clock
from symposium.blueprints.admin import asked_meeting, bp, requires, session_or_404
from symposium.extensions import db
from symposium.models import Event
from symposium.services.accounts import access
from symposium.services.checkin import attendance, sheets


@bp.get("/events/<slug>/sessions/<int:session_id>/presence")
@requires(access.MANAGE)
def session_presence(event: Event, session_id: int) -> Response | str:
    """Everyone checked in, by surname, with in/out times; then the expected who are not.
    A group that meets several times: of one meeting (``?meeting=``, else the current one)."""
    session = session_or_404(event, session_id)
    now = clock.now()
    meeting = asked_meeting(session, now)
    found = sheets.presence_list(db.session, session, now, meeting)
    return render_template(
        "admin/session_presence.html", event=event, session=session, meeting=meeting,
        rows=found.rows,
        missing=found.missing, started=found.started, late_by=attendance.late_by,
        early_by=attendance.early_by, in_full=attendance.in_full,
    )  # fmt: skip
