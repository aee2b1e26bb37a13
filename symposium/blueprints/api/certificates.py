"""GET /api/v1/certificates/<code>: the certificate check as JSON, for a register's tools.

The same verdict and the same few facts as the page (``blueprints/certificates.py``), under
the same rate limit per client address.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask.typing import ResponseReturnValue

from symposium.blueprints.api import answer, bp, error
from symposium.blueprints.api import certificate_schemas as schemas
from symposium.blueprints.certificates import verification_rate_limit
from symposium.extensions import db
from symposium.services.certificates import codes, verification


@bp.get("/certificates/<code>")
@verification_rate_limit
def certificate(code: str) -> ResponseReturnValue:
    verdict = verification.verify(db.session, code)
    if verdict is None:
        return error(404, "not_found", "No certificate with this code was issued here.")
    found = verdict.certificate
    event = verdict.event
    return answer(
        schemas.Certificate(
            status="valid" if verdict.valid else "revoked",
            code=verdict.code,
            number=found.number,
            name=found.name,
            event=schemas.CertificateEvent(
                title=event["title"],
                starts_at=datetime.fromisoformat(event["starts_at"]),
                ends_at=datetime.fromisoformat(event["ends_at"]),
            ),
            days=verdict.days,
            points=[
                schemas.CertificatePoints(
                    register_code=row["register"],
                    register_name=row["name"],
                    body=row["body"],
                    activity_id=row["activity_id"],
                    points=float(Decimal(row["points"])),
                )
                for row in verdict.registers
            ],
            issued_at=found.issued_at,
            revoked_at=found.revoked_at,
            replaced_by=(
                codes.format_code(verdict.replacement.code) if verdict.replacement else None
            ),
        )
    )
