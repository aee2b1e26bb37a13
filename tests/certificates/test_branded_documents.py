"""The event's logo and accent colour in its PDFs: the certificate (as downloaded and as
mailed) and the ticket."""

from __future__ import annotations

import io

from PIL import Image
from pypdf import PdfReader

from symposium.services.certificates import design, document, issuing
from symposium.services.programme import branding
from tests.certificates.conftest import full_day, local

PURPLE = "#7a2e5c"
# How fpdf2 writes PURPLE as the fill colour in a page's content.
PURPLE_FILL = b"0.4784 0.1804 0.3608 rg"
HOUSE_FILL = b"0.1216 0.3725 0.5451 rg"  # the site's #1f5f8b


def logo_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (600, 200), PURPLE).save(out, format="PNG")
    return out.getvalue()


def rebrand(db, event, logo: bytes | None, accent: str = PURPLE) -> None:  # type: ignore[no-untyped-def]
    branding.save(db.session, None, event, accent_colour=accent, logo=logo,
                  remove_logo=logo is None, now=local(8, 0))  # fmt: skip
    db.session.commit()


def page_of(body: bytes):  # type: ignore[no-untyped-def]
    return PdfReader(io.BytesIO(body)).pages[0]


def test_the_certificate_prints_the_logo_and_the_accent(app, db, event, register, present) -> None:
    person = register(1, "klein", "groot").registration
    full_day(present, person, "klein", "groot")
    (certificate,) = issuing.issue_all(db.session, None, event, local(17, 0)).issued
    db.session.commit()
    with app.test_request_context():
        plain = document.pdf(certificate, design.design_of(db.session, event))
    assert (
        len(page_of(plain).images) == 0 and HOUSE_FILL in page_of(plain).get_contents().get_data()
    )
    rebrand(db, event, logo_png())
    with app.test_request_context():
        body = document.pdf(certificate, design.design_of(db.session, event))
    page = page_of(body)
    (image,) = page.images  # the logo; the QR code is drawn, not an image
    assert image.image.size == (600, 200)
    content = page.get_contents().get_data()
    assert PURPLE_FILL in content and HOUSE_FILL not in content


def test_a_mailed_certificate_follows_a_new_logo(app, db, event, register, present) -> None:
    person = register(1, "klein").registration
    full_day(present, person, "klein")
    (certificate,) = issuing.issue_all(db.session, None, event, local(17, 0)).issued
    db.session.commit()
    with app.test_request_context():
        _found, before = document.for_mail(db.session, certificate.id)
        rebrand(db, event, logo_png())
        _found, after = document.for_mail(db.session, certificate.id)
    assert len(page_of(before).images) == 0
    assert len(page_of(after).images) == 1  # not the PDF built before the logo came


def test_the_ticket_prints_the_logo_on_its_accent_band(client, db, event, register) -> None:
    outcome = register(1, "klein")
    plain = client.get(f"/r/{outcome.token}/ticket.pdf").data
    assert len(page_of(plain).images) == 1  # the QR code
    rebrand(db, event, logo_png())
    page = page_of(client.get(f"/r/{outcome.token}/ticket.pdf").data)
    sizes = sorted(i.image.size for i in page.images)
    assert (600, 200) in sizes and len(sizes) == 2
    assert PURPLE_FILL in page.get_contents().get_data()
    # An accent alone: the band takes it, no tile for a logo.
    rebrand(db, event, None, accent="#1d5e3a")
    page = page_of(client.get(f"/r/{outcome.token}/ticket.pdf").data)
    assert len(page.images) == 1 and b"0.1137 0.3686 0.2275 rg" in page.get_contents().get_data()
