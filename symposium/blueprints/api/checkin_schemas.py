"""The check-in API's bodies (``checkins.py``), as pydantic models beside ``schemas``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field

from symposium.blueprints.api.schemas import Request, Response, documented
from symposium.services.checkin.presence import CLIENT_ID_LENGTH

Verdict = Literal["welcome", "goodbye", "other_session", "refused", "already"]
Via = Literal["scan", "typed", "search", "paper", "walk_in", "end", "api"]


class CheckinRequest(Request):
    """One scan: a ticket's code (as printed or as the QR code holds it) or a registration
    id, under an id the client made, once (sent again, it is answered again, not counted)."""

    type_errors: ClassVar[dict[str, str]] = {
        "client_id": "client_id must be a string.",
        "code": "code must be a string.",
        "registration_id": "registration_id must be an integer.",
        "scanned_at": "scanned_at must be an ISO 8601 time with its offset.",
    }

    client_id: str = Field(json_schema_extra=documented(maxLength=CLIENT_ID_LENGTH, minLength=1))
    code: str | None = Field(None, json_schema_extra=documented(maxLength=200))
    registration_id: int | None = None
    direction: Literal["in", "out"] = "in"
    # When the scan was made (a scanner app offline for a while); by default, now.
    scanned_at: Annotated[AwareDatetime, Field(strict=False)] | None = None
    admit_anyway: bool = False


class Presence(Response):
    id: int
    session_id: int
    # A group that meets several times: the meeting (of the scan's day) it is a presence at.
    meeting_id: int | None
    registration_id: int
    name: str
    checked_in_at: datetime
    checked_in_via: Via
    checked_out_at: datetime | None
    checked_out_via: Via | None
    admitted_anyway: bool


class CheckinAnswer(Response):
    client_id: str
    verdict: Verdict
    colour: Literal["green", "orange", "red", "grey"]
    # refused: why (a stable code: unknown_code, waitlisted, time_in_future, …)
    reason: str | None
    # What a door shows: "Welkom, Anna de Vries", in the Accept-Language.
    headline: str
    detail: str
    # The client id was seen before: this is its first answer again; nothing new recorded.
    replayed: bool
    registration_id: int | None
    # other_session: the session of their place this round.
    other_session_id: int | None
    presence: Presence | None


class Checkin(Response):
    checkin: CheckinAnswer


class Checkins(Response):
    checkins: list[Presence]
