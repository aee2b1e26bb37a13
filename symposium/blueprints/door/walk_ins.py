"""Adding someone at the door, through the same enrolment rules as the back-office."""

from __future__ import annotations

from flask import abort

from symposium.blueprints.admin import requires
from symposium.blueprints.door import bp
from symposium.models import Event
from symposium.services.accounts import access


@bp.route("/<slug>/sessions/<int:session_id>/walk-in", methods=["GET", "POST"])
@requires(access.MANAGE)
def walk_in(event: Event, session_id: int) -> str:
    """A stub until the walk-in form lands."""
    abort(404)
