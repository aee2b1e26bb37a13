"""OpenAPI 3.1 description of the JSON API (served at /api/v1/openapi.json).

Generated: the bodies' schemas come from the pydantic models in schemas.py; this module only
adds what a model cannot say, one ``Operation`` per route (its path, parameters, and which
model answers with which status). A new endpoint adds its models to schemas.py and its
operation to OPERATIONS; tests/api checks that every /api/ route has one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from symposium.blueprints.api import certificate_schemas, checkin_schemas, schemas
from symposium.blueprints.api.schemas import ERROR_CODES, SchemaGenerator
from symposium.services.core.idempotency import MAX_KEY_LENGTH

__all__ = ["ERROR_CODES", "OPENAPI", "OPERATIONS", "Operation", "build"]

REF_TEMPLATE = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Operation:
    method: str  # lower case, as OpenAPI has it
    path: str  # OpenAPI's form: /api/v1/events/{slug}
    operation_id: str
    summary: str
    # Status → (description, body model).
    responses: dict[int, tuple[str, type[BaseModel]]]
    request: type[BaseModel] | None = None
    parameters: tuple[dict[str, Any], ...] = field(default=())
    # Names of SECURITY_SCHEMES, any one of which signs the request; none: public.
    security: tuple[str, ...] = ()


# The input guard (symposium/input_guard.py) refuses control characters anywhere.
NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def path_parameter(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": NO_CONTROL},
    }


SLUG = path_parameter("slug")
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH, "pattern": NO_CONTROL},
    "description": "Repeat a request safely: the same key and body "
    "return the stored response and create nothing twice.",
}

SESSION_ID = {
    "name": "session_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer"},
}
SECURITY_SCHEMES = {
    "doorToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A door token for one event (made with `flask door-token`).",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "A signed-in back-office session; a POST also sends its CSRF token "
        "in the X-CSRFToken header.",
    },
}
DOOR = ("doorToken", "session")
DOOR_ERRORS = {
    401: ("No door token or sign-in, or an unknown or revoked token (unauthorized, "
          "invalid_token)", schemas.Error),
    403: ("The account may not check people in at this event (forbidden)", schemas.Error),
    404: ("No such session at this event (not_found)", schemas.Error),
}  # fmt: skip

OPERATIONS: list[Operation] = [
    Operation(
        "get",
        "/api/v1/events/{slug}",
        "getEvent",
        "The event's programme, with places left per session",
        parameters=(SLUG,),
        responses={
            200: ("The event", schemas.Event),
            400: ("A control character in the address (invalid_text)", schemas.Error),
            404: ("No such public event (event_not_found)", schemas.Error),
        },
    ),
    Operation(
        "post",
        "/api/v1/events/{slug}/registrations",
        "register",
        "Register and enrol in sessions (confirmed or waitlisted)",
        parameters=(SLUG, IDEMPOTENCY_KEY),
        request=schemas.RegistrationRequest,
        responses={
            201: ("Registered", schemas.Registration),
            400: (
                "Malformed request: no JSON object, a field of the wrong type, a bad "
                "Idempotency-Key, or a control character in the address or a header "
                "(invalid_text)",
                schemas.Error,
            ),
            404: ("No such event", schemas.Error),
            409: (
                "Closed, cancelled, full, already registered or idempotency conflict",
                schemas.Error,
            ),
            410: (
                "A replay (same Idempotency-Key) of a registration whose data has since been "
                "deleted at the registrant's request (registration_deleted); nothing is made",
                schemas.Error,
            ),
            413: (
                "The body is larger than the server accepts (body_too_large); nothing was saved",
                schemas.Error,
            ),
            422: (
                "A field or a choice breaks a rule; a control character in any string of "
                "the body is invalid_text, its field the string's JSON path",
                schemas.Error,
            ),
            429: ("Too many requests; see Retry-After", schemas.Error),
            503: (
                "The database is busy (a lock wait timed out, code busy); nothing was saved: "
                "retry after Retry-After seconds",
                schemas.Error,
            ),
        },
    ),
]


OPERATIONS += [
    Operation(
        "post",
        "/api/v1/events/{slug}/sessions/{session_id}/checkins",
        "recordCheckin",
        "Record one scan at a session's door: check in (or out) by code or registration id",
        parameters=(SLUG, SESSION_ID),
        request=checkin_schemas.CheckinRequest,
        security=DOOR,
        responses={
            200: (
                "Answered, nothing new recorded: refused, already in, or a replay of the "
                "same client_id (replayed)",
                checkin_schemas.Checkin,
            ),
            201: ("A check-in or check-out was recorded", checkin_schemas.Checkin),
            400: (
                "No JSON object, a field of the wrong type, a control character in the "
                "address, or a signed-in session without its CSRF token (csrf_failed)",
                schemas.Error,
            ),
            **DOOR_ERRORS,
            413: ("The body is larger than the server accepts (body_too_large)", schemas.Error),
            422: (
                "No code or registration_id (code_required), a bad client_id, or a "
                "control character in the body (invalid_text)",
                schemas.Error,
            ),
            503: ("The database is busy or unavailable; nothing was saved: retry", schemas.Error),
        },
    ),
    Operation(
        "get",
        "/api/v1/events/{slug}/sessions/{session_id}/checkins",
        "listCheckins",
        "The session's presences: who is checked in, since when, checked out when",
        parameters=(SLUG, SESSION_ID),
        security=DOOR,
        responses={
            200: ("The presences, in check-in order", checkin_schemas.Checkins),
            400: ("A control character in the address (invalid_text)", schemas.Error),
            **DOOR_ERRORS,
            503: ("The database is unavailable: retry", schemas.Error),
        },
    ),
]


OPERATIONS += [
    Operation(
        "get",
        "/api/v1/certificates/{code}",
        "verifyCertificate",
        "Check a certificate by its verification code: valid or revoked, and what it awards",
        parameters=(path_parameter("code"),),
        responses={
            200: ("The certificate: valid, or revoked (with its replacement, if any)",
                  certificate_schemas.Certificate),
            400: ("A control character in the address (invalid_text)", schemas.Error),
            404: ("No certificate with this code (not_found)", schemas.Error),
            429: ("Too many checks from this address; see Retry-After", schemas.Error),
            503: ("The database is unavailable: retry", schemas.Error),
        },
    ),
]  # fmt: skip


def build(operations: Iterable[Operation]) -> dict[str, Any]:
    """The document for ``operations``, with every model they name as a component."""
    operations = list(operations)
    # A request body is described as it is validated, a response as it is serialised.
    wanted = [(op.request, "validation") for op in operations if op.request is not None]
    wanted += [(model, "serialization") for op in operations for _, model in op.responses.values()]
    refs, definitions = models_json_schema(
        list(dict.fromkeys(wanted)), ref_template=REF_TEMPLATE, schema_generator=SchemaGenerator
    )

    def content(model: type[BaseModel], mode: str) -> dict[str, Any]:
        return {"application/json": {"schema": refs[(model, mode)]}}

    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        operation: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary}
        if op.parameters:
            operation["parameters"] = list(op.parameters)
        if op.security:
            operation["security"] = [{name: []} for name in op.security]
        if op.request is not None:
            operation["requestBody"] = {
                "required": True,
                "content": content(op.request, "validation"),
            }
        operation["responses"] = {
            str(status): {"description": description, "content": content(model, "serialization")}
            for status, (description, model) in sorted(op.responses.items())
        }
        paths.setdefault(op.path, {})[op.method] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "symposium API",
            "version": "1",
            "description": "Programme and registration for symposia, workshops and group sessions.",
        },
        "paths": paths,
        "components": {
            "schemas": _referenced(definitions.get("$defs", {}), paths),
            **(
                {"securitySchemes": SECURITY_SCHEMES}
                if any(op.security for op in operations)
                else {}
            ),
        },
    }


def _referenced(definitions: dict[str, Any], paths: dict[str, Any]) -> dict[str, Any]:
    """The definitions that the paths refer to, directly or through one another.

    pydantic also lists models whose schema a field inlines (schemas.inline); those would be
    components that nothing uses.
    """
    prefix = REF_TEMPLATE.format(model="")
    names: set[str] = set()
    todo = [paths]
    while todo:
        for ref in _refs(todo.pop()):
            name = ref.removeprefix(prefix)
            if name not in names:
                names.add(name)
                todo.append(definitions[name])
    return {name: schema for name, schema in definitions.items() if name in names}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


OPENAPI: dict[str, Any] = build(OPERATIONS)
