"""JSON API v1: the programme, registration, its errors, idempotency and rate limiting.

Every response body is validated against the OpenAPI document that the API serves, so the
document and the implementation cannot drift apart unnoticed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from sqlalchemy import func, select

from symposium.blueprints.api.openapi import ERROR_CODES, OPENAPI
from symposium.extensions import db as _db
from symposium.extensions import limiter
from symposium.models import (
    Enrolment,
    Event,
    EventStatus,
    IdempotencyKey,
    OutboxMessage,
    Registration,
    Session,
    SessionKind,
)
from symposium.services.mail import render
from symposium.services.registration import lifecycle
from tests.conftest import make_app, registration_data

# --------------------------------------------------------------------------- schema validation

DOC_URI = "urn:symposium:openapi"
REGISTRY = Registry().with_resource(DOC_URI, DRAFT202012.create_resource(OPENAPI))
FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    # RFC 3339 needs an offset; the API writes UTC as "Z".
    if isinstance(value, str):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value)
        datetime.fromisoformat(value)
    return True


@FORMATS.checks("uri", raises=ValueError)
def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlsplit(value).scheme and urlsplit(value).netloc)


def validator(name: str) -> Draft202012Validator:
    schema = {"$ref": f"{DOC_URI}#/components/schemas/{name}"}
    return Draft202012Validator(schema, registry=REGISTRY, format_checker=FORMATS)


def validate(name: str, instance: Any) -> None:
    """Fail with every schema violation listed."""
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator(name).iter_errors(instance)
    ]
    assert not errors, f"not a valid {name}:\n" + "\n".join(errors)


def all_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from all_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from all_refs(item)


# --------------------------------------------------------------------------- requests


def post(
    client: FlaskClient,
    body: Any = None,
    *,
    raw: bytes | None = None,
    slug: str = "klein",
    key: str | None = None,
):
    """POST a registration: ``body`` as JSON, or ``raw`` bytes as they are."""
    headers = {"Idempotency-Key": key} if key is not None else {}
    data = raw if raw is not None else json.dumps(body)
    return client.post(
        f"/api/v1/events/{slug}/registrations",
        data=data,
        headers=headers,
        content_type="application/json",
    )


def get_event(client: FlaskClient, slug: str = "klein") -> dict[str, Any]:
    response = client.get(f"/api/v1/events/{slug}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    validate("Event", body)
    return body


def places_left(client: FlaskClient, key: str) -> int | None:
    sessions = {s["key"]: s for s in get_event(client)["sessions"]}
    return sessions[key]["places_left"]


def registered(response) -> dict[str, Any]:
    """The registration of a 201 response, validated against the "Registration" schema."""
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    validate("Registration", body)
    return body["registration"]


def api_error(response, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    """Check an error response: its status, JSON shape ("Error" schema), code and field."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert response.is_json, text
    body = response.get_json()
    validate("Error", body)
    error = body["error"]
    assert error["code"] == code, text
    assert code in ERROR_CODES
    assert error["message"]
    assert error.get("field") == field, text
    return error


def refused(client: FlaskClient, db, body: Any, status: int, code: str, field=None, **options):
    """POST ``body``, expect this error, and check it left no trace.

    No row written anywhere, and no place taken in SMALL_EVENT's "klein" (which must be loaded).
    """
    before, places = rows(db), places_left(client, "klein")
    error = api_error(post(client, body, **options), status, code, field)
    assert rows(db) == before
    assert places_left(client, "klein") == places
    return error


def statuses(registration: dict[str, Any]) -> dict[int, tuple[str, int | None]]:
    return {
        e["session_id"]: (e["status"], e["waitlist_position"]) for e in registration["enrolments"]
    }


def rows(db) -> dict[str, int]:
    """Row counts of everything a registration writes."""
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Registration, Enrolment, OutboxMessage, IdempotencyKey)
    }


def outbox(db, kind: str | None = None) -> list[OutboxMessage]:
    render.render_pending(db.session)  # written when sent; write them now to read them
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query))


def set_status(db, event_id: int, status: EventStatus) -> None:
    db.session.get(Event, event_id).status = status
    db.session.commit()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# SMALL_EVENT's times are wall-clock times in Europe/Amsterdam (UTC+1 in winter).
OPENS = utc(2026, 11, 1, 8, 0)
CLOSES = utc(2027, 2, 1, 22, 59)


# --------------------------------------------------------------------------- the document


def test_openapi_document_is_served(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json() == json.loads(json.dumps(OPENAPI))


def test_openapi_document_is_a_consistent_openapi_3_1_document(app: Flask) -> None:
    doc = OPENAPI
    assert doc["openapi"].startswith("3.1.")
    assert doc["info"]["title"] and doc["info"]["version"]
    schemas = doc["components"]["schemas"]
    for name, schema in schemas.items():
        Draft202012Validator.check_schema(schema)  # each is a valid JSON Schema 2020-12
        assert isinstance(name, str)

    refs = set(all_refs(doc))
    assert refs, "the document uses $ref"
    resolver = REGISTRY.resolver(base_uri=DOC_URI)
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        resolver.lookup(ref)  # raises when it does not resolve
    # Every schema is used somewhere.
    assert {ref.rsplit("/", 1)[1] for ref in refs} == set(schemas)

    api_rules: dict[str, set[str]] = {}  # a path's methods, from every rule at that path
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi":
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            api_rules.setdefault(path, set()).update(rule.methods or ())
    assert set(doc["paths"]) == set(api_rules)
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            assert method.upper() in api_rules[path]
            assert operation["operationId"]
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path))
            for status, response in operation["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d", status)
                assert response["description"]
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}

    assert len(ERROR_CODES) == len(set(ERROR_CODES))
    assert schemas["Error"]["properties"]["error"]["properties"]["code"]["enum"] == ERROR_CODES


# --------------------------------------------------------------------------- GET the event


def test_event_validates_and_reports_places_left(client: FlaskClient, small_event) -> None:
    body = get_event(client)
    assert body["slug"] == "klein"
    assert body["title"] == "Klein symposium"
    assert body["status"] == "published"
    assert body["starts_at"] == "2027-02-04T08:00:00Z"
    assert body["registration"] == {
        "open": True,
        "opens_at": "2026-11-01T08:00:00Z",
        "closes_at": "2027-02-01T22:59:00Z",
    }
    sessions = {s["key"]: s for s in body["sessions"]}
    assert list(sessions) == ["opening", "klein", "psy", "groot", "ook-r2"]
    assert {k: s["places_left"] for k, s in sessions.items()} == {
        "opening": None,
        "klein": 10,
        "psy": 5,
        "groot": None,
        "ook-r2": 1,
    }
    assert sessions["klein"]["capacity"] == 10
    assert sessions["klein"]["quotas"] == {"huisarts": 2}
    assert sessions["psy"]["professions"] == ["psychiater", "gz-psycholoog"]
    assert sessions["opening"]["kind"] == "plenary"
    assert sessions["opening"]["round_id"] is None
    assert sessions["klein"]["id"] == small_event["klein"]

    rounds = {r["key"]: r for r in body["rounds"]}
    assert list(rounds) == ["r1", "r2"]
    assert [s["key"] for s in rounds["r1"]["sessions"]] == ["klein", "psy"]
    assert [s["key"] for s in rounds["r2"]["sessions"]] == ["groot", "ook-r2"]
    for round_ in body["rounds"]:
        for session in round_["sessions"]:
            assert session["round_id"] == round_["id"]
            assert session == sessions[session["key"]]
            # Without times of its own a workshop takes its round's.
            assert (session["starts_at"], session["ends_at"]) == (
                round_["starts_at"],
                round_["ends_at"],
            )

    # The register patterns the API publishes are the ones the API enforces.
    professions = {p["code"]: p for p in body["professions"]}
    assert professions["huisarts"]["name"] == {"nl": "Huisarts", "en": "General practitioner"}
    (big,) = professions["huisarts"]["registers"]
    assert big["code"] == "BIG"
    assert re.fullmatch(big["pattern"], "12345678901")
    assert not re.fullmatch(big["pattern"], "1234567890")


def test_places_left_decrease_after_a_registration(client: FlaskClient, small_event) -> None:
    registered(post(client, registration_data(1, sessions=[small_event["klein"]])))
    assert places_left(client, "klein") == 9
    registered(post(client, registration_data(2, sessions=[small_event["psy"]])))
    assert places_left(client, "klein") == 9
    assert places_left(client, "psy") == 4


@pytest.mark.parametrize("slug", ["nope", "KLEIN", "klein-2"])
def test_unknown_event_is_404(client: FlaskClient, small_event, slug: str) -> None:
    api_error(client.get(f"/api/v1/events/{slug}"), 404, "event_not_found")


def test_example_events_validate(client: FlaskClient, load_example) -> None:
    """Real programmes: quotas, restricted sessions, hours and group meetings."""
    load_example("7roses-symposium.toml")
    load_example("welzijn-op-recept.toml")
    roses = get_event(client, "7roses-2027")
    assert any(s["quotas"] for s in roses["sessions"])
    assert any(s["hours"] for s in roses["sessions"])
    welzijn = get_event(client, "welzijn-op-recept-2027")
    groups = [s for s in welzijn["sessions"] if s["kind"] == "group"]
    assert groups and all(s["meetings"] for s in groups)
    assert not welzijn["registration"]["open"]  # opens 2027-01-11


def test_draft_event_is_not_found(client: FlaskClient, db, small_event) -> None:
    set_status(db, small_event["event"], EventStatus.DRAFT)
    before = rows(db)
    api_error(client.get("/api/v1/events/klein"), 404, "event_not_found")
    api_error(post(client, registration_data(1)), 404, "event_not_found")
    assert rows(db) == before


def test_cancelled_event_is_shown_but_refuses_registrations(
    client: FlaskClient, db, small_event
) -> None:
    set_status(db, small_event["event"], EventStatus.CANCELLED)
    body = get_event(client)
    assert body["status"] == "cancelled"
    assert body["registration"]["open"] is False
    body = registration_data(1, sessions=[small_event["klein"]])
    refused(client, db, body, 409, "event_cancelled")


# --------------------------------------------------------------------------- POST: success


def test_register_returns_statuses_and_a_working_manage_url(
    client: FlaskClient, db, small_event
) -> None:
    chosen = [small_event["klein"], small_event["groot"]]
    registration = registered(post(client, registration_data(1, sessions=chosen)))
    assert registration["status"] == "active"
    assert statuses(registration) == {
        small_event["klein"]: ("confirmed", None),
        small_event["groot"]: ("confirmed", None),
    }
    stored = db.session.get(Registration, registration["id"])
    assert stored.email == "deelnemer1@example.org"
    assert stored.identifiers == {"NIP": "NIP-00012345"}  # what the NIP takes of a GZ
    assert sorted(e.session_id for e in stored.enrolments) == sorted(chosen)

    url = urlsplit(registration["manage_url"])
    assert url.scheme == "http" and url.netloc == "localhost"
    page = client.get(url.path)
    assert page.status_code == 200
    assert "Deelnemer 1" in page.get_data(as_text=True)


def test_register_without_sessions(client: FlaskClient, small_event) -> None:
    registration = registered(post(client, registration_data(1, profession="overig")))
    assert registration["enrolments"] == []


def test_a_session_chosen_twice_counts_once(client: FlaskClient, small_event) -> None:
    klein = small_event["klein"]
    registration = registered(post(client, registration_data(1, sessions=[klein, klein])))
    assert statuses(registration) == {klein: ("confirmed", None)}
    assert places_left(client, "klein") == 9


def test_name_of_exactly_200_characters_is_accepted(client: FlaskClient, db, small_event) -> None:
    registration = registered(post(client, registration_data(1, name="x" * 200)))
    assert db.session.get(Registration, registration["id"]).name == "x" * 200


def test_email_is_normalised(client: FlaskClient, db, small_event) -> None:
    registration = registered(post(client, registration_data(1, email=" Ann@Example.ORG ")))
    assert db.session.get(Registration, registration["id"]).email == "ann@example.org"


def test_identifier_whitespace_is_ignored(client: FlaskClient, db, small_event) -> None:
    body = registration_data(1, "huisarts", identifiers={"BIG": " 1234 5678 901 "})
    registration = registered(post(client, body))
    assert db.session.get(Registration, registration["id"]).identifiers == {"BIG": "12345678901"}


def test_tabs_and_newlines_are_fine_in_text(client: FlaskClient, db, small_event) -> None:
    registration = registered(post(client, registration_data(1, needs="Rolstoel,\n\tvegan")))
    assert db.session.get(Registration, registration["id"]).needs == "Rolstoel,\n\tvegan"


def test_a_cancelled_registration_is_taken_up_again(
    client: FlaskClient, db, clock, small_event
) -> None:
    klein, groot = small_event["klein"], small_event["groot"]
    first = registered(post(client, registration_data(1, sessions=[klein])))
    lifecycle.cancel_registration(db.session, db.session.get(Registration, first["id"]), clock())
    db.session.commit()
    assert places_left(client, "klein") == 10

    again = registered(post(client, registration_data(1, sessions=[klein, groot])))
    assert again["id"] == first["id"]
    assert again["status"] == "active"
    # One entry per session: the cancelled enrolment is not listed.
    assert statuses(again) == {klein: ("confirmed", None), groot: ("confirmed", None)}
    assert places_left(client, "klein") == 9
    assert rows(db)["registrations"] == 1
    assert len(outbox(db, "registered")) == 2


# --------------------------------------------------------------------------- POST: bad input

DROP = object()  # leave the field out of the body


class Keys(tuple):
    """Session keys of SMALL_EVENT (or literal ids), turned into ids when the body is built."""


def body_for(ids: dict[str, int], changes: dict[str, Any]) -> dict[str, Any]:
    body = registration_data(1)
    for name, value in changes.items():
        if value is DROP:
            del body[name]
        elif isinstance(value, Keys):
            body[name] = [ids.get(k, k) for k in value]
        else:
            body[name] = value
    return body


NOT_AN_OBJECT = [
    pytest.param(b'{"name": ', id="truncated"),
    pytest.param(b"", id="empty"),
    pytest.param(b"\xff\xfe\x00", id="not-utf8"),
    pytest.param(b"{'name': 'x'}", id="single-quotes"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="absurdly-deep"),
    pytest.param(b"[{}]", id="array"),
    pytest.param(b'"x"', id="string"),
    pytest.param(b"42", id="number"),
    pytest.param(b"null", id="null"),
]

WRONG_TYPE = [
    ("name", 5), ("name", None), ("email", ["a@example.org"]), ("profession", 3),
    ("organisation", {}), ("phone", 612345678), ("needs", []), ("language", 1),
    ("consent", "yes"), ("consent", 1), ("consent", None),
    ("sessions", "1"), ("sessions", None), ("sessions", {"1": 1}), ("sessions", ["1"]),
    ("sessions", [True]), ("sessions", [1.0]), ("sessions", [None]),
    ("identifiers", ["12345678901"]), ("identifiers", None), ("identifiers", {"BIG": 12345678901}),
    ("numbers_confirmed", "yes"),
]  # fmt: skip

HUISARTS = {"profession": "huisarts"}
BROKEN_RULES = [
    pytest.param({"name": "x" * 201}, "field_too_long", "name", id="name-too-long"),
    pytest.param({"organisation": "o" * 201}, "field_too_long", "organisation",
                 id="organisation-too-long"),
    pytest.param({"needs": "n" * 2001}, "field_too_long", "needs", id="needs-too-long"),
    pytest.param({"name": "  "}, "invalid_name", "name", id="name-blank"),
    pytest.param({"name": DROP}, "invalid_name", "name", id="name-missing"),
    pytest.param({"email": "not-an-address"}, "invalid_email", "email", id="email-invalid"),
    pytest.param({"email": "a@b@example.org"}, "invalid_email", "email", id="email-two-at"),
    pytest.param({"email": DROP}, "invalid_email", "email", id="email-missing"),
    pytest.param({"phone": "call me"}, "invalid_phone", "phone", id="phone-invalid"),
    pytest.param(HUISARTS | {"identifiers": {"BIG": "1" * 10}}, "invalid_identifier",
                 "identifier_BIG", id="big-10-digits"),
    pytest.param(HUISARTS | {"identifiers": {"BIG": "1" * 12}}, "invalid_identifier",
                 "identifier_BIG", id="big-12-digits"),
    pytest.param(HUISARTS | {"identifiers": {"BIG": "1234567890a"}}, "invalid_identifier",
                 "identifier_BIG", id="big-letter"),
    pytest.param({"identifiers": {"NIP": "9" * 41}}, "invalid_identifier", "identifier_NIP",
                 id="identifier-too-long"),
    pytest.param(HUISARTS | {"identifiers": {}}, "identifier_required", "identifier_BIG",
                 id="big-missing"),
    pytest.param(HUISARTS | {"identifiers": {"BIG": " "}}, "identifier_required",
                 "identifier_BIG", id="big-blank"),
    pytest.param(HUISARTS | {"identifiers": {"NIP": "123"}}, "identifier_required",
                 "identifier_BIG", id="big-missing-other-register-given"),
    pytest.param(HUISARTS | {"identifiers": {"BIG": "19012345625"}}, "identifier_unexpected",
                 "identifier_BIG", id="big-of-another-profession"),
    pytest.param({"consent": False}, "consent_required", "consent", id="consent-false"),
    pytest.param({"consent": DROP}, "consent_required", "consent", id="consent-missing"),
    pytest.param({"profession": "astronaut"}, "invalid_profession", "profession",
                 id="profession-unknown"),
    pytest.param({"profession": DROP}, "invalid_profession", "profession",
                 id="profession-missing"),
    pytest.param({"sessions": Keys([10**6])}, "unknown_session", "sessions",
                 id="session-unknown"),
    pytest.param({"sessions": Keys([-1])}, "unknown_session", "sessions", id="session-negative"),
    pytest.param({"sessions": Keys([2**70])}, "unknown_session", "sessions", id="session-huge"),
    pytest.param({"sessions": Keys(["klein", 0])}, "unknown_session", "sessions",
                 id="session-known-and-unknown"),
    pytest.param({"sessions": Keys(["klein", "psy"])}, "round_conflict", "sessions",
                 id="two-in-one-round"),
    pytest.param(HUISARTS | {"sessions": Keys(["psy"])}, "not_eligible", "sessions",
                 id="huisarts-in-psy"),
    pytest.param({"sessions": Keys(["opening"])}, "not_enrollable", "sessions", id="plenary"),
    # Control characters (PostgreSQL cannot even store NUL).
    pytest.param({"name": "Ann\x00Smith"}, "invalid_text", "name", id="nul-in-name"),
    pytest.param({"organisation": "\x1b[31m"}, "invalid_text", "organisation",
                 id="escape-in-organisation"),
    pytest.param({"needs": "a\x7f"}, "invalid_text", "needs", id="delete-in-needs"),
    pytest.param({"email": "a\x00@example.org"}, "invalid_text", "email", id="nul-in-email"),
    # Refused by the input guard, before the service: the field is the string's JSON path.
    pytest.param({"identifiers": {"BIG": "1234567890\x00"}}, "invalid_text", "identifiers.BIG",
                 id="nul-in-identifier"),
]  # fmt: skip


@pytest.fixture
def someone_registered(client: FlaskClient, small_event) -> dict[str, int]:
    """SMALL_EVENT with one registration (in "klein") already in it: the tables are not empty."""
    registered(post(client, registration_data("first", sessions=[small_event["klein"]])))
    return small_event


@pytest.mark.parametrize("raw", NOT_AN_OBJECT)
def test_body_that_is_not_a_json_object(client: FlaskClient, db, someone_registered, raw) -> None:
    refused(client, db, None, 400, "invalid_json", raw=raw)


@pytest.mark.parametrize(("name", "value"), WRONG_TYPE)
def test_field_of_the_wrong_type(client: FlaskClient, db, someone_registered, name, value) -> None:
    body = registration_data(1) | {name: value}
    refused(client, db, body, 400, "invalid_type", name)


@pytest.mark.parametrize(("changes", "code", "field"), BROKEN_RULES)
def test_field_or_choice_that_breaks_a_rule(
    client: FlaskClient, db, someone_registered, changes, code, field
) -> None:
    body = body_for(someone_registered, changes)
    refused(client, db, body, 422, code, field)


def test_a_confirmed_big_number_of_another_profession_is_kept(
    client: FlaskClient, db, small_event
) -> None:
    body = registration_data(1, "huisarts", identifiers={"BIG": "19012345625"})
    registration = registered(post(client, body | {"numbers_confirmed": True}))
    assert db.session.get(Registration, registration["id"]).identifiers == {"BIG": "19012345625"}


def test_session_of_another_event_is_unknown(
    client: FlaskClient, db, small_event, load_example
) -> None:
    load_example("7roses-symposium.toml")
    other = db.session.scalars(
        select(Session.id)
        .join(Event)
        .where(Event.slug == "7roses-2027", Session.kind != SessionKind.PLENARY)
        .order_by(Session.id)
    ).first()
    assert other is not None and other not in small_event.values()
    for chosen in ([other], [small_event["klein"], other]):
        body = registration_data(1, sessions=chosen)
        refused(client, db, body, 422, "unknown_session", "sessions")


OVERLAP_EVENT = """
slug = "overlap"
title = "Overlap"
status = "published"
starts_at = 2027-02-04T09:00:00
ends_at = 2027-02-04T17:00:00
registration_opens_at = 2026-11-01T09:00:00

[organiser]
name = "Testorganisatie"
email = "info@example.org"

[[sessions]]
key = "a"
title = "A"
starts_at = 2027-02-04T10:00:00
ends_at = 2027-02-04T11:00:00

[[sessions]]
key = "b"
title = "B"
starts_at = 2027-02-04T10:30:00
ends_at = 2027-02-04T11:30:00
"""


def test_sessions_at_the_same_time_conflict(
    client: FlaskClient, db, small_event, load_example, tmp_path
) -> None:
    path = tmp_path / "overlap.toml"
    path.write_text(OVERLAP_EVENT)
    load_example(path)
    ids = db.session.scalars(
        select(Session.id).join(Event).where(Event.slug == "overlap").order_by(Session.key)
    ).all()
    body = registration_data(1, sessions=ids)
    refused(client, db, body, 422, "time_conflict", "sessions", slug="overlap")
    registered(post(client, registration_data(1, sessions=ids[:1]), slug="overlap"))


def test_overlong_idempotency_key_is_refused(client: FlaskClient, db, small_event) -> None:
    body = registration_data(1)
    refused(client, db, body, 400, "invalid_idempotency_key", key="k" * 201)
    registered(post(client, body, key="k" * 200))


def test_unknown_event_refuses_registrations(client: FlaskClient, db, small_event) -> None:
    body = registration_data(1)
    refused(client, db, body, 404, "event_not_found", slug="nope")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/events/klein/registrations", 405),
        ("DELETE", "/api/v1/events/klein", 405),
        ("GET", "/api/v1/events", 404),
    ],
)
def test_api_errors_outside_the_views_are_json(
    client: FlaskClient, small_event, method: str, path: str, status: int
) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.is_json, response.content_type
    error = response.get_json()["error"]
    assert error["code"] and error["message"]


# --------------------------------------------------------------------------- open and closed


@pytest.mark.parametrize(
    ("now", "code"),
    [
        (utc(2026, 10, 31, 12, 0), "registration_not_open"),
        (OPENS - timedelta(seconds=1), "registration_not_open"),
        (CLOSES + timedelta(seconds=1), "registration_closed"),
        (utc(2027, 2, 2, 0, 0), "registration_closed"),
        (utc(2027, 2, 4, 12, 0), "registration_closed"),  # during the event
    ],
)
def test_outside_the_registration_period(
    client: FlaskClient, db, clock, small_event, now, code
) -> None:
    clock.now = now
    assert get_event(client)["registration"]["open"] is False
    body = registration_data(1, sessions=[small_event["klein"]])
    refused(client, db, body, 409, code)


@pytest.mark.parametrize("now", [OPENS, CLOSES])
def test_registration_period_includes_its_ends(
    client: FlaskClient, clock, small_event, now
) -> None:
    clock.now = now
    assert get_event(client)["registration"]["open"] is True
    registered(post(client, registration_data(1)))


def test_full_event_is_refused(client: FlaskClient, db, small_event) -> None:
    db.session.get(Event, small_event["event"]).capacity = 1
    db.session.commit()
    registered(post(client, registration_data(1)))
    body = registration_data(2, sessions=[small_event["klein"]])
    refused(client, db, body, 409, "event_full")


# --------------------------------------------------------------------------- capacity


def test_workshop_fills_up_then_waitlists(client: FlaskClient, db, small_event) -> None:
    klein = small_event["klein"]
    results = [
        statuses(registered(post(client, registration_data(n, sessions=[klein]))))[klein]
        for n in range(12)
    ]
    assert results == [("confirmed", None)] * 10 + [("waitlisted", 1), ("waitlisted", 2)]
    assert places_left(client, "klein") == 0
    assert rows(db)["registrations"] == 12
    assert len(outbox(db, "registered")) == 12


def test_quota_waitlists_a_gp_while_places_are_free(client: FlaskClient, small_event) -> None:
    klein = small_event["klein"]
    results = [
        statuses(registered(post(client, registration_data(n, "huisarts", sessions=[klein]))))
        for n in range(3)
    ]
    assert [r[klein] for r in results] == [
        ("confirmed", None),
        ("confirmed", None),
        ("waitlisted", 1),
    ]
    assert places_left(client, "klein") == 8
    # Others still get the free places.
    other = registered(post(client, registration_data("psy", sessions=[klein])))
    assert statuses(other)[klein] == ("confirmed", None)


def test_one_request_can_be_confirmed_and_waitlisted(client: FlaskClient, small_event) -> None:
    ook = small_event["ook-r2"]  # 1 place
    registered(post(client, registration_data(1, sessions=[ook])))
    registration = registered(
        post(client, registration_data(2, sessions=[small_event["klein"], ook]))
    )
    assert statuses(registration) == {
        small_event["klein"]: ("confirmed", None),
        ook: ("waitlisted", 1),
    }


# --------------------------------------------------------------------------- already registered


@pytest.mark.parametrize("again", ["deelnemer1@example.org", "  DeelNemer1@EXAMPLE.org"])
def test_same_address_twice_is_already_registered(
    client: FlaskClient, db, small_event, again: str
) -> None:
    first = registered(post(client, registration_data(1, sessions=[small_event["klein"]])))
    response = post(client, registration_data(2, email=again, sessions=[small_event["psy"]]))
    api_error(response, 409, "already_registered", "email")
    assert rows(db)["registrations"] == 1
    assert rows(db)["enrolments"] == 1
    assert places_left(client, "psy") == 5
    (link,) = outbox(db, "manage_link")
    assert link.to_address == "deelnemer1@example.org"
    assert link.registration_id == first["id"]
    # The registration itself is untouched.
    assert db.session.get(Registration, first["id"]).name == "Deelnemer 1"


# --------------------------------------------------------------------------- Idempotency-Key


def test_same_key_and_body_replays_the_response(client: FlaskClient, db, small_event) -> None:
    body = registration_data(1, sessions=[small_event["klein"]])
    first = post(client, body, key="abc-123")
    registered(first)
    after_first = rows(db)
    second = post(client, body, key="abc-123")
    registered(second)
    assert second.get_json() == first.get_json()
    assert rows(db) == after_first
    assert after_first["registrations"] == 1
    assert after_first["idempotency_keys"] == 1
    assert len(outbox(db, "registered")) == 1
    assert outbox(db, "manage_link") == []
    assert places_left(client, "klein") == 9


def test_same_key_with_another_body_is_refused(client: FlaskClient, db, small_event) -> None:
    registered(post(client, registration_data(1), key="abc-123"))
    # Someone else, or the same person with another choice.
    for body in (registration_data(2), registration_data(1, sessions=[small_event["klein"]])):
        refused(client, db, body, 422, "idempotency_key_reused", key="abc-123")


def test_another_key_with_the_same_address_is_already_registered(
    client: FlaskClient, db, small_event
) -> None:
    body = registration_data(1)
    registered(post(client, body, key="first"))
    api_error(post(client, body, key="second"), 409, "already_registered", "email")
    api_error(post(client, body), 409, "already_registered", "email")
    assert rows(db)["registrations"] == 1
    assert rows(db)["idempotency_keys"] == 1
    assert len(outbox(db, "manage_link")) == 2


def test_a_refused_request_does_not_use_up_its_key(client: FlaskClient, db, small_event) -> None:
    response = post(client, registration_data(1, consent=False), key="k1")
    api_error(response, 422, "consent_required", "consent")
    assert rows(db)["idempotency_keys"] == 0
    registered(post(client, registration_data(1), key="k1"))


def test_keys_are_scoped_per_event(client: FlaskClient, db, small_event, load_example) -> None:
    load_example("7roses-symposium.toml")
    body = registration_data(1)
    here = registered(post(client, body, key="same"))
    there = registered(post(client, body, slug="7roses-2027", key="same"))
    assert here["id"] != there["id"]
    assert rows(db)["idempotency_keys"] == 2


# --------------------------------------------------------------------------- mail


def test_mail_is_queued_in_the_registrants_language(client: FlaskClient, db, small_event) -> None:
    registration = registered(post(client, registration_data(1, language="en")))
    (message,) = outbox(db)
    assert message.kind == "registered"
    assert message.to_address == "deelnemer1@example.org"
    assert message.registration_id == registration["id"]
    assert message.language == "en"
    assert message.subject == "Your registration for Klein symposium"
    assert registration["manage_url"] in message.body_text


def test_mail_language_defaults_to_dutch(client: FlaskClient, db, small_event) -> None:
    registered(post(client, registration_data(1)))
    (message,) = outbox(db, "registered")
    assert message.language == "nl"
    assert db.session.scalars(select(Registration.language)).one() == "nl"


# --------------------------------------------------------------------------- rate limit


@pytest.fixture
def limited_app(migrated_url: str, clock, small_event) -> Iterator[Callable[[str], Flask]]:
    """Build apps with rate limiting on: Flask-Limiter reads RATELIMIT_ENABLED in init_app.

    The tables, catalogue and SMALL_EVENT come from the ``app`` fixture (same database). The
    limiter is one shared object, so its switch is put back afterwards.
    """
    was_enabled = limiter.enabled
    built: list[Flask] = []

    def build(limit: str) -> Flask:
        limited = make_app(
            migrated_url, CLOCK=clock, RATELIMIT_ENABLED=True, REGISTRATION_RATE_LIMIT=limit
        )
        built.append(limited)
        return limited

    yield build
    limiter.enabled = was_enabled
    for limited in built:
        with limited.app_context():
            _db.session.remove()
            _db.engine.dispose()


def test_rate_limit_answers_429_in_json(limited_app) -> None:
    app = limited_app("2 per minute")
    client = app.test_client()
    registered(post(client, registration_data(1)))
    registered(post(client, registration_data(2)))
    response = post(client, registration_data(3))
    api_error(response, 429, "rate_limited")
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit() and 0 < int(retry_after) <= 60
    with app.app_context():
        assert rows(_db)["registrations"] == 2
    # Reading the programme is not limited.
    assert client.get("/api/v1/events/klein").status_code == 200


def test_rate_limit_message_states_the_real_wait(limited_app) -> None:
    client = limited_app("1 per hour").test_client()
    registered(post(client, registration_data(1)))
    response = post(client, registration_data(2))
    error = api_error(response, 429, "rate_limited")
    retry_after = int(response.headers["Retry-After"])
    assert 3500 < retry_after <= 3600
    stated = int(re.search(r"\d+", error["message"]).group())
    assert abs(stated - retry_after) <= 1, error["message"]
