"""Security headers on a sample of every kind of route (symposium/security_headers.py)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from symposium.config import ROOT
from symposium.models import Role
from symposium.services.accounts import access
from tests.conftest import FreshContextClient, make_app, registration_data

PASSWORD = "correct horse battery"


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]


@pytest.fixture
def routes(client: FlaskClient, db, small_event, clock) -> dict[str, str]:
    """A signed-in admin client's view of: public pages, a manage page, the back-office."""
    body = registration_data(1, sessions=[small_event["klein"]])
    answer = client.post("/api/v1/events/klein/registrations", json=body)
    manage = urlsplit(answer.get_json()["registration"]["manage_url"]).path
    access.create_user(db.session, "admin@example.org", Role.ADMIN, clock.now, password=PASSWORD)
    db.session.commit()
    page = client.get("/admin/login").get_data(as_text=True)
    data = {"csrf_token": csrf(page), "email": "admin@example.org", "password": PASSWORD}
    assert client.post("/admin/login", data=data).status_code == 303
    klein = small_event["klein"]
    return {
        "/": "public",
        "/events/klein/": "public",
        "/events/klein/register": "public",
        "/events/klein/calendar.ics": "public",
        "/api/v1/events/klein": "public",
        "/static/css/site.css": "public",
        "/no-such-page": "public",
        manage: "personal",
        f"{manage}/calendar.ics": "personal",
        "/admin/": "personal",
        "/admin/login": "personal",
        "/admin/events/klein/": "personal",
        "/admin/events/klein/registrations.csv": "personal",
        f"/admin/events/klein/sessions/{klein}/participants/print": "personal",
    }


def test_every_route_sends_the_security_headers(client: FlaskClient, routes) -> None:
    for path, kind in routes.items():
        response = client.get(path)
        assert response.status_code < 500, path
        headers = response.headers
        policy = headers["Content-Security-Policy"]
        for directive in (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "base-uri 'none'",
            "object-src 'none'",
        ):
            assert directive in policy, (path, directive)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "same-origin", path
        assert headers["X-Frame-Options"] == "DENY", path
        assert "Strict-Transport-Security" not in headers, path  # plain HTTP
        no_store = "no-store" in headers.get("Cache-Control", "")
        assert no_store == (kind == "personal"), (path, headers.get("Cache-Control"))


def test_api_answers_about_a_registration_are_not_stored(client, small_event) -> None:
    body = registration_data(2, sessions=[small_event["klein"]])
    response = client.post("/api/v1/events/klein/registrations", json=body)
    assert response.status_code == 201
    assert "no-store" in response.headers["Cache-Control"]
    assert "public" not in response.headers["Cache-Control"]


def test_hsts_only_over_https(client: FlaskClient) -> None:
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/").headers


@pytest.mark.parametrize(("secure", "expected"), [(True, True), (False, False)])
def test_the_language_cookie_is_secure_with_secure_cookies(
    migrated_url, clock, secure: bool, expected: bool
) -> None:
    app = make_app(migrated_url, CLOCK=clock, SECURE_COOKIES=secure)
    app.test_client_class = FreshContextClient
    response = app.test_client().get("/?lang=en")
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("lang=")]
    assert ("; Secure" in cookie) is expected


TEMPLATES = ROOT / "templates"
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:|<style\b|\sstyle\s*=", re.I
)


@pytest.mark.parametrize(
    "path",
    sorted(p for p in TEMPLATES.rglob("*.html") if "mail" not in p.relative_to(TEMPLATES).parts),
    ids=lambda p: str(Path(p).relative_to(TEMPLATES)),
)
def test_no_template_has_inline_script_or_style(path: Path) -> None:
    """The policy would block them (mail is not served by the site, so it may keep its own)."""
    assert not INLINE.search(path.read_text()), path
