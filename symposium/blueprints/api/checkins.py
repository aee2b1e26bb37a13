"""The check-in API, for a scanner app at the door (issue 13): record a scan, list presences.

``POST /api/v1/events/<slug>/sessions/<id>/checkins`` records one scan through
``services.checkin.presence`` (the door page's rules and answers), and ``GET`` lists the
session's presences. Signed with ``Authorization: Bearer <door token>`` (``flask
door-token``), or by a signed-in back-office session with its CSRF token in
``X-CSRFToken`` (this blueprint is CSRF-exempt for token clients, so the check is here).
"""

from __future__ import annotations

from datetime import UTC

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy import select
from wtforms import ValidationError

from symposium import clock
from symposium.blueprints.api import answer, bp, error
from symposium.blueprints.api import checkin_schemas as schemas
from symposium.blueprints.api.schemas import InvalidBody, parse_body
from symposium.blueprints.door import describe
from symposium.extensions import db
from symposium.models import Event, Presence, Session, User, Via
from symposium.services.accounts import access, door_tokens
from symposium.services.checkin import presence
from symposium.services.checkin.presence import Direction
from symposium.services.core.errors import RuleError


class Refused(Exception):
    """The request may not check in here: answered as an Error body."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _door(slug: str, session_id: int) -> tuple[Event, Session, User]:
    """The event, the session and the account a request checks in as (else Refused)."""
    event = db.session.scalars(select(Event).where(Event.slug == slug)).one_or_none()
    session = db.session.get(Session, session_id) if event is not None else None
    if event is None or session is None or session.event_id != event.id:
        raise Refused(404, "not_found", "No such session at this event.")
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        user = door_tokens.authenticate(db.session, event, header[7:].strip(), clock.now())
        if user is None:
            raise Refused(
                401, "invalid_token", "The door token is unknown, revoked or not for this event."
            )
    elif current_user.is_authenticated:
        if request.method == "POST":
            try:
                validate_csrf(request.headers.get("X-CSRFToken"))
            except (ValidationError, CSRFError):
                raise Refused(
                    400, "csrf_failed", "A signed-in session needs its CSRF token in X-CSRFToken."
                ) from None
        user = current_user._get_current_object()  # type: ignore[attr-defined]
    else:
        raise Refused(401, "unauthorized", "Send a door token: Authorization: Bearer <token>.")
    if not access.can(user, access.CHECKIN, event):
        raise Refused(403, "forbidden", "This account may not check people in at this event.")
    return event, session, user


def _presence(row: Presence) -> schemas.Presence:
    return schemas.Presence(
        id=row.id, session_id=row.session_id, meeting_id=row.meeting_id,
        registration_id=row.registration_id,
        name=row.registration.name, checked_in_at=row.checked_in_at,
        checked_in_via=row.checked_in_via.value, checked_out_at=row.checked_out_at,
        checked_out_via=row.checked_out_via.value if row.checked_out_via else None,
        admitted_anyway=row.admitted_anyway,
    )  # fmt: skip


@bp.post("/events/<slug>/sessions/<int:session_id>/checkins")
def record_checkin(slug: str, session_id: int) -> ResponseReturnValue:
    """Record one scan; 201 when it recorded a check-in or check-out, else 200."""
    try:
        _event, session, user = _door(slug, session_id)
    except Refused as exc:
        return error(exc.status, exc.code, exc.message)
    try:
        body = parse_body(schemas.CheckinRequest, request.get_data())
    except InvalidBody as exc:
        return error(400, exc.code, exc.message, exc.field)
    by_code = bool((body.code or "").strip())
    if not by_code and body.registration_id is None:
        return error(422, "code_required", "Send the ticket's code or a registration_id.", "code")
    now = clock.now()
    try:
        found = presence.scan(
            db.session, user, session, client_id=body.client_id, now=now,
            code=body.code if by_code else None,
            registration_id=None if by_code else body.registration_id,
            at=body.scanned_at.astimezone(UTC) if body.scanned_at else None,
            direction=Direction(body.direction),
            via=Via.SCAN if by_code else Via.API, admit_anyway=body.admit_anyway,
        )  # fmt: skip
    except RuleError as exc:
        db.session.rollback()
        return error(exc.status, exc.code, exc.message, exc.field)
    # The answer first: after the commit every row it names would be read again.
    shown = describe(found)
    reply = schemas.Checkin(
        checkin=schemas.CheckinAnswer(
            client_id=body.client_id.strip(), verdict=shown["verdict"], colour=shown["colour"],
            reason=shown["reason"], headline=shown["headline"], detail=shown["detail"],
            replayed=found.replayed, registration_id=shown["registration_id"],
            other_session_id=shown["other_session_id"],
            presence=_presence(found.presence) if found.presence is not None else None,
        )
    )  # fmt: skip
    db.session.commit()
    return answer(reply, 201 if found.recorded and not found.replayed else 200)


@bp.get("/events/<slug>/sessions/<int:session_id>/checkins")
def list_checkins(slug: str, session_id: int) -> ResponseReturnValue:
    """The session's live presences, in check-in order (a group's: of today's meeting)."""
    try:
        _event, session, _user = _door(slug, session_id)
    except Refused as exc:
        return error(exc.status, exc.code, exc.message)
    rows = presence.door_presences(db.session, session, clock.now())
    db.session.commit()  # a token's last use
    return answer(schemas.Checkins(checkins=[_presence(r) for r in rows]))
