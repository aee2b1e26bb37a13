"""The generated OpenAPI document: valid OpenAPI 3.1, complete, and made from the models.

tests/api/test_api.py validates every answer against it; these tests check the document.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from pydantic import BaseModel

from symposium.blueprints.api import schemas
from symposium.blueprints.api.openapi import OPENAPI, OPERATIONS, SLUG, Operation, build
from symposium.services.registration import validation

IGNORED_METHODS = {"HEAD", "OPTIONS"}
UNDOCUMENTED = {"/api/v1/openapi.json"}  # the document itself


def test_document_is_valid_openapi_3_1() -> None:
    validate(OPENAPI, cls=OpenAPIV31SpecValidator)
    for schema in OPENAPI["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_an_invalid_document_is_noticed() -> None:
    """The validator is no rubber stamp: a response without a description fails it."""
    broken = {**OPENAPI, "paths": {"/x": {"get": {"responses": {"200": {}}}}}}
    with pytest.raises(Exception, match="description"):
        validate(broken, cls=OpenAPIV31SpecValidator)


def test_every_api_route_is_in_the_document_and_nothing_else(app: Flask) -> None:
    """Compared by URL, not by blueprint: an /api/ route on any blueprint must be described."""
    routes = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.rule not in UNDOCUMENTED
        for method in (rule.methods or set()) - IGNORED_METHODS
    }
    documented = {
        (path, method) for path, operations in OPENAPI["paths"].items() for method in operations
    }
    assert routes == documented
    assert len({op.operation_id for op in OPERATIONS}) == len(OPERATIONS)


def schema_of(model: type[BaseModel], mode: str) -> dict:
    return model.model_json_schema(
        ref_template="#/components/schemas/{model}",
        schema_generator=schemas.SchemaGenerator,
        mode=mode,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("name", "model", "mode"),
    [
        ("Event", schemas.Event, "serialization"),
        ("Registration", schemas.Registration, "serialization"),
        ("Error", schemas.Error, "serialization"),
        ("RegistrationRequest", schemas.RegistrationRequest, "validation"),
    ],
)
def test_components_are_the_models_schemas(name: str, model: type[BaseModel], mode: str) -> None:
    component = OPENAPI["components"]["schemas"][name]
    expected = schema_of(model, mode)
    expected.pop("$defs", None)
    assert component == expected


def test_nested_models_are_components_and_unused_ones_are_left_out() -> None:
    components = OPENAPI["components"]["schemas"]
    assert {"Session", "Round", "Meeting", "Enrolment"} <= set(components)
    # Error inlines its detail, so ErrorDetail is no component of its own.
    assert "ErrorDetail" not in components
    assert components["Error"]["properties"]["error"]["properties"]["code"]["enum"] == (
        schemas.ERROR_CODES
    )
    assert "field" not in components["Error"]["properties"]["error"]["required"]


def test_the_request_documents_the_services_rules() -> None:
    """Lengths and languages come from the registration service, which enforces them."""
    request = OPENAPI["components"]["schemas"]["RegistrationRequest"]
    properties = request["properties"]
    for name in ("name", "organisation", "phone", "needs"):
        assert properties[name]["maxLength"] == validation.LIMITS[name]
    assert (
        properties["identifiers"]["additionalProperties"]["maxLength"]
        == (validation.LIMITS["identifier"])
    )
    assert properties["language"]["enum"] == list(validation.LANGUAGES)
    assert request["required"] == ["name", "email", "profession", "consent"]
    assert "default" not in properties["name"]
    assert properties["language"]["default"] == "nl"


def test_an_operation_added_to_the_table_appears_with_its_models() -> None:
    """What a new endpoint (check-in, certificates, …) does to join the document."""

    class Scan(schemas.Request):
        code: str

    class Scanned(schemas.Response):
        registration_id: int

    extra = Operation(
        "post",
        "/api/v1/events/{slug}/scans",
        "scan",
        "Check a participant in",
        parameters=(SLUG,),
        request=Scan,
        responses={201: ("Checked in", Scanned), 404: ("No such code", schemas.Error)},
    )
    doc = build([*OPERATIONS, extra])
    validate(doc, cls=OpenAPIV31SpecValidator)
    operation = doc["paths"]["/api/v1/events/{slug}/scans"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Scan"
    }
    assert {"Scan", "Scanned", "Event"} <= set(doc["components"]["schemas"])
