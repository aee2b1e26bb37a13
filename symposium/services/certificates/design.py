"""An event's certificate settings: who gets one (the rule) and who signs it.

The signature is an image the organiser uploads: read with Pillow, refused unless it is a
PNG or JPEG, scaled down to what the page prints and stored re-encoded as PNG, so nothing
of the uploaded file but its pixels reaches the PDFs (no metadata, no embedded payload).
"""

from __future__ import annotations

import io
from datetime import datetime

from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import Accreditation, CertificateDesign, CertificateRule, Event, User
from symposium.services.core import audit
from symposium.services.core.errors import RuleError

MAX_UPLOAD = 900_000  # below the request limit (MAX_CONTENT_LENGTH), which answers with 413
MAX_PIXELS = 25_000_000  # a small file may still unpack into gigabytes: refused unread
MAX_SIZE = (900, 300)  # pixels: 60 x 20 mm at 380 dpi
FORMATS = {"PNG", "JPEG"}


def design_of(db: DbSession, event: Event) -> CertificateDesign:
    """The event's settings; an event without any issues certificates for points when it is
    accredited, else for attendance (a group series)."""
    found = db.get(CertificateDesign, event.id)
    if found is not None:
        return found
    accredited = db.scalar(select(Accreditation.id).where(Accreditation.event_id == event.id))
    rule = CertificateRule.POINTS if accredited is not None else CertificateRule.ATTENDANCE
    return CertificateDesign(
        event_id=event.id, rule=rule, signatory_name="", signatory_role="", signature_type=""
    )


def rule_of(db: DbSession, event: Event) -> CertificateRule:
    return design_of(db, event).rule


def signature_png(data: bytes) -> bytes:
    """The uploaded signature as a PNG of at most :data:`MAX_SIZE`, or RuleError."""
    too_large = RuleError(
        "signature_too_large", _l("The image is larger than 900 kB or 25 megapixels."),
        field="signature",
    )  # fmt: skip
    if len(data) > MAX_UPLOAD:
        raise too_large
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in FORMATS:
                raise UnidentifiedImageError(image.format)
            if image.width * image.height > MAX_PIXELS:
                raise too_large
            image.load()
            picture = image.convert("RGBA") if image.mode in ("P", "LA", "RGBA") else image
            picture = picture.convert("RGBA" if "A" in picture.mode else "RGB")
            picture.thumbnail(MAX_SIZE)
            out = io.BytesIO()
            picture.save(out, format="PNG", optimize=True)
            return out.getvalue()
    except Image.DecompressionBombError:
        raise too_large from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise RuleError(
            "signature_not_image", _l("Upload a PNG or JPEG image."), field="signature"
        ) from None


def save(
    db: DbSession,
    user: User | None,
    event: Event,
    *,
    rule: CertificateRule,
    signatory_name: str,
    signatory_role: str,
    signature: bytes | None,
    remove_signature: bool,
    now: datetime,
) -> CertificateDesign:
    """Save the settings (a new signature replaces the old; ``remove_signature`` drops it)."""
    found = db.get(CertificateDesign, event.id)
    if found is None:
        found = CertificateDesign(event_id=event.id, signature_type="")
        db.add(found)
    before = {
        "rule": found.rule.value if found.rule else None,
        "signatory": " ".join(filter(None, [found.signatory_name, found.signatory_role])),
        "signature": bool(found.signature_type),
    }
    found.rule = rule
    found.signatory_name = signatory_name.strip()
    found.signatory_role = signatory_role.strip()
    if signature:
        found.signature = signature_png(signature)
        found.signature_type = "png"
    elif remove_signature:
        found.signature = None
        found.signature_type = ""
    after = {
        "rule": rule.value,
        "signatory": " ".join(filter(None, [found.signatory_name, found.signatory_role])),
        "signature": bool(found.signature_type),
    }
    if before != after or signature:
        audit.record(
            db, user=user, event=event, action="certificate_settings_changed",
            target="certificates", before=before, after=after, now=now,
        )  # fmt: skip
    db.flush()
    return found
