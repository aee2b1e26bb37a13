"""Fixtures: the suite runs on SQLite, or on PostgreSQL when TEST_DATABASE_URL is set.

The schema is built once per run by the Alembic migrations (so every test also exercises
them); each test then starts from empty tables plus the catalogue.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from flask_sqlalchemy import SQLAlchemy
from icalendar import Calendar
from sqlalchemy import create_engine, text

from symposium import create_app
from symposium.config import ROOT, normalise_database_url
from symposium.extensions import db as _db
from symposium.models import Base
from symposium.services.programme import calendar
from symposium.services.programme.catalogue import ensure_catalogue
from tests.programme import caldav, ical_check

EXAMPLES = ROOT / "examples"


class FrozenClock:
    """An injectable clock: tests set ``now`` instead of sleeping or patching."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FreshContextClient(FlaskClient):
    """A test client whose every request starts with an empty ``g``.

    The ``db`` fixture keeps an app context pushed for the whole test, and Flask reuses a
    pushed app context for requests, so without this ``g`` (and Flask-Babel's cached locale)
    would leak from one request into the next, which never happens in production.
    """

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if has_app_context():
            vars(g).clear()
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    url = normalise_database_url(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def make_app(database_url: str, **config: object) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": database_url,
            "RATELIMIT_ENABLED": False,
            # Links in mail rendered by the delivery worker: the test client's host.
            "BASE_URL": "http://localhost",
            **config,
        }
    )


@pytest.fixture(scope="session")
def migrated_url(database_url: str) -> str:
    app = make_app(database_url)
    with app.app_context():
        upgrade()
        _db.engine.dispose()
    return database_url


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[caldav.Radicale]:
    """One Radicale CalDAV server for the run (started when the first calendar is stored)."""
    server = caldav.Radicale(tmp_path_factory.mktemp("radicale"))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def calendars_filed(radicale: caldav.Radicale, monkeypatch: pytest.MonkeyPatch) -> Iterator[list]:
    """Every calendar the code writes during a test is stored in Radicale and checked by libical.

    Hooked where every calendar is written (``calendar.serialise``), so no invitation, update,
    cancellation, download or feed escapes: one the server refuses (or libical faults, when
    installed) fails the test that wrote it, at its teardown. Identical bytes are checked once
    per run. Yields the list of calendars written, for tests that look at them.
    """
    written: list[bytes] = []
    serialise = calendar.serialise

    def recorded(cal: Calendar) -> bytes:
        data = serialise(cal)
        written.append(data)
        return data

    monkeypatch.setattr(calendar, "serialise", recorded)
    yield written
    problems = []
    for ical in dict.fromkeys(written):
        digest = hashlib.sha256(ical).digest()
        if digest in radicale.checked:
            continue
        radicale.checked.add(digest)
        problems += radicale.store(ical)
        if ical_check.library() is not None:
            problems += ical_check.errors(ical) + ical_check.line_errors(ical)
    if problems:
        pytest.fail("calendar refused:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))


@pytest.fixture
def app(migrated_url: str, clock: FrozenClock) -> Iterator[Flask]:
    app = make_app(migrated_url, CLOCK=clock)
    app.test_client_class = FreshContextClient
    with app.app_context():
        empty_tables()
        ensure_catalogue(_db.session)
        _db.session.commit()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def empty_tables() -> None:
    tables = Base.metadata.sorted_tables
    if _db.engine.dialect.name == "postgresql":
        names = ", ".join(t.name for t in tables)
        _db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(tables):
            _db.session.execute(table.delete())
    _db.session.commit()


def row_counts(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Rows per table, in one query: a refused request must leave every count as it was."""
    tables = Base.metadata.sorted_tables
    counts = ", ".join(f"(SELECT count(*) FROM {t.name})" for t in tables)
    row = session.execute(text(f"SELECT {counts}")).one()
    return dict(zip((t.name for t in tables), row, strict=True))


@pytest.fixture(scope="module")
def fuzzed_app(migrated_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app for a module of fuzz cases: SMALL_EVENT loaded (open at the clock), plus the
    same event as "bewerk" for edit forms to change without closing "klein"."""
    app = make_app(migrated_url, CLOCK=FrozenClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC)))
    app.test_client_class = FreshContextClient
    folder = tmp_path_factory.mktemp("fuzz")
    with app.app_context():
        empty_tables()
        ensure_catalogue(_db.session)
        _db.session.commit()
    for slug in ("klein", "bewerk"):
        path = folder / f"{slug}.toml"
        path.write_text(SMALL_EVENT.replace('slug = "klein"', f'slug = "{slug}"'))
        result = app.test_cli_runner().invoke(args=["load-event", str(path)])
        assert result.exit_code == 0, result.output
    yield app
    with app.app_context():
        _db.session.remove()
        empty_tables()
        _db.engine.dispose()


@pytest.fixture
def db(app: Flask) -> Iterator[SQLAlchemy]:
    with app.app_context():
        yield _db


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def load_example(app: Flask):  # type: ignore[no-untyped-def]
    """Load an example file through the CLI, as an organiser would."""

    def load(name: str | Path) -> str:
        path = name if isinstance(name, Path) else EXAMPLES / name
        result = app.test_cli_runner().invoke(args=["load-event", str(path)])
        assert result.exit_code == 0, result.output
        return result.output

    return load


# A small event whose numbers the tests know: registration is open at the fixed clock
# (2026-11-23 12:00 UTC). "klein" has 10 places of which at most 2 for GPs (huisarts);
# "psy" is only for psychiatrists and GZ-psychologists; "groot" has no limit.
SMALL_EVENT = """
slug = "klein"
title = "Klein symposium"
status = "published"
starts_at = 2027-02-04T09:00:00
ends_at = 2027-02-04T17:00:00
registration_opens_at = 2026-11-01T09:00:00
registration_closes_at = 2027-02-01T23:59:00
languages = ["nl", "en"]

[organiser]
name = "Testorganisatie"
email = "info@example.org"

[[rounds]]
key = "r1"
title = "Ronde 1"
starts_at = 2027-02-04T13:00:00
ends_at = 2027-02-04T14:30:00

[[rounds]]
key = "r2"
title = "Ronde 2"
starts_at = 2027-02-04T15:00:00
ends_at = 2027-02-04T16:30:00

[[sessions]]
key = "opening"
kind = "plenary"
title = "Opening"
starts_at = 2027-02-04T09:30:00
ends_at = 2027-02-04T10:30:00
hours = 1.0

[[sessions]]
key = "klein"
title = "Kleine workshop"
round = "r1"
capacity = 10
quotas = { huisarts = 2 }
hours = 1.5

[[sessions]]
key = "psy"
title = "Alleen psy"
round = "r1"
capacity = 5
professions = ["psychiater", "gz-psycholoog"]
hours = 1.5

[[sessions]]
key = "groot"
title = "Grote workshop"
round = "r2"
hours = 1.5

[[sessions]]
key = "ook-r2"
title = "Andere workshop ronde 2"
round = "r2"
capacity = 1
hours = 1.5

# Doctors' points through GAIA (by BIG number), psychologists' through the NIP.
[[accreditations]]
register = "GAIA"
activity_id = "123456"

[[accreditations]]
register = "NIP"
activity_id = "NIP-2027-001"
"""


@pytest.fixture
def small_event(app: Flask, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Load SMALL_EVENT; returns {session key: session id} plus "event" -> event id."""
    from sqlalchemy import select

    from symposium.models import Event, Session

    path = tmp_path / "klein.toml"
    path.write_text(SMALL_EVENT)
    result = app.test_cli_runner().invoke(args=["load-event", str(path)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        ids = dict(_db.session.execute(select(Session.key, Session.id)).all())
        ids["event"] = _db.session.scalar(select(Event.id).where(Event.slug == "klein"))
    return ids


@pytest.fixture
def event(db, small_event):  # type: ignore[no-untyped-def]
    """The SMALL_EVENT as an Event."""
    from symposium.models import Event

    return db.session.get(Event, small_event["event"])


@pytest.fixture
def register(db, event, clock):  # type: ignore[no-untyped-def]
    """Register person ``n`` in these sessions (ids) and commit, as a view would."""
    from symposium.services.registration import lifecycle
    from symposium.services.registration.validation import RegistrationInput

    def register(n, *session_ids, profession="gz-psycholoog", **extra):  # type: ignore[no-untyped-def]
        data = RegistrationInput(**registration_data(n, profession, **extra))
        data.sessions = list(session_ids)
        outcome = lifecycle.register(db.session, event, data, clock.now, "test")
        db.session.commit()
        return outcome

    return register


def registration_data(n: int | str, profession: str = "gz-psycholoog", **extra: object) -> dict:
    """A valid API/service registration body for person ``n``."""
    # A doctor's BIG number (GAIA) and an NIP number: each profession keeps what the small
    # event's registers (GAIA, NIP) ask of it.
    identifiers = (
        {"BIG": "12345678901", "NIP": "NIP-00012345"}
        if profession not in ("overig", "basispsycholoog")
        else {}
    )
    return {
        "name": f"Deelnemer {n}",
        "email": f"deelnemer{n}@example.org",
        "profession": profession,
        "identifiers": identifiers,
        "consent": True,
        **extra,
    }
