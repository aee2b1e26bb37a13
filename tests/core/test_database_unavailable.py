"""A database that cannot be reached answers 503 with Retry-After, never a 500.

The app points at a PostgreSQL port where nothing listens, so every connection is refused, as
while the server restarts. tests/faults/test_database_restart.py restarts a real one.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.conftest import make_app, registration_data

# What a restart does to the app's connections: every backend of this database but ours ends.
KILL_THE_OTHERS = """
    SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
"""
NOBODY_LISTENS = "postgresql+psycopg://postgres@127.0.0.1:1/symposium"


@pytest.fixture
def down() -> Flask:
    return make_app(NOBODY_LISTENS)


def test_pages_answer_503_with_retry_after(down: Flask) -> None:
    response = down.test_client().get("/events/klein/?lang=en")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "cannot reach its database for a moment" in response.get_data(as_text=True)
    dutch = down.test_client().get("/events/klein/").get_data(as_text=True)
    assert "Even niet bereikbaar" in dutch


def test_the_api_answers_503_with_a_stable_code(down: Flask) -> None:
    client = down.test_client()
    for response in (
        client.get("/api/v1/events/klein"),
        client.post(
            "/api/v1/events/klein/registrations",
            json=registration_data(1),
            headers={"Idempotency-Key": "k1"},
        ),
    ):
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.json["error"]["code"] == "database_unavailable"


def test_a_signed_in_organiser_gets_the_503_page_too(down: Flask) -> None:
    """Loading the signed-in account needs the database: the 503 page must not ask for it."""
    client = down.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:any-session-token"  # User.get_id's form
        session["_fresh"] = True
    response = client.get("/admin/")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


def test_other_operational_errors_stay_500(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A statement that is wrong (here: no tables) is a bug to see, not an outage to wait out."""
    app = make_app(f"sqlite:///{tmp_path / 'empty.sqlite3'}", PROPAGATE_EXCEPTIONS=False)
    response = app.test_client().get("/api/v1/events/klein")
    assert response.status_code == 500
    assert response.json["error"]["code"] == "server_error"


def test_a_connection_the_server_dropped_is_replaced_unnoticed(client, db, small_event) -> None:
    """After a restart every pooled connection is dead; ``pool_pre_ping`` tests each one on
    checkout and reconnects, so the first request after the restart is answered normally."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): SQLite has no server to drop it")
    pid = db.session.scalar(text("SELECT pg_backend_pid()"))
    db.session.commit()  # every connection is back in the pool, where the server kills them
    outside = create_engine(db.engine.url, poolclass=NullPool)  # not from the app's pool
    with outside.connect() as other:
        killed = other.scalars(text(KILL_THE_OTHERS)).all()
    outside.dispose()
    assert killed and all(killed)
    response = client.get("/api/v1/events/klein")
    assert response.status_code == 200
    assert db.session.scalar(text("SELECT pg_backend_pid()")) != pid
