"""OpenAPI 3.1 description of the JSON API (served at /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

_nullable_str = {"type": ["string", "null"]}
_datetime = {"type": "string", "format": "date-time"}
_nullable_datetime = {"type": ["string", "null"], "format": "date-time"}

ERROR_CODES = [
    "invalid_json", "invalid_type", "invalid_idempotency_key", "event_not_found",
    "registration_closed", "registration_not_open", "event_cancelled", "event_full",
    "already_registered", "idempotency_conflict", "idempotency_key_reused", "invalid_name",
    "invalid_email", "invalid_phone", "invalid_profession", "invalid_identifier",
    "identifier_required", "consent_required", "field_too_long", "unknown_session",
    "not_enrollable", "not_eligible", "round_conflict", "time_conflict", "rate_limited",
    "invalid_text", "invalid_language", "not_found", "method_not_allowed", "bad_request",
    "server_error",
    "session_cancelled",
]  # fmt: skip

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "additionalProperties": False,
                "properties": {
                    "code": {"type": "string", "enum": ERROR_CODES},
                    "message": {"type": "string"},
                    "field": {"type": "string"},
                },
            }
        },
    },
    "Meeting": {
        "type": "object",
        "required": ["starts_at", "ends_at", "room"],
        "properties": {"starts_at": _datetime, "ends_at": _datetime, "room": {"type": "string"}},
    },
    "Session": {
        "type": "object",
        "required": [
            "id",
            "key",
            "kind",
            "title",
            "round_id",
            "starts_at",
            "ends_at",
            "room",
            "speakers",
            "themes",
            "professions",
            "quotas",
            "cancelled",
            "capacity",
            "places_left",
            "hours",
            "meetings",
        ],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "integer"},
            "key": {"type": "string"},
            "kind": {"type": "string", "enum": ["plenary", "workshop", "group"]},
            "title": {"type": "string"},
            "round_id": {"type": ["integer", "null"]},
            "starts_at": _nullable_datetime,
            "ends_at": _nullable_datetime,
            "room": {"type": "string"},
            "speakers": {"type": "array", "items": {"type": "string"}},
            "themes": {"type": "array", "items": {"type": "string"}},
            "professions": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Profession codes that may join; empty means everyone.",
            },
            "quotas": {"type": "object", "additionalProperties": {"type": "integer"}},
            "cancelled": {"type": "boolean"},
            "capacity": {"type": ["integer", "null"]},
            "places_left": {"type": ["integer", "null"], "description": "null: no limit"},
            "hours": {"type": ["number", "null"]},
            "meetings": {"type": "array", "items": {"$ref": "#/components/schemas/Meeting"}},
        },
    },
    "Round": {
        "type": "object",
        "required": ["id", "key", "title", "starts_at", "ends_at", "sessions"],
        "properties": {
            "id": {"type": "integer"},
            "key": {"type": "string"},
            "title": {"type": "string"},
            "starts_at": _datetime,
            "ends_at": _datetime,
            "sessions": {"type": "array", "items": {"$ref": "#/components/schemas/Session"}},
        },
    },
    "Event": {
        "type": "object",
        "required": [
            "slug",
            "title",
            "status",
            "timezone",
            "starts_at",
            "ends_at",
            "registration",
            "professions",
            "rounds",
            "sessions",
        ],
        "properties": {
            "slug": {"type": "string"},
            "title": {"type": "string"},
            "subtitle": {"type": "string"},
            "status": {"type": "string", "enum": ["published", "cancelled"]},
            "timezone": {"type": "string"},
            "starts_at": _datetime,
            "ends_at": _datetime,
            "venue": {"type": "string"},
            "address": {"type": "string"},
            "registration": {
                "type": "object",
                "required": ["open", "opens_at", "closes_at"],
                "properties": {
                    "open": {"type": "boolean"},
                    "opens_at": _nullable_datetime,
                    "closes_at": _nullable_datetime,
                },
            },
            "professions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["code", "name", "registers"],
                    "properties": {
                        "code": {"type": "string"},
                        "name": {"type": "object", "additionalProperties": {"type": "string"}},
                        "registers": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["code", "identifier", "pattern"],
                                "properties": {
                                    "code": {"type": "string"},
                                    "identifier": {"type": "string"},
                                    "pattern": _nullable_str,
                                },
                            },
                        },
                    },
                },
            },
            "rounds": {"type": "array", "items": {"$ref": "#/components/schemas/Round"}},
            "sessions": {"type": "array", "items": {"$ref": "#/components/schemas/Session"}},
        },
    },
    "RegistrationRequest": {
        "type": "object",
        "required": ["name", "email", "profession", "consent"],
        "properties": {
            "name": {"type": "string", "maxLength": 200},
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "profession": {"type": "string", "description": "A profession code."},
            "organisation": {"type": "string", "maxLength": 200},
            "phone": {"type": "string", "maxLength": 40},
            "needs": {"type": "string", "maxLength": 2000},
            "language": {"type": "string", "enum": ["nl", "en"], "default": "nl"},
            "identifiers": {
                "type": "object",
                "description": 'Register code to identifier, e.g. {"BIG": "19012345601"}.',
                "additionalProperties": {"type": "string", "maxLength": 40},
            },
            "consent": {"type": "boolean", "description": "Agreement to the privacy statement."},
            "sessions": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "Session ids: at most one per round.",
            },
        },
    },
    "Registration": {
        "type": "object",
        "required": ["registration"],
        "properties": {
            "registration": {
                "type": "object",
                "required": ["id", "status", "manage_url", "enrolments"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "integer"},
                    "status": {"type": "string", "enum": ["active", "cancelled"]},
                    "manage_url": {"type": "string", "format": "uri"},
                    "enrolments": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["session_id", "status", "waitlist_position"],
                            "additionalProperties": False,
                            "properties": {
                                "session_id": {"type": "integer"},
                                "status": {"type": "string", "enum": ["confirmed", "waitlisted"]},
                                "waitlist_position": {"type": ["integer", "null"], "minimum": 1},
                            },
                        },
                    },
                },
            }
        },
    },
}


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "symposium API",
        "version": "1",
        "description": "Programme and registration for symposia, workshops and group sessions.",
    },
    "paths": {
        "/api/v1/events/{slug}": {
            "get": {
                "operationId": "getEvent",
                "summary": "The event's programme, with places left per session",
                "parameters": [
                    {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {
                        "description": "The event",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Event"}}
                        },
                    },
                    "404": _error_response("No such public event (event_not_found)"),
                },
            }
        },
        "/api/v1/events/{slug}/registrations": {
            "post": {
                "operationId": "register",
                "summary": "Register and enrol in sessions (confirmed or waitlisted)",
                "parameters": [
                    {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 200},
                        "description": "Repeat a request safely: the same key and body "
                        "return the stored response and create nothing twice.",
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/RegistrationRequest"}
                        }
                    },
                },
                "responses": {
                    "201": {
                        "description": "Registered",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Registration"}
                            }
                        },
                    },
                    "400": _error_response("Malformed request"),
                    "404": _error_response("No such event"),
                    "409": _error_response(
                        "Closed, cancelled, full, already registered or idempotency conflict"
                    ),
                    "422": _error_response("A field or a choice breaks a rule"),
                    "429": _error_response("Too many requests; see Retry-After"),
                },
            }
        },
    },
    "components": {"schemas": SCHEMAS},
}
