"""The certificate check's body (``certificates.py``): only what the paper itself says."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime

from symposium.blueprints.api.schemas import Response


class CertificatePoints(Response):
    register_code: str  # the register's short name, e.g. "NIP"
    register_name: str  # its full name
    body: str  # who accredited the activity
    activity_id: str
    points: float


class CertificateEvent(Response):
    title: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class Certificate(Response):
    """The verdict on a code: valid or revoked; an unknown code is a 404 (not_found)."""

    status: Literal["valid", "revoked"]
    code: str
    number: str
    name: str
    event: CertificateEvent
    days: list[date]  # the days attended, in the event's time zone
    points: list[CertificatePoints]
    issued_at: datetime
    revoked_at: datetime | None
    # The code of the valid certificate that replaced a revoked one, if any.
    replaced_by: str | None
