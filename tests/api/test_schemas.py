"""The request and response models on their own: what parse_body accepts and how it refuses.

The API tests (test_api.py) cover each wrong field through HTTP; these pin down what a model
change could silently alter: which field is reported first, what is ignored, what is kept.
"""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from symposium.blueprints.api import schemas
from tests.conftest import registration_data


def parse(body: object) -> schemas.RegistrationRequest:
    return schemas.parse_body(schemas.RegistrationRequest, json.dumps(body).encode())


def refusal(body: object) -> tuple[str, str | None, str]:
    with pytest.raises(schemas.InvalidBody) as refused:
        parse(body)
    return refused.value.code, refused.value.field, refused.value.message


def test_a_valid_body_becomes_the_services_input() -> None:
    data = parse(registration_data(1, sessions=[3, 1]))
    assert data.model_dump() == {
        "name": "Deelnemer 1",
        "email": "deelnemer1@example.org",
        "profession": "gz-psycholoog",
        "organisation": "",
        "phone": "",
        "needs": "",
        "language": "nl",
        "sessions": [3, 1],
        "identifiers": {"BIG": "12345678901", "NIP": "NIP-00012345"},
        "consent": True,
        "numbers_confirmed": False,
    }


def test_missing_fields_get_defaults_for_the_service_to_judge() -> None:
    """The service, not the parser, says that a name or consent is missing (422)."""
    assert parse({}).model_dump() == schemas.RegistrationRequest().model_dump()
    assert parse({}).consent is False


def test_unknown_fields_are_ignored() -> None:
    assert parse(registration_data(1, shoe_size=44, submission_key="x")).name == "Deelnemer 1"


def test_huge_and_negative_session_ids_reach_the_service() -> None:
    """They are integers; that no such session exists is the service's 422 unknown_session."""
    assert parse(registration_data(1, sessions=[2**70, -1])).sessions == [2**70, -1]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"consent": "yes", "sessions": "1", "name": 5}, "name"),
        ({"consent": "yes", "identifiers": [], "sessions": [True]}, "sessions"),
        ({"consent": None, "identifiers": {"BIG": 1}}, "identifiers"),
        ({"consent": 1, "language": 2}, "language"),
        ({"needs": [], "email": 3}, "email"),
    ],
)
def test_the_first_wrong_field_in_check_order_is_reported(changes: dict, field: str) -> None:
    """Text fields, then sessions, identifiers, consent: the hand parser's order."""
    code, reported, message = refusal(registration_data(1) | changes)
    assert (code, reported) == ("invalid_type", field)
    assert message.startswith(field)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "The body must be a JSON object."),
        (b"[]", "The body must be a JSON object."),
        (b"{", "The body is not valid JSON."),
        (b"\xff", "The body is not valid JSON."),
        (b"[" * 100_000 + b"]" * 100_000, "The body is not valid JSON."),
    ],
)
def test_a_body_that_is_no_object_is_invalid_json(raw: bytes, message: str) -> None:
    with pytest.raises(schemas.InvalidBody) as refused:
        schemas.parse_body(schemas.RegistrationRequest, raw)
    assert (refused.value.code, refused.value.field, refused.value.message) == (
        "invalid_json",
        None,
        message,
    )


def test_a_response_model_refuses_an_undocumented_field() -> None:
    """So a view cannot send what the document does not describe."""
    with pytest.raises(ValidationError):
        schemas.Enrolment(session_id=1, status="confirmed", waitlist_position=None, extra=1)
    with pytest.raises(ValidationError):
        schemas.Enrolment(session_id=1, status="cancelled", waitlist_position=None)


def test_an_error_without_a_field_leaves_it_out() -> None:
    assert schemas.error_body("event_not_found", "No such event.") == {
        "error": {"code": "event_not_found", "message": "No such event."}
    }
    assert schemas.error_body("invalid_name", "Name?", "name")["error"]["field"] == "name"
