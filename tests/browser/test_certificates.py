"""The certificate from end to end in a browser: the organiser issues them after the day, the
worker mails the PDF, and the QR code on it (decoded from the rendered page) opens the check
page, which says the certificate is valid."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from symposium.services.certificates import codes
from tests.browser.site import serving
from tests.certificates.conftest import (  # noqa: F401
    PASSWORD,
    Sink,
    accredited,
    attachments,
    full_day,
    local,
    organiser,
    present,
)
from tests.checkin.conftest import register, sessions  # noqa: F401

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with serving(app) as url:
        app.config["BASE_URL"] = url  # the QR code holds the address this server answers on
        yield url


def test_the_organiser_issues_and_the_qr_code_verifies_in_the_browser(
    browser, app, db, event, register, present, organiser, live_server, clock, tmp_path: Path
) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    if shutil.which("pdftoppm") is None:  # like the browser: required in CI, else skipped
        missing = "pdftoppm (apt-get install poppler-utils) renders the certificate"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(missing)
        pytest.skip(missing)
    gp = register(1, "klein", "groot", profession="huisarts", name="Zoë Ünal").registration
    full_day(present, gp, "klein", "groot")
    clock.now = local(17, 0)
    context = browser.new_context(locale="nl-NL")
    page = context.new_page()
    page.goto(f"{live_server}/admin/login")
    page.get_by_label("E-mailadres").fill(organiser.email)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.goto(f"{live_server}/admin/events/{event.slug}/certificates")
    page.get_by_role("button", name="1 bewijs uitgeven en mailen").click()
    page.wait_for_load_state()
    assert "1 bewijs van deelname uitgegeven" in page.content()
    context.close()

    from symposium.services.mail import delivery

    sink = Sink()
    with app.app_context():
        delivery.drain(db.session, sink, app.config, lambda: clock.now)
    (mail,) = [m for m in sink.messages if attachments(m)]
    ((name, body),) = attachments(mail)
    (tmp_path / "c.pdf").write_bytes(body)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", tmp_path / "c.pdf", tmp_path / "c"],
        check=True,
    )
    (found,) = zxingcpp.read_barcodes(Image.open(tmp_path / "c.png"))
    assert found.text.startswith(f"{live_server}/certificates/")

    context = browser.new_context(locale="nl-NL", viewport=PHONE)
    phone = context.new_page()
    phone.goto(found.text)
    assert "Geldig." in phone.content() and "Zoë Ünal" in phone.content()
    code = found.text.rsplit("/", 1)[1]
    assert codes.parse_code(code) is not None and name.endswith("Zoë Ünal.pdf")
    phone.screenshot(path=str(tmp_path / "check.png"), full_page=True)
    context.close()
