"""Locks that cannot hang: a lock held elsewhere makes a request answer 503, never wait forever.

Another connection holds the lock for the whole request (``SELECT … FOR UPDATE`` on the row on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), and the app here waits at most LOCK_TIMEOUT_SECONDS
= 0.1, so no test sleeps: each busy request gives up after 0.1 s. On PostgreSQL the app's
connections also carry a statement_timeout, so that a missing lock timeout fails a test (500)
instead of hanging it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Engine

from symposium import ConfigError
from symposium.extensions import db as _db
from symposium.models import (
    Enrolment,
    Event,
    OutboxMessage,
    Registration,
    Role,
    Round,
    Session,
)
from symposium.services.accounts import access
from symposium.services.programme.catalogue import ensure_catalogue
from tests.conftest import (
    SMALL_EVENT,
    FreshContextClient,
    empty_tables,
    make_app,
    registration_data,
)

TIMEOUT = 0.1
PASSWORD = "correct horse battery"


@pytest.fixture
def app(migrated_url: str, clock) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """conftest's app, waiting at most TIMEOUT for a lock."""
    options: dict[str, Any] = {"pool_pre_ping": True}
    if migrated_url.startswith("postgresql"):
        options["connect_args"] = {"options": "-c statement_timeout=10000"}
    app = make_app(
        migrated_url, CLOCK=clock, LOCK_TIMEOUT_SECONDS=TIMEOUT, SQLALCHEMY_ENGINE_OPTIONS=options
    )
    app.test_client_class = FreshContextClient
    with app.app_context():
        empty_tables()
        ensure_catalogue(_db.session)
        _db.session.commit()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture(autouse=True)
def _app_context(db: Any) -> None:
    """Every test reads the database through ``_db`` (conftest's ``db`` fixture)."""


@pytest.fixture
def other_connection(migrated_url: str) -> Iterator[Engine]:
    engine = create_engine(migrated_url)
    yield engine
    engine.dispose()


@pytest.fixture
def locked(other_connection: Engine):  # type: ignore[no-untyped-def]
    """``with locked(Model, id):`` holds that row's lock (SQLite: the write lock) meanwhile."""

    @contextmanager
    def hold(model: Any, row_id: int) -> Iterator[None]:
        with other_connection.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin() as transaction:
                table = model.__table__
                conn.execute(select(table.c.id).where(table.c.id == row_id).with_for_update())
                yield
                transaction.rollback()

    return hold


def count(model: Any) -> int:
    _db.session.rollback()  # a fresh look at what was committed
    return _db.session.scalar(select(func.count()).select_from(model))


def written() -> dict[str, int]:
    return {m.__name__: count(m) for m in (Registration, Enrolment, OutboxMessage)}


def token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]


def assert_busy(response: Any) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "1"  # TIMEOUT rounded up to whole seconds


# --------------------------------------------------------------------------- registration


def test_api_registration_answers_busy_and_writes_nothing(
    client: FlaskClient, small_event: dict[str, int], locked: Any
) -> None:
    body = registration_data(1, sessions=[small_event["klein"]])
    with locked(Session, small_event["klein"]):
        response = client.post("/api/v1/events/klein/registrations", json=body)
    assert_busy(response)
    error = response.get_json()["error"]
    assert error["code"] == "busy"
    assert "Retry after 1 seconds" in error["message"]
    assert written() == {"Registration": 0, "Enrolment": 0, "OutboxMessage": 0}
    # Once the lock is free the same request goes through: nothing was left half-done.
    assert client.post("/api/v1/events/klein/registrations", json=body).status_code == 201


def test_registration_form_comes_back_with_what_was_typed(
    client: FlaskClient, small_event: dict[str, int], locked: Any
) -> None:
    url = "/events/klein/register?profession=psychiater"
    page = client.get(url).get_data(as_text=True)
    key = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', page)[1]
    round_1 = _db.session.scalar(select(Round.id).where(Round.key == "r1"))
    fields = {
        "csrf_token": token(page),
        "submission_key": key,
        "profession": "psychiater",
        "name": "Anna de Vries",
        "email": "anna@example.org",
        "organisation": "GGZ Oost",
        "identifier_BIG": "12345678901",
        "needs": "Rolstoeltoegankelijk graag",
        "consent": "y",
        f"round_{round_1}": str(small_event["klein"]),
    }
    with locked(Session, small_event["klein"]):
        response = client.post(url, data=fields)
    assert_busy(response)
    page = response.get_data(as_text=True)
    assert "Het is op dit moment erg druk, daardoor is er niets opgeslagen" in page
    for typed in ("Anna de Vries", "anna@example.org", "GGZ Oost", "12345678901", key):
        assert f'value="{typed}"' in page
    assert re.search(r'name="needs">\s*Rolstoeltoegankelijk graag</textarea>', page)
    assert re.search(rf'<input checked [^>]*value="{small_event["klein"]}"', page)
    assert re.search(r'<input checked [^>]*name="consent"', page)
    assert "Corrigeer de gemarkeerde velden" not in page  # nothing was wrong with the input
    assert written() == {"Registration": 0, "Enrolment": 0, "OutboxMessage": 0}
    # Sending the kept form again (same submission key) registers once.
    assert client.post(url, data=fields).status_code == 303
    assert count(Registration) == 1


def test_manage_page_comes_back_when_busy(
    client: FlaskClient, small_event: dict[str, int], locked: Any
) -> None:
    body = registration_data(1, sessions=[small_event["klein"]])
    manage = client.post("/api/v1/events/klein/registrations", json=body).get_json()
    url = "/r/" + manage["registration"]["manage_url"].rsplit("/r/", 1)[1]
    page = client.get(url).get_data(as_text=True)
    with locked(Session, small_event["klein"]):
        response = client.post(
            f"{url}/change", data={"csrf_token": token(page), "session_id": small_event["psy"]}
        )
    assert_busy(response)
    assert "erg druk" in response.get_data(as_text=True)
    assert "Kleine workshop" in response.get_data(as_text=True)  # their own page, as it was
    assert count(Enrolment) == 1


# --------------------------------------------------------------------------- back-office


@pytest.fixture
def organiser(client: FlaskClient, small_event: dict[str, int], clock) -> FlaskClient:  # type: ignore[no-untyped-def]
    klein = _db.session.get(Event, small_event["event"])
    access.create_user(
        _db.session, "org@example.org", Role.ORGANISER, clock.now, event=klein, password=PASSWORD
    )
    _db.session.commit()
    page = client.get("/admin/login").get_data(as_text=True)
    data = {"csrf_token": token(page), "email": "org@example.org", "password": PASSWORD}
    assert client.post("/admin/login", data=data).status_code == 303
    return client


def test_capacity_change_answers_busy_with_the_typed_capacity(
    organiser: FlaskClient, small_event: dict[str, int], locked: Any
) -> None:
    klein = small_event["klein"]
    page = organiser.get("/admin/events/klein/").get_data(as_text=True)
    form = {"csrf_token": token(page), f"s{klein}-capacity": "17"}
    with locked(Event, small_event["event"]):
        response = organiser.post(f"/admin/events/klein/sessions/{klein}/capacity", data=form)
    assert_busy(response)
    page = response.get_data(as_text=True)
    assert "erg druk" in page
    assert re.search(rf'<input [^>]*name="s{klein}-capacity"[^>]*value="17"', page)
    assert count(Session) and _db.session.get(Session, klein).capacity == 10  # unchanged


def test_event_edit_answers_busy_with_the_typed_fields(
    organiser: FlaskClient, small_event: dict[str, int], locked: Any
) -> None:
    page = organiser.get("/admin/events/klein/edit?lang=en").get_data(as_text=True)
    form = {
        "csrf_token": token(page),
        "title": "Klein symposium, nieuwe titel",
        "starts_at": "2027-02-04T09:00",
        "ends_at": "2027-02-04T17:00",
        "registration_opens_at": "2026-11-01T09:00",
        "registration_closes_at": "2027-02-01T23:59",
        "unlimited": "y",  # no total capacity, said out loud
    }
    with locked(Event, small_event["event"]):
        response = organiser.post("/admin/events/klein/edit?lang=en", data=form)
    assert_busy(response)
    page = response.get_data(as_text=True)
    assert "It is very busy at the moment, so nothing has been saved" in page  # English too
    assert 'value="Klein symposium, nieuwe titel"' in page
    assert _db.session.get(Event, small_event["event"]).title == "Klein symposium"


def test_any_other_route_answers_with_a_friendly_busy_page(
    organiser: FlaskClient, small_event: dict[str, int], locked: Any
) -> None:
    body = registration_data(1, sessions=[small_event["klein"]])
    organiser.post("/api/v1/events/klein/registrations", json=body)
    registration_id = _db.session.scalar(select(Registration.id))
    url = f"/admin/events/klein/participants/{registration_id}"
    page = organiser.get(url).get_data(as_text=True)
    with locked(Session, small_event["klein"]):
        response = organiser.post(
            f"{url}/cancel",
            data={"csrf_token": token(page)},
            headers={"Accept-Language": "en"},
        )
    assert_busy(response)
    page = response.get_data(as_text=True)
    assert "Very busy right now" in page
    assert "Please try again in 1 seconds" in page
    assert count(Registration) == 1
    assert _db.session.scalar(select(Registration.status)).value == "active"


# --------------------------------------------------------------------------- CLI


def test_load_event_says_busy_and_exits_non_zero(
    app: Flask, small_event: dict[str, int], locked: Any, tmp_path: Path
) -> None:
    path = tmp_path / "klein.toml"
    path.write_text(SMALL_EVENT.replace('title = "Klein symposium"', 'title = "Nieuw"'))
    with locked(Event, small_event["event"]):
        result = app.test_cli_runner().invoke(args=["load-event", str(path)])
    assert result.exit_code == 1
    assert "not loaded, the database is busy" in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert _db.session.get(Event, small_event["event"]).title == "Klein symposium"


# --------------------------------------------------------------------------- the settings


def test_postgresql_sets_the_timeout_inside_the_lock_statement(
    app: Flask, client: FlaskClient, small_event: dict[str, int]
) -> None:
    """No round trip of its own per registration, and only for the transaction (SET LOCAL)."""
    if _db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no lock_timeout; its busy timeout is tested below")
    statements: list[str] = []

    def record(conn, cursor, statement, *args: object) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(_db.engine, "before_cursor_execute", record)
    try:
        body = registration_data(1, sessions=[small_event["klein"]])
        assert client.post("/api/v1/events/klein/registrations", json=body).status_code == 201
    finally:
        event.remove(_db.engine, "before_cursor_execute", record)
    with_timeout = [s for s in statements if "lock_timeout" in s]
    assert with_timeout and all("FOR UPDATE" in s for s in with_timeout)
    assert not [s for s in statements if s.lstrip().upper().startswith("SET")]
    with _db.engine.connect() as conn:  # a later transaction waits as the server says again
        assert conn.execute(text("SHOW lock_timeout")).scalar() == "0"


def test_sqlite_busy_timeout_is_the_setting(app: Flask) -> None:
    with app.app_context():
        if _db.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL's lock_timeout is tested above")
        assert _db.session.execute(text("PRAGMA busy_timeout")).scalar() == 100


@pytest.mark.parametrize("value", [0, -1, "5"])
def test_lock_timeout_must_be_a_positive_number(migrated_url: str, value: object) -> None:
    with pytest.raises(ConfigError, match="LOCK_TIMEOUT_SECONDS"):
        make_app(migrated_url, LOCK_TIMEOUT_SECONDS=value)
