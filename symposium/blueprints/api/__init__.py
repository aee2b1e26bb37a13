"""JSON API v1: the programme with places left, and registration (same rules as the form)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import bindparam, select

from symposium import clock
from symposium.blueprints.api.openapi import OPENAPI
from symposium.blueprints.registration import registration_limit
from symposium.extensions import csrf, db, limiter
from symposium.models import Event, Registration, Session
from symposium.services.core import idempotency
from symposium.services.mail.outbox import external_url
from symposium.services.programme import public as programme
from symposium.services.registration import lifecycle as enrolment

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # token-less JSON clients; nothing here relies on a browser session

TEXT_FIELDS = ("name", "email", "profession", "organisation", "phone", "needs", "language")


def error(status: int, code: str, message: object, field: str | None = None):  # type: ignore[no-untyped-def]
    body: dict[str, Any] = {"code": code, "message": str(message)}
    if field:
        body["field"] = field
    return jsonify(error=body), status


def _iso(value):  # type: ignore[no-untyped-def]
    return value.isoformat().replace("+00:00", "Z") if value else None


def _session_json(s: Session, places: dict[int, int | None]) -> dict[str, Any]:
    return {
        "id": s.id,
        "key": s.key,
        "kind": s.kind.value,
        "title": s.title,
        "round_id": s.round_id,
        "starts_at": _iso(s.effective_starts_at),
        "ends_at": _iso(s.effective_ends_at),
        "room": s.room,
        "speakers": s.speakers,
        "themes": [t.code for t in s.themes],
        "professions": [p.code for p in s.professions],
        "quotas": {q.profession.code: q.places for q in s.quotas},
        "cancelled": s.is_cancelled,
        "capacity": s.capacity,
        "places_left": places.get(s.id),
        "hours": float(s.hours) if s.hours is not None else None,
        "meetings": [
            {"starts_at": _iso(m.starts_at), "ends_at": _iso(m.ends_at), "room": m.room or s.room}
            for m in s.meetings
        ],
    }


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(OPENAPI)


@bp.get("/events/<slug>")
def event(slug: str) -> ResponseReturnValue:
    found = programme.public_event(db.session, slug)
    if found is None:
        return error(404, "event_not_found", "No such event.")
    places = enrolment.places_left(db.session, found.sessions)
    try:
        enrolment.check_open(found, clock.now())
        is_open = True
    except enrolment.EnrolmentError:
        is_open = False
    return jsonify(
        slug=found.slug,
        title=found.title,
        subtitle=found.subtitle,
        status=found.status.value,
        timezone=found.timezone,
        starts_at=_iso(found.starts_at),
        ends_at=_iso(found.ends_at),
        venue=found.venue,
        address=found.address,
        registration={
            "open": is_open,
            "opens_at": _iso(found.registration_opens_at),
            "closes_at": _iso(found.registration_closes_at),
        },
        professions=[
            {
                "code": p.code,
                "name": {"nl": p.name_nl, "en": p.name_en},
                "registers": [
                    {
                        "code": r.code,
                        "identifier": r.identifier_name_en,
                        "pattern": r.identifier_pattern,
                    }
                    for r in p.registers
                ],
            }
            for p in programme.admitted_professions(db.session, found)
        ],
        rounds=[
            {
                "id": r.id,
                "key": r.key,
                "title": r.title,
                "starts_at": _iso(r.starts_at),
                "ends_at": _iso(r.ends_at),
                "sessions": [_session_json(s, places) for s in r.sessions],
            }
            for r in found.rounds
        ],
        sessions=[_session_json(s, places) for s in found.sessions],
    )


def _parse(payload: Any) -> enrolment.RegistrationInput:
    if not isinstance(payload, dict):
        raise enrolment.EnrolmentError("invalid_json", "The body must be a JSON object.", None, 400)
    for name in TEXT_FIELDS:
        if name in payload and not isinstance(payload[name], str):
            raise enrolment.EnrolmentError("invalid_type", f"{name} must be a string.", name, 400)
    sessions = payload.get("sessions", [])
    if not isinstance(sessions, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in sessions
    ):
        raise enrolment.EnrolmentError(
            "invalid_type", "sessions must be a list of session ids.", "sessions", 400
        )
    identifiers = payload.get("identifiers", {})
    if not isinstance(identifiers, dict) or not all(
        isinstance(v, str) for v in identifiers.values()
    ):
        raise enrolment.EnrolmentError(
            "invalid_type", "identifiers must map register codes to strings.", "identifiers", 400
        )
    if not isinstance(payload.get("consent", False), bool):
        raise enrolment.EnrolmentError("invalid_type", "consent must be a boolean.", "consent", 400)
    return enrolment.RegistrationInput(
        name=payload.get("name", ""),
        email=payload.get("email", ""),
        profession=payload.get("profession", ""),
        consent=payload.get("consent", False),
        organisation=payload.get("organisation", ""),
        phone=payload.get("phone", ""),
        needs=payload.get("needs", ""),
        language=payload.get("language", "nl"),
        identifiers=identifiers,
        sessions=sessions,
    )


def registration_json(registration: Registration, token: str) -> dict[str, Any]:
    return {
        "id": registration.id,
        "status": registration.status.value,
        "manage_url": external_url("manage.show", token=token),
        "enrolments": [
            {
                "session_id": e.session_id,
                "status": e.status.value,
                "waitlist_position": e.waitlist_position,
            }
            for e in registration.enrolments
            if e.is_live
        ],
    }


_EVENT_BY_SLUG = select(Event).where(Event.slug == bindparam("slug"))  # built once: hot path


@bp.post("/events/<slug>/registrations")
@limiter.limit(registration_limit)
def register(slug: str) -> ResponseReturnValue:
    found = db.session.scalars(_EVENT_BY_SLUG, {"slug": slug}).one_or_none()
    if found is None or found.status.value == "draft":
        return error(404, "event_not_found", "No such event.")
    raw = request.get_data()
    try:
        keyed = idempotency.begin(
            f"registrations:{found.id}", request.headers.get("Idempotency-Key"), raw
        )
        replay = keyed.replay(db.session)
        if replay is not None:
            return jsonify(replay.body), replay.status_code
        return _register(found, keyed, raw)
    except idempotency.IdempotencyError as exc:
        db.session.rollback()
        return error(exc.status, exc.code, exc.message)


def _register(
    found: Event, keyed: idempotency.IdempotentRequest, raw: bytes
) -> ResponseReturnValue:
    try:
        payload = json.loads(raw or b"null")
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        return error(400, "invalid_json", "The body is not valid JSON.")
    try:
        data = _parse(payload)
        outcome = enrolment.register(
            db.session, found, data, clock.now(), current_app.config["SECRET_KEY"]
        )
    except enrolment.EnrolmentError as exc:
        db.session.rollback()
        return error(exc.status, exc.code, exc.message, exc.field)
    if not outcome.created:
        # A retry of a request that succeeded meanwhile: answer as it did, and mail nothing.
        replay = keyed.replay(db.session)
        if replay is not None:
            db.session.rollback()
            return jsonify(replay.body), replay.status_code
        db.session.commit()  # the manage link is mailed to the address
        return error(
            409,
            "already_registered",
            "This e-mail address is already registered for this event; "
            "its link has been sent to it.",
            "email",
        )
    body = {"registration": registration_json(outcome.registration, outcome.token)}
    replay = keyed.save(db.session, 201, body, clock.now())
    if replay is not None:  # a concurrent request with the same key won; ours is undone
        return jsonify(replay.body), replay.status_code
    db.session.commit()
    return jsonify(body), 201
