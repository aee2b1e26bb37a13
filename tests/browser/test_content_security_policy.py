"""Every kind of page works under the Content-Security-Policy: Chromium reports no violation."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

# Runs before any page script; a violation of the policy is also an event on the document.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def test_no_page_violates_the_content_security_policy(
    browser, live_server, db, small_event, clock
) -> None:
    from symposium.models import Event, Role
    from symposium.services.accounts import access
    from symposium.services.registration import lifecycle, validation
    from tests.conftest import registration_data

    event = db.session.get(Event, small_event["event"])
    access.create_user(
        db.session, "admin@example.org", Role.ADMIN, clock.now, password="admin-password"
    )
    data = validation.RegistrationInput(**registration_data(1), sessions=[small_event["klein"]])
    done = lifecycle.register(db.session, event, data, clock.now, "test")
    db.session.commit()
    manage = f"/r/{done.token}"

    context = browser.new_context(locale="nl-NL")
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    console: list[str] = []
    page.on(
        "console",
        lambda m: console.append(m.text) if "Content Security Policy" in m.text else None,
    )
    seen: list[str] = []

    def visit(path: str) -> None:
        response = page.goto(live_server + path)
        assert response is not None and response.status < 400, path
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
        page.wait_for_load_state("load")
        seen.extend(f"{path}: {v}" for v in page.evaluate("window.__violations"))

    klein = small_event["klein"]
    for path in (
        "/",
        "/events/klein/",
        f"/events/klein/sessions/{klein}",
        "/events/klein/register",
    ):
        visit(path)
    page.get_by_label("Uw beroep").select_option("gz-psycholoog")
    page.get_by_role("button", name="Verder").click()  # the form itself
    page.wait_for_load_state("load")
    seen.extend(f"form: {v}" for v in page.evaluate("window.__violations"))
    visit(manage)
    visit("/admin/login")
    page.get_by_label("E-mailadres").fill("admin@example.org")
    page.get_by_label("Wachtwoord").fill("admin-password")
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url("**/admin/")
    for path in (
        "/admin/",
        "/admin/events/klein/",
        "/admin/events/klein/dashboard",
        f"/admin/events/klein/sessions/{klein}/participants/print",
        "/admin/users",
    ):
        visit(path)
    context.close()
    assert seen == [] and console == [], seen + console
