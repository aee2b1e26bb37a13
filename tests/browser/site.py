"""A demo site for the browser tests, built once per module and served on a free port.

Both example events (the 7ROSES symposium and the "Welzijn op recept" group series), an event
whose registration has closed, a few registrations in the states the manage page shows
(confirmed, waiting list, cancelled, a group), and a back-office admin. The clock stands on a
day when both example events take registrations.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from symposium.extensions import db
from symposium.models import Event, Role
from symposium.services.accounts import access, passwords
from symposium.services.certificates import codes, issuing
from symposium.services.programme.catalogue import ensure_catalogue
from symposium.services.referrals import intake
from symposium.services.registration import lifecycle, validation
from tests.conftest import (
    EXAMPLES,
    SMALL_EVENT,
    FrozenClock,
    empty_tables,
    make_app,
    registration_data,
)

# 7ROSES takes registrations from 1 Nov 2026 to 11 Mar 2027, the group series from 11 Jan.
OPEN_FOR_BOTH = datetime(2027, 1, 20, 11, 0, tzinfo=UTC)
ADMIN_EMAIL = "admin@example.org"
ADMIN_PASSWORD = "browser-test-password"
CLOSED_EVENT = SMALL_EVENT.replace('slug = "klein"', 'slug = "gesloten"').replace(
    "registration_closes_at = 2027-02-01T23:59:00", "registration_closes_at = 2026-12-01T23:59:00"
)


@dataclass
class Site:
    """A served demo site: its base URL and the names the route table fills in."""

    url: str
    app: Flask
    clock: FrozenClock
    names: dict[str, object]


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free local port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


@contextmanager
def demo_site(migrated_url: str) -> Iterator[Site]:
    """Build the demo data in emptied tables and serve it until the block ends."""
    clock = FrozenClock(OPEN_FOR_BOTH)
    app = make_app(migrated_url, CLOCK=clock)
    with app.app_context():
        empty_tables()
        ensure_catalogue(db.session)
        db.session.commit()
    with tempfile.TemporaryDirectory() as tmp:
        closed = Path(tmp) / "gesloten.toml"
        closed.write_text(CLOSED_EVENT)
        examples = [EXAMPLES / "7roses-symposium.toml", EXAMPLES / "welzijn-op-recept.toml"]
        for path in [*examples, closed]:
            result = app.test_cli_runner().invoke(args=["load-event", str(path)])
            assert result.exit_code == 0, result.output
    with app.app_context():
        names = _fill(app.config["SECRET_KEY"], clock.now)
    try:
        with serving(app) as url:
            yield Site(url=url, app=app, clock=clock, names=names)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _fill(secret: str, now: datetime) -> dict[str, object]:
    """Registrations and an admin; returns the ids and tokens the routes need."""
    roses = db.session.scalars(select(Event).where(Event.slug == "7roses-2027")).one()
    series = db.session.scalars(select(Event).where(Event.slug == "welzijn-op-recept-2027")).one()
    session = {s.key: s for s in roses.sessions}
    small, first = session["oefenen-in-kleine-groep"], session["opbouw-sessie"]

    def register(
        event: Event, n: str, sessions: list[int], profession: str
    ) -> lifecycle.RegistrationOutcome:
        data = validation.RegistrationInput(**registration_data(n, profession), sessions=sessions)
        outcome = lifecycle.register(db.session, event, data, now, secret)
        db.session.commit()
        return outcome

    for n in range(small.capacity):  # fill the small workshop: the next one waits
        register(roses, f"vol{n}", [small.id], "gz-psycholoog")
    roses_reg = register(roses, "roos", [first.id, small.id], "gz-psycholoog")
    cancelled = register(roses, "weg", [first.id], "gz-psycholoog")
    lifecycle.cancel_registration(db.session, cancelled.registration, now)
    group = next(s for s in series.sessions if s.key == "veilig-thuis")
    series_reg = register(series, "groep", [group.id], "overig")
    admin, _ = access.create_user(db.session, ADMIN_EMAIL, Role.ADMIN, now, password=ADMIN_PASSWORD)
    # A valid certificate (on the manage page too) and a revoked one that it replaced.
    standing = issuing.Standing(roses_reg.registration, True)
    old = issuing.build(roses, standing, now, serial=1)
    old.revoked_at, old.revoke_reason = now, "vervangen"
    db.session.add(old)
    db.session.flush()
    valid = issuing.build(roses, standing, now, serial=2)
    db.session.add(valid)
    db.session.flush()
    old.replaced_by_id = valid.id
    # A GP's referral to the series (its inbox and details page).
    referral = intake.refer(db.session, series, intake.ReferralInput(
        referrer_name="Dr. Test", referrer_organisation="Praktijk", referrer_profession="huisarts",
        referrer_email="gp@example.org", referrer_phone="020 123 45 67", client_name="S.",
        client_phone="0612345678", client_language="ar", contact_consent=True,
        coordinator_chooses=True, need="Voelt zich eenzaam.",
    ), now).referral  # fmt: skip
    db.session.commit()
    return {
        "referral": referral.id,
        "certificate": valid.id,
        "certificate_code": codes.format_code(valid.code),
        "revoked_code": codes.format_code(old.code),
        "roses": roses.slug,
        "series": series.slug,
        "roses_manage": roses_reg.token,
        "cancelled_manage": cancelled.token,
        "series_manage": series_reg.token,
        "roses_registration": roses_reg.registration.id,
        "roses_enrolment": roses_reg.registration.enrolments[0].id,
        "workshop": small.id,
        "plenary": session["opening"].id,
        "group": group.id,
        "round": small.round_id,
        "reset_token": passwords.reset_token(admin, secret, now),
    }
