"""hypothesis on every public and back-office form: huge, empty, control characters, mixed
scripts, markup. No answer ≥ 500, and a refused (4xx) submission stores nothing.

Bounded and derandomised (the same examples every run) so the whole module stays fast on
SQLite and PostgreSQL; the examples mix generated text with the known troublemakers.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from symposium.extensions import db as _db
from symposium.models import Event, Role, Session
from symposium.services.accounts import access
from symposium.services.registration import lifecycle, validation
from tests.conftest import registration_data, row_counts

FUZZ = settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
PASSWORD = "correct horse battery"

NASTY = [
    "",
    " ",
    "x" * 5000,
    "9" * 5000,
    "\x00",
    "a\x00b",
    "\x1b[31mrood",
    "\x7f",
    "Piet\r\nhttp://evil.example",
    "مرحبا بالعالم",
    "Привет, мир",
    "👩🏽‍⚕️🏥",
    "漢字かなカナ",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}",
    "=1+1",
    "'; DROP TABLE registrations; --",
    "²",
    "٣",
    "-1",
    "99999999999999999999999",
    "2027-02-04T13:00",
    "\u202eevil",
]
TEXT = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=60),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=250, max_size=300),
)


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]


def fields(*names: str) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({name: TEXT for name in names})


def checked(app: Flask, send: Callable[[], object]) -> None:
    """Send one fuzzed request: no 5xx; after a 4xx every table has the rows it had."""
    with app.app_context():
        before = row_counts(_db.session)
        response = send()
        _db.session.rollback()
        assert response.status_code < 500, response.get_data(as_text=True)[:500]
        if 400 <= response.status_code < 500:
            assert row_counts(_db.session) == before, response.status_code
        _db.session.remove()


@pytest.fixture(scope="module")
def people(fuzzed_app: Flask) -> dict[str, str]:
    """An admin account and one registration in "klein" (its manage token)."""
    with fuzzed_app.app_context():
        now = fuzzed_app.config["CLOCK"]()
        access.create_user(_db.session, "admin@example.org", Role.ADMIN, now, password=PASSWORD)
        event = _db.session.scalars(select(Event).where(Event.slug == "klein")).one()
        data = validation.RegistrationInput(**registration_data("fuzz"))
        outcome = lifecycle.register(_db.session, event, data, now, "test")
        _db.session.commit()
        ids = {s.key: s.id for s in _db.session.scalars(select(Session))}
        return {"token": outcome.token, "round": str(event.rounds[0].id), **{
            k: str(v) for k, v in ids.items()}}  # fmt: skip


@pytest.fixture(scope="module")
def admin(fuzzed_app: Flask, people) -> FlaskClient:  # type: ignore[no-untyped-def]
    client = fuzzed_app.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    data = {"csrf_token": csrf(page), "email": "admin@example.org", "password": PASSWORD}
    assert client.post("/admin/login", data=data).status_code == 303
    return client


@pytest.fixture(scope="module")
def visitor(fuzzed_app: Flask) -> FlaskClient:
    return fuzzed_app.test_client()


def token_from(client: FlaskClient, url: str) -> str:
    return csrf(client.get(url).get_data(as_text=True))


@FUZZ
@given(
    values=fields("name", "email", "organisation", "phone", "needs", "identifier_BIG",
                  "submission_key", "round"),
    consent=st.booleans(),
)  # fmt: skip
def test_registration_form(fuzzed_app, visitor, people, values, consent) -> None:
    url = "/events/klein/register?profession=gz-psycholoog"
    data = {k: v for k, v in values.items() if k != "round"}
    data |= {"csrf_token": token_from(visitor, url), f"round_{people['round']}": values["round"]}
    if consent:
        data["consent"] = "y"
    checked(fuzzed_app, lambda: visitor.post(url, data=data))


@FUZZ
@given(profession=TEXT, theme=TEXT, lang=TEXT)
def test_profession_step_and_programme_filters(fuzzed_app, visitor, profession, theme, lang):
    query = {"profession": profession, "theme": theme, "lang": lang}
    checked(fuzzed_app, lambda: visitor.get("/events/klein/register", query_string=query))
    checked(fuzzed_app, lambda: visitor.get("/events/klein/", query_string=query))


@FUZZ
@given(
    action=st.sampled_from(["change", "cancel-session", "cancel", "feed/renew", "delete"]),
    value=TEXT,
)
def test_manage_page_actions(fuzzed_app, visitor, people, action, value) -> None:
    base = f"/r/{people['token']}"
    data = {"csrf_token": token_from(visitor, base), "session_id": value, "enrolment_id": value,
            "confirm": value}  # fmt: skip
    if action in ("cancel", "delete"):
        # never the real cancellation or deletion: the next examples need the registration
        data["confirm"] = ""
    checked(fuzzed_app, lambda: visitor.post(f"{base}/{action}", data=data))


@FUZZ
@given(values=fields("email", "password"), reset=TEXT, token=TEXT)
def test_sign_in_and_password_reset(fuzzed_app, visitor, values, reset, token) -> None:
    data = values | {"csrf_token": token_from(visitor, "/admin/login")}
    checked(fuzzed_app, lambda: visitor.post("/admin/login", data=data))
    data = {"email": reset, "csrf_token": token_from(visitor, "/admin/password-reset")}
    checked(fuzzed_app, lambda: visitor.post("/admin/password-reset", data=data))
    checked(fuzzed_app, lambda: visitor.get("/admin/password-reset/" + token.replace("/", "")))


@FUZZ
@given(query=fields("q", "sort", "desc", "page"))
def test_participant_search(fuzzed_app, admin, query) -> None:
    checked(fuzzed_app, lambda: admin.get("/admin/events/klein/participants/", query_string=query))


@FUZZ
@given(
    values=fields("title", "subtitle", "description", "audience", "objectives", "venue",
                  "address", "starts_at", "ends_at", "registration_opens_at",
                  "registration_closes_at", "capacity"),
)  # fmt: skip
def test_event_edit_form(fuzzed_app, admin, values) -> None:
    url = "/admin/events/bewerk/edit"
    data = values | {"csrf_token": token_from(admin, url)}
    checked(fuzzed_app, lambda: admin.post(url, data=data))


@FUZZ
@given(
    values=fields("title", "description", "room", "starts_at", "ends_at", "capacity", "hours",
                  "professions", "quota_huisarts", "key", "kind", "round_id"),
    which=st.sampled_from(["edit", "new", "round", "capacity", "user"]),
)  # fmt: skip
def test_session_round_capacity_and_user_forms(fuzzed_app, admin, people, values, which):
    session = people["klein"]
    url = {
        "edit": f"/admin/events/bewerk/sessions/{session}/edit",
        "new": "/admin/events/bewerk/sessions/new",
        "round": "/admin/events/bewerk/rounds/new",
        "capacity": f"/admin/events/klein/sessions/{session}/capacity",
        "user": "/admin/users",
    }[which]
    page = "/admin/users" if which == "user" else "/admin/events/bewerk/edit"
    data = values | {"csrf_token": token_from(admin, page), "email": values["title"]}
    data |= {"name": values["room"], "role": values["kind"], "event": values["key"]}
    checked(fuzzed_app, lambda: admin.post(url, data=data))
