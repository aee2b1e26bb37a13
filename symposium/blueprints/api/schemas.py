"""The JSON API's request and response bodies as pydantic models.

The OpenAPI document (api/openapi.py) is generated from these, and the views build their
answers from them, so the document cannot drift from what is sent. New endpoints add their
models here (or in a module of their own beside this one) and their operations to openapi.py.

Request models check only the *shape* of a body: types, in strict mode (``1`` is no boolean,
``"1"`` no session id). The rules (lengths, known codes, blank names, …) stay in the services,
which answer with their own stable codes (``field_too_long``, ``invalid_name``, …) and 422;
the document still states them (``maxLength``, ``enum``, ``required``) through
``json_schema_extra``, so clients see the whole contract.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, SkipJsonSchema

from symposium.services.registration import validation

ERROR_CODES = [
    "invalid_json", "invalid_type", "invalid_idempotency_key", "event_not_found",
    "registration_closed", "registration_not_open", "event_cancelled", "event_full",
    "already_registered", "idempotency_conflict", "idempotency_key_reused", "invalid_name",
    "invalid_email", "invalid_phone", "invalid_profession", "invalid_identifier",
    "identifier_required", "identifier_unexpected", "consent_required", "field_too_long",
    "unknown_session",
    "not_enrollable", "not_eligible", "round_conflict", "time_conflict", "rate_limited",
    "invalid_text", "invalid_language", "not_found", "method_not_allowed", "bad_request",
    "server_error",
    "session_cancelled",
    "busy",
    "body_too_large",
    "registration_deleted",
    # the check-in API (api/checkins.py)
    "unauthorized", "invalid_token", "forbidden", "csrf_failed", "invalid_client_id",
    "code_required", "database_unavailable",
]  # fmt: skip

ErrorCode = Literal[tuple(ERROR_CODES)]  # type: ignore[valid-type]


class SchemaGenerator(GenerateJsonSchema):
    """pydantic's JSON Schema, without a title on every property (the name says it all)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def inline(model: type[BaseModel]) -> WithJsonSchema:
    """Put ``model``'s schema in its parent's instead of referring to a component."""
    return WithJsonSchema(model.model_json_schema(schema_generator=SchemaGenerator))


def documented(**keywords: Any) -> dict[str, Any]:
    """Schema keywords that a service, not pydantic, enforces (see the module's docstring)."""
    return keywords


def _no_default(schema: JsonSchemaValue) -> None:
    schema.pop("default", None)


class Response(BaseModel):
    """A response body: exactly these fields, each always present unless it says otherwise."""

    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- errors


class ErrorDetail(Response):
    code: ErrorCode
    message: str
    # Left out (not null) when the error is not about one field.
    field: str | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)


class Error(Response):
    """``{"error": {"code", "message", "field"}}``: the body of every 4xx and 5xx answer."""

    error: Annotated[ErrorDetail, inline(ErrorDetail)]


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """An Error body, built without validation: an error answer must not fail itself.

    That every code is in ERROR_CODES is checked by the tests, which validate each error
    answer against the document.
    """
    detail = ErrorDetail.model_construct(code=code, message=message, field=field)
    return Error.model_construct(error=detail).model_dump(mode="json", exclude_none=True)


# --------------------------------------------------------------------------- the programme


class Meeting(Response):
    starts_at: datetime
    ends_at: datetime
    room: str


class Session(Response):
    id: int
    key: str
    kind: Literal["plenary", "workshop", "group"]
    title: str
    round_id: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    room: str
    speakers: list[str]
    themes: list[str]
    professions: list[str] = Field(
        description="Profession codes that may join; empty means everyone."
    )
    quotas: dict[str, int]
    cancelled: bool
    capacity: int | None
    places_left: int | None = Field(description="null: no limit")
    hours: float | None
    meetings: list[Meeting]


class Round(Response):
    id: int
    key: str
    title: str
    starts_at: datetime
    ends_at: datetime
    sessions: list[Session]


class Register(Response):
    """A register number the event asks of this profession (its accrediting registers
    take attendance by it); none when no register accredited the event."""

    code: str
    identifier: str
    pattern: str | None = Field(description="The stored form; input is normalised first.")


class Profession(Response):
    code: str
    name: dict[str, str]
    registers: list[Register]


class RegistrationPeriod(Response):
    open: bool
    opens_at: datetime | None
    closes_at: datetime | None


class Event(Response):
    slug: str
    title: str
    subtitle: str
    status: Literal["published", "cancelled"]
    timezone: str
    starts_at: datetime
    ends_at: datetime
    venue: str
    address: str
    registration: RegistrationPeriod
    professions: list[Profession]
    rounds: list[Round]
    sessions: list[Session]


# --------------------------------------------------------------------------- registration


class InvalidBody(Exception):
    """The body is no JSON object, or a field has the wrong type (a 400 answer)."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class Request(BaseModel):
    """A request body: types checked strictly; unknown fields ignored, as they always were."""

    model_config = ConfigDict(strict=True, extra="ignore")
    # The message for a field of the wrong type (the first one, in field order).
    type_errors: ClassVar[dict[str, str]] = {}


_R = TypeVar("_R", bound=Request)


def parse_body(model: type[_R], raw: bytes) -> _R:
    """Parse a JSON body into ``model``, or raise InvalidBody with a stable code and field.

    ``json.loads`` rather than pydantic's parser: it is what the API always accepted (NaN,
    the last of duplicate keys), and absurdly deep nesting must be a 400, not a crash.
    """
    try:
        payload = json.loads(raw or b"null")
    except (ValueError, RecursionError):
        raise InvalidBody("invalid_json", "The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise InvalidBody("invalid_json", "The body must be a JSON object.")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0])
        message = model.type_errors.get(field, f"{field} has the wrong type.")
        raise InvalidBody("invalid_type", message, field) from None


def _required(*names: str):  # type: ignore[no-untyped-def]
    """Document fields as required that the service, not the parser, insists on."""

    def extra(schema: JsonSchemaValue) -> None:
        schema["required"] = list(names)
        for name in names:
            schema["properties"][name].pop("default", None)

    return extra


LIMITS = validation.LIMITS  # the service's: the document states what it enforces
# What the input guard and the service refuse (services/core/text.py), as JSON Schema
# patterns: no control characters anywhere, and no line break in a one-line field.
SINGLE_LINE = r"^[^\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]*$"
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Identifier = Annotated[
    str,
    Field(json_schema_extra=documented(maxLength=LIMITS["identifier"], pattern=SINGLE_LINE)),
]
TEXT_FIELDS = ("name", "email", "profession", "organisation", "phone", "needs", "language")


class RegistrationRequest(Request):
    model_config = ConfigDict(json_schema_extra=_required("name", "email", "profession", "consent"))
    type_errors: ClassVar[dict[str, str]] = {
        **{name: f"{name} must be a string." for name in TEXT_FIELDS},
        "sessions": "sessions must be a list of session ids.",
        "identifiers": "identifiers must map register codes to strings.",
        "consent": "consent must be a boolean.",
        "numbers_confirmed": "numbers_confirmed must be a boolean.",
    }

    # In the order the fields are checked: the first wrong one is reported.
    name: str = Field(
        "", json_schema_extra=documented(maxLength=LIMITS["name"], pattern=SINGLE_LINE)
    )
    email: str = Field(
        "", json_schema_extra=documented(format="email", maxLength=254, pattern=SINGLE_LINE)
    )
    profession: str = Field("", description="A profession code.")
    organisation: str = Field(
        "", json_schema_extra=documented(maxLength=LIMITS["organisation"], pattern=SINGLE_LINE)
    )
    phone: str = Field(
        "", json_schema_extra=documented(maxLength=LIMITS["phone"], pattern=SINGLE_LINE)
    )
    needs: str = Field(
        "", json_schema_extra=documented(maxLength=LIMITS["needs"], pattern=MULTI_LINE)
    )
    language: str = Field("nl", json_schema_extra=documented(enum=list(validation.LANGUAGES)))
    sessions: list[int] = Field(
        default_factory=list, description="Session ids: at most one per round."
    )
    identifiers: dict[str, Identifier] = Field(
        default_factory=dict,
        description='Register code to identifier, e.g. {"BIG": "19012345601"}.',
    )
    consent: bool = Field(False, description="Agreement to the privacy statement.")
    numbers_confirmed: bool = Field(
        False,
        description="The registrant confirms a number that drew the identifier_unexpected "
        "warning (a BIG number of another profession).",
    )


class Enrolment(Response):
    session_id: int
    status: Literal["confirmed", "waitlisted"]
    waitlist_position: Annotated[int, Field(ge=1)] | None


class RegistrationSummary(Response):
    id: int
    status: Literal["active", "cancelled"]
    manage_url: str = Field(json_schema_extra=documented(format="uri"))
    enrolments: list[Enrolment] = Field(description="The live ones, one per session.")


class Registration(Response):
    registration: RegistrationSummary
