"""POST /api/v1/events/<slug>/registrations: register and enrol, safe to retry with a key."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import bindparam, select

from symposium import clock
from symposium.blueprints.api import bp, error, schemas
from symposium.blueprints.registration import registration_rate_limit
from symposium.extensions import db
from symposium.models import Event, Registration
from symposium.services.core import idempotency
from symposium.services.core.errors import RuleError
from symposium.services.core.urls import external_url
from symposium.services.registration import lifecycle, validation


def registration_body(registration: Registration, token: str) -> schemas.Registration:
    return schemas.Registration(
        registration=schemas.RegistrationSummary(
            id=registration.id,
            status=registration.status.value,
            manage_url=external_url("manage.show", token=token),
            enrolments=[
                schemas.Enrolment(
                    session_id=e.session_id,
                    status=e.status.value,
                    waitlist_position=e.waitlist_position,
                )
                for e in registration.enrolments
                if e.is_live
            ],
        )
    )


_EVENT_BY_SLUG = select(Event).where(Event.slug == bindparam("slug"))  # built once: hot path


@bp.post("/events/<slug>/registrations")
@registration_rate_limit
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
        data = schemas.parse_body(schemas.RegistrationRequest, raw)
    except schemas.InvalidBody as exc:
        return error(400, exc.code, exc.message, exc.field)
    try:
        outcome = lifecycle.register(
            db.session,
            found,
            validation.RegistrationInput(**data.model_dump()),
            clock.now(),
            current_app.config["SECRET_KEY"],
        )
    except RuleError as exc:
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
    body = registration_body(outcome.registration, outcome.token).model_dump(mode="json")
    replay = keyed.save(db.session, 201, body, clock.now())
    if replay is not None:  # a concurrent request with the same key won; ours is undone
        return jsonify(replay.body), replay.status_code
    db.session.commit()
    return jsonify(body), 201
