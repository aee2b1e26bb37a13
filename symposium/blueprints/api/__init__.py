"""JSON API v1: the programme with places left, and registration (same rules as the form).

Request and response bodies are the pydantic models of ``schemas``; ``openapi`` generates the
document from them. The views live in one module per resource (events, registrations).
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel

from symposium.blueprints.api.openapi import OPENAPI
from symposium.blueprints.api.schemas import error_body
from symposium.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # token-less JSON clients; nothing here relies on a browser session


def error(status: int, code: str, message: object, field: str | None = None) -> ResponseReturnValue:
    """An Error body (schemas.Error): ``{"error": {"code", "message", "field"}}``."""
    return jsonify(error_body(code, str(message), field or None)), status


def answer(body: BaseModel, status: int = 200) -> ResponseReturnValue:
    """A response model as JSON, the way jsonify always wrote it (sorted keys)."""
    return jsonify(body.model_dump(mode="json")), status


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(OPENAPI)


# The views register their routes on ``bp``.
from symposium.blueprints.api import (  # noqa: E402, F401
    certificates,
    checkins,
    events,
    registrations,
)
