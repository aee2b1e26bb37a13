"""A published series (the Welzijn op recept example) with its coordinator, and the people who
must not see its referrals: an admin (who may), an organiser of a symposium, a door account of
the series, an organiser of another series."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from symposium.models import Event, Referral, Role
from symposium.services.accounts import access
from symposium.services.referrals import intake
from tests.backoffice.test_admin import PASSWORD
from tests.conftest import EXAMPLES

SLUG = "welzijn-op-recept-2027"
OTHER = "andere-reeks"


@pytest.fixture
def series(app, db, load_example, tmp_path) -> Event:  # type: ignore[no-untyped-def]
    load_example("welzijn-op-recept.toml")
    load_example("7roses-symposium.toml")
    other = (EXAMPLES / "welzijn-op-recept.toml").read_text().replace(SLUG, OTHER)
    path = tmp_path / "andere.toml"
    path.write_text(other.replace('logo = "welzijn-op-recept-logo.png"', ""))
    load_example(path)
    return db.session.scalars(select(Event).where(Event.slug == SLUG)).one()


@pytest.fixture
def people(db, series, clock) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """coordinator (organiser of the series), admin, symposium (organiser of 7ROSES), door
    (door of the series), other (organiser of another series)."""
    events = {e.slug: e for e in db.session.scalars(select(Event))}
    made = {}
    for key, role, slug in [
        ("coordinator", Role.ORGANISER, SLUG),
        ("admin", Role.ADMIN, None),
        ("symposium", Role.ORGANISER, "7roses-2027"),
        ("door", Role.DOOR, SLUG),
        ("other", Role.ORGANISER, OTHER),
    ]:
        made[key], _ = access.create_user(
            db.session, f"{key}@example.org", role, clock.now, event=events.get(slug),
            name=key.title(), password=PASSWORD,
        )  # fmt: skip
    db.session.commit()
    return made


def form_data(**changes: object) -> dict[str, object]:
    """A valid referral as the form sends it (csrf and key added by :func:`post_referral`)."""
    data: dict[str, object] = {
        "referrer_name": "Dr. Anna Huisarts",
        "referrer_organisation": "Praktijk De Linde",
        "referrer_profession": "huisarts",
        "referrer_email": "anna@praktijk.example.org",
        "referrer_phone": "020 555 12 34",
        "agb_code": "01234567",
        "client_name": "Samira",
        "client_phone": "06 11 22 33 44",
        "client_email": "",
        "client_language": "ar",
        "themes": ["eenzaamheid"],
        "need": "Slaapt slecht sinds de scheiding, piekert veel.",
        "contact_consent": "y",
        "feedback_consent": "y",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def fresh_form(client, slug: str = SLUG) -> dict[str, str]:  # type: ignore[no-untyped-def]
    page = client.get(f"/events/{slug}/refer").get_data(as_text=True)
    return {
        "csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1],
        "submission_key": re.search(r'name="submission_key" type="hidden" value="([^"]+)"',
                                    page)[1],
    }  # fmt: skip


def post_referral(client, hidden: dict[str, str] | None = None, **changes: object):  # type: ignore[no-untyped-def]
    hidden = hidden or fresh_form(client)
    return client.post(f"/events/{SLUG}/refer?lang=en", data={**hidden, **form_data(**changes)})


def make_referral(db, series, now, **changes: object) -> Referral:  # type: ignore[no-untyped-def]
    """A referral straight through the service (committed)."""
    values: dict[str, Any] = {
        "referrer_name": "Dr. Bas", "referrer_organisation": "Praktijk Oost",
        "referrer_profession": "huisarts", "referrer_email": "bas@praktijk.example.org",
        "referrer_phone": "020 555 00 00", "client_name": "K.L.", "client_phone": "0612345678",
        "client_language": "tr", "themes": ["taal"], "contact_consent": True,
        "feedback_consent": True, "need": "Eenzaam en somber.", "language": "en",
    }  # fmt: skip
    values.update(changes)
    referral = intake.refer(db.session, series, intake.ReferralInput(**values), now).referral
    db.session.commit()
    return referral
