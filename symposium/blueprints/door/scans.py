"""The JSON the door page's scanner sends: a batch of scans, made just now or while offline.

``POST /door/<slug>/sessions/<id>/scans`` with ``{"scans": [{"client_id", "code" or
"registration_id", "direction", "via", "scanned_at", "admit_anyway"}, …]}`` (at most
:data:`MAX_SCANS`) answers ``{"results": [...], "server_time"}``, one result per scan in the
same order: what ``describe`` says of its answer, or ``{"error": {"code", "message"}}`` for
a scan that can never be recorded (the browser drops it and shows why), and the session's
door figures after them (``counts``). Each scan is
committed on its own, so one refusal or a lock timeout halfway loses none of those before
it, and the browser, which keeps every scan until its result arrives, simply sends the rest
again: a client id is accepted once, so a replay gets the first answer, marked ``replayed``.

``GET`` on the same address gives a fresh CSRF token and the server's clock: the page
corrects the phone's clock by it, and renews its token after an hour offline.

Errors of the whole request are JSON with a stable code (``invalid_json``, ``invalid_body``,
``too_many_scans``; ``csrf_failed``, ``busy`` and the like from the app's error handlers).
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Annotated, Any, Literal

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from werkzeug.wrappers import Response

from symposium import clock
from symposium.blueprints.admin import requires, session_or_404
from symposium.blueprints.door import bp
from symposium.blueprints.door.pages import shown_answer
from symposium.extensions import db
from symposium.models import Event, Via
from symposium.services.accounts import access
from symposium.services.checkin import presence
from symposium.services.checkin.presence import Direction
from symposium.services.core.errors import RuleError

# A phone that was offline for a whole morning at a busy door; more is not a door's queue.
MAX_SCANS = 500
VIAS = {"scan": Via.SCAN, "typed": Via.TYPED, "search": Via.SEARCH}


class ScanItem(BaseModel):
    """One scan as the page keeps it; the rules (a known code, the time) are presence's."""

    model_config = ConfigDict(strict=True, extra="ignore")

    client_id: str
    code: str | None = Field(default=None, max_length=200)
    registration_id: int | None = None
    direction: Literal["in", "out"] = "in"
    via: Literal["scan", "typed", "search"] = "scan"
    # An ISO 8601 time with its offset, as JSON carries it (hence not strict).
    scanned_at: Annotated[AwareDatetime, Field(strict=False)] | None = None
    admit_anyway: bool = False


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify(error={"code": code, "message": message}), status


@bp.get("/<slug>/sessions/<int:session_id>/scans")
@requires(access.CHECKIN)
def scan_status(event: Event, session_id: int) -> Response:
    """A fresh CSRF token and the server's time, for the scanner page."""
    session_or_404(event, session_id)
    return jsonify(csrf_token=generate_csrf(), server_time=clock.now().isoformat())


@bp.post("/<slug>/sessions/<int:session_id>/scans")
@requires(access.CHECKIN)
def scans(event: Event, session_id: int) -> Response | tuple[Response, int]:
    """Record a batch of scans (see the module), each committed on its own."""
    chosen = session_or_404(event, session_id)
    try:
        payload = json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, RecursionError):
        return _error(400, "invalid_json", _("The body is not valid JSON."))
    items = payload.get("scans") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        return _error(400, "invalid_body", _("The body must be an object with a list of scans."))
    if len(items) > MAX_SCANS:
        return _error(
            413, "too_many_scans",
            _("At most %(num)d scans at a time; send the rest after these.", num=MAX_SCANS),
        )  # fmt: skip
    results = [_record(chosen, item) for item in items]
    counts = presence.door_counts(db.session, chosen, clock.now())
    return jsonify(
        results=results,
        counts={"checked_in": counts.checked_in, "checked_out": counts.checked_out,
                "still_in": counts.still_in},
        server_time=clock.now().isoformat(),
    )  # fmt: skip


def _record(session: Any, raw: Any) -> dict[str, Any]:
    """One scan: its answer (committed), or why it can never be recorded (rolled back)."""
    client_id = raw.get("client_id") if isinstance(raw, dict) else None
    client_id = client_id if isinstance(client_id, str) else None
    try:
        item = ScanItem.model_validate(raw)
    except ValidationError as exc:
        field = ".".join(str(part) for part in exc.errors()[0]["loc"]) or "scan"
        return {
            "client_id": client_id,
            "error": {"code": "invalid_scan", "field": field,
                      "message": _("This scan could not be read (%(field)s).", field=field)},
        }  # fmt: skip
    by_code = bool((item.code or "").strip())
    at = item.scanned_at.astimezone(UTC) if item.scanned_at is not None else None
    try:
        answer = presence.scan(
            db.session, current_user, session,
            client_id=item.client_id, now=clock.now(), at=at,
            code=item.code if by_code else None,
            registration_id=None if by_code else item.registration_id,
            direction=Direction(item.direction), via=VIAS[item.via],
            admit_anyway=item.admit_anyway,
        )  # fmt: skip
    except RuleError as exc:
        db.session.rollback()
        return {"client_id": client_id, "error": {"code": exc.code, "message": str(exc.message)}}
    result = {"client_id": item.client_id, **shown_answer(answer, clock.now())}
    db.session.commit()  # after the answer: a commit expires every row it names
    return result
