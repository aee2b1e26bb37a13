"""Every HTML page the app serves on GET, its address filled in from a busy day's data.

For the tests that look at all pages: tests/backoffice/test_history.py reads every back-office
and door page for status codes, tests/browser/test_phone_layout.py looks at every page on a
phone and on a desktop. The pages are read from the app's URL map, so a new page is looked at
without being listed here: a GET route that is no HTML page (a download, a calendar, JSON)
is named in NOT_PAGES with why, and :func:`pages` fails on a route whose address it cannot
fill in, so a new page cannot slip past both.

The data (:func:`busy_day`) is the demo's day at the 7ROSES symposium (symposium/demo_day.py:
check-ins, a walk-in, a paper sheet, certificates, a group series ticked per meeting), plus
what a real back-office also holds: a waiting list, a cancelled registration, a place given
up, a deletion request, a cancelled group, a revoked certificate, points set by hand, a mail
that failed before it was written, an organiser, and the door account at both events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from flask import Flask
from sqlalchemy import select, update
from werkzeug.routing import Rule

from symposium import demo_day
from symposium.extensions import db
from symposium.models import (
    Accreditation,
    Certificate,
    Event,
    OutboxMessage,
    OutboxStatus,
    Referral,
    Registration,
    Role,
)
from symposium.services.accounts import access, passwords
from symposium.services.accreditation import overrides
from symposium.services.certificates import codes, issuing
from symposium.services.privacy import deletion
from symposium.services.privacy.retention import Retention
from symposium.services.registration import details, lifecycle, links
from symposium.services.registration.validation import RegistrationInput
from tests.conftest import EXAMPLES

PASSWORD = "every-page-password"
ADMIN_EMAIL = "admin@example.org"
# While both example events take registrations, and the symposium's afternoon: round 2 runs,
# so the door pages show a session at work (15:20 in Amsterdam).
OPEN = datetime(2027, 1, 20, 11, 0, tzinfo=UTC)
DAY = datetime(2027, 3, 18, 14, 20, tzinfo=UTC)

# GET routes that are no HTML page of their own (the JSON API under /api/ is left out whole).
NOT_PAGES: dict[str, str] = {
    "static": "stylesheets, scripts, fonts",
    "programme.event_calendar": "an .ics file",
    "programme.session_calendar": "an .ics file",
    "manage.calendar_file": "an .ics file",
    "feeds.feed": "an .ics feed",
    "manage.data_download": "a JSON file",
    "manage.ticket": "a PDF file",
    "manage.certificate": "a PDF file",
    "admin.export_registrations_csv": "a CSV file",
    "admin.export_registrations_xlsx": "an XLSX file",
    "admin.export_participants_csv": "a CSV file",
    "admin.export_participants_xlsx": "an XLSX file",
    "admin.export_catering_csv": "a CSV file",
    "admin.export_catering_xlsx": "an XLSX file",
    "admin.badges_pdf": "a PDF file",
    "admin.sign_in_sheet": "a PDF file",
    "admin.accreditation_file": "a register's list: text, XLSX or PDF",
    "admin.certificate_pdf": "a PDF file",
    "admin.certificate_preview": "a PDF file",
    "admin.certificates_all": "a PDF or ZIP file",
    "door.scan_status": "JSON for the scanner script",
    "programme.event_logo": "an image (the event's logo)",
    "admin.event_logo": "the same image, for organisers",
    "programme.accent_css": "a stylesheet (the event's accent colour)",
    "programme.favicon": "a redirect to the icon",
}
# Back-office pages one sees before signing in.
SIGN_IN_PAGES = {"admin.login", "admin.password_reset", "admin.password_reset_confirm"}
# Door pages only an organiser sees.
ORGANISER_AT_THE_DOOR = {"door.walk_in"}
# A URL argument whose value depends on the page, not only on its name: (endpoint, argument)
# -> the key in the data's names.
SPECIAL = {
    ("admin.password_reset_confirm", "token"): "reset_token",
    ("manage.confirm_email", "token"): "email_token",
    ("manage.unsubscribe", "token"): "unsubscribe_token",
    ("certificates.verify", "code"): "certificate_code",
    # Only a series takes referrals: its pages exist for the series alone.
    ("referrals.refer", "slug"): "series_slug",
    ("admin.referrals", "slug"): "series_slug",
    ("admin.referral", "slug"): "series_slug",
}


@dataclass(frozen=True)
class Page:
    """One page to look at: who looks (``public``, ``admin`` or ``door``) and when."""

    endpoint: str
    url: str
    persona: str
    at: datetime


@dataclass(frozen=True)
class Variant:
    """The same page in another state worth seeing: other names, or a query string."""

    endpoint: str
    query: dict[str, str] = field(default_factory=dict)
    names: dict[str, object] = field(default_factory=dict)
    event: str = "roses"


# The states a page has that the plain address does not show.
VARIANTS = [
    Variant("registration.register", {"profession": "gz-psycholoog"}),
    Variant("registration.register", {"profession": "overig"}, event="series"),
    Variant("manage.show", names={"token": "waiting_token"}),
    Variant("manage.show", names={"token": "cancelled_token"}),
    Variant("admin.participants", {"q": "van"}),
    Variant("admin.participant", names={"registration_id": "waiting"}),
    Variant("admin.participant", names={"registration_id": "anonymised"}),
    Variant("door.session", {"q": "van"}),
    Variant("door.session", {"direction": "out"}),
    Variant("door.walk_in", {"profession": "gz-psycholoog"}),
    Variant("certificates.verify", names={"certificate_code": "revoked_code"}),
    Variant("admin.referrals", {"state": "new"}, event="series"),
]


def persona(endpoint: str) -> str:
    """Who looks: the public, an admin, or a door volunteer (who may not add walk-ins)."""
    if endpoint in ORGANISER_AT_THE_DOOR or (
        endpoint.startswith("admin.") and endpoint not in SIGN_IN_PAGES
    ):
        return "admin"
    return "door" if endpoint.startswith("door.") else "public"


def html_rules(app: Flask) -> list[Rule]:
    """The GET routes that should answer with a page."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ())
        and not rule.rule.startswith("/api/")
        and rule.endpoint not in NOT_PAGES
    ]


def _url(app: Flask, rule: Rule, names: dict[str, object], query: dict[str, str]) -> str | None:
    values = {}
    for argument in rule.arguments:
        key = SPECIAL.get((rule.endpoint, argument), argument)
        if names.get(key) is None:
            return None  # not in this event (a series has no rounds), or no such page
        values[argument] = names[key]
    path = app.url_map.bind("localhost").build(rule.endpoint, values)
    return f"{path}?{urlencode(query)}" if query else path


def pages(app: Flask, worlds: dict[str, dict[str, object]]) -> list[Page]:
    """Every page of ``html_rules`` once per event whose names fill it in, and the VARIANTS.

    ``worlds``: per event ("roses", "series"), the values of the URL arguments.
    """
    found: dict[str, Page] = {}
    unfilled = []
    for rule in sorted(html_rules(app), key=lambda r: r.endpoint):
        urls = [_url(app, rule, names, {}) for names in worlds.values()]
        if not any(urls):
            unfilled.append(rule.endpoint)
        for url in filter(None, urls):
            found.setdefault(url, _page(rule.endpoint, url))
    for variant in VARIANTS:
        names = worlds[variant.event]
        names = {**names, **{key: names[str(v)] for key, v in variant.names.items()}}
        rule = next(r for r in html_rules(app) if r.endpoint == variant.endpoint)
        url = _url(app, rule, names, variant.query)
        assert url is not None, variant
        found.setdefault(url, _page(variant.endpoint, url))
    assert not unfilled, f"name the URL arguments of these pages (or add to NOT_PAGES): {unfilled}"
    return list(found.values())


def _page(endpoint: str, url: str) -> Page:
    """Registration is looked at while it is open; everything else on the symposium's day."""
    at = OPEN if endpoint.startswith("registration.") else DAY
    return Page(endpoint, url, persona(endpoint), at)


def _person(event: Event, n: int, sessions: list[int]) -> RegistrationInput:
    """Someone extra, as a social worker (who needs no register number)."""
    return RegistrationInput(
        name=f"Extra Deelnemer {n}", email=f"extra{n}@example.org",
        profession="maatschappelijk-werker" if event.slug == demo_day.SLUG else "overig",
        organisation="Wijkteam", consent=True, sessions=sessions,
    )  # fmt: skip


def busy_day(app: Flask) -> dict[str, dict[str, object]]:
    """Load both examples, play the demo day and add the rest (see the module); commits.

    Returns the URL arguments per event (see :func:`pages`). Call in an app context on
    emptied tables with the catalogue.
    """
    for name in ("7roses-symposium.toml", "welzijn-op-recept.toml"):
        result = app.test_cli_runner().invoke(args=["load-event", str(EXAMPLES / name)])
        assert result.exit_code == 0, result.output
    secret = app.config["SECRET_KEY"]
    admin, _ = access.create_user(db.session, ADMIN_EMAIL, Role.ADMIN, OPEN, name="Demo",
                                  password=PASSWORD)  # fmt: skip
    db.session.commit()
    demo_day.run(db.session, admin, secret, PASSWORD)
    roses = db.session.scalars(select(Event).where(Event.slug == demo_day.SLUG)).one()
    series = db.session.scalars(select(Event).where(Event.slug == demo_day.SERIES)).one()
    access.grant_role(db.session, admin, "org@example.org", Role.ORGANISER, OPEN, event=roses,
                      name="Olga Organisator", password=PASSWORD)  # fmt: skip
    # The demo's door volunteer stands at the series' doors too.
    access.create_user(db.session, demo_day.DOOR_EMAIL, Role.DOOR, OPEN, event=series)
    session = {s.key: s for s in roses.sessions}
    small, first = session["oefenen-in-kleine-groep"], session["opbouw-sessie"]

    # The small workshop (5 of 8 places taken on the day) fills up and gets a waiting list.
    extra = []
    for n in range(1, 7):
        data, at = _person(roses, n, [first.id, small.id]), OPEN + timedelta(minutes=n)
        extra.append(lifecycle.register(db.session, roses, data, at, secret))
    db.session.commit()
    one, two, _three, _four, waiting, cancelled = (outcome.registration for outcome in extra)
    lifecycle.cancel_enrolment(db.session, one, one.enrolments[0].id, OPEN + timedelta(hours=1))
    lifecycle.cancel_registration(db.session, cancelled, OPEN + timedelta(hours=1))
    deletion.request_deletion(db.session, two, OPEN + timedelta(hours=2),
                              Retention.from_config(app.config))  # fmt: skip
    # The cancelled registration's mail failed before it was written: no subject yet.
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.registration_id == cancelled.id, OutboxMessage.subject == "")
        .values(status=OutboxStatus.FAILED, attempts=5, last_error="550 5.1.1 mailbox unavailable")
    )
    # A group of the series is cancelled with someone in it.
    group = next(s for s in series.sessions if s.key == "veilig-thuis")
    lifecycle.register(db.session, series, _person(series, 7, [group.id]), OPEN, secret)
    lifecycle.cancel_session(db.session, admin, group, OPEN + timedelta(hours=1))
    db.session.commit()

    jan = db.session.scalars(
        select(Registration).where(Registration.email == "demo.deelnemer2@example.org")
    ).one()
    pieter = db.session.scalars(
        select(Registration).where(Registration.email == "demo.deelnemer4@example.org")
    ).one()
    gaia = next(
        a
        for a in db.session.scalars(select(Accreditation).where(Accreditation.event_id == roses.id))
        if a.register.code == "GAIA"
    )
    overrides.set_points(db.session, admin, pieter, gaia, Decimal("5.75"),
                         "Heeft de presentielijst getekend", DAY)  # fmt: skip
    revoked = _certificate(pieter)
    issuing.revoke(db.session, admin, revoked, "Verkeerde naam", DAY)
    db.session.commit()

    amal = db.session.scalars(
        select(Registration).where(Registration.email == "demo.groep@example.org")
    ).one()
    common = {
        "reset_token": passwords.reset_token(admin, secret, DAY),
        "email_token": details.email_token(secret, jan, "jan.nieuw@example.org", DAY),
        "unsubscribe_token": links.unsubscribe_token(secret, jan),
        "certificate_code": codes.format_code(_certificate(jan).code),
        "revoked_code": codes.format_code(revoked.code),
    }
    return {
        "roses": {
            **common,
            **_person_names(jan, secret),
            "slug": roses.slug,
            "session_id": small.id,
            "round_id": small.round_id,
            "code": gaia.register.code,
            "waiting": waiting.id,
            "waiting_token": extra[4].token,
            "cancelled_token": extra[5].token,
            "anonymised": two.id,
        },
        "series": {
            **common,
            **_person_names(amal, secret),
            "slug": series.slug,
            "series_slug": series.slug,
            "session_id": amal.enrolments[0].session_id,
            # The demo's referral by a GP, contacted by the coordinator.
            "referral_id": db.session.scalars(select(Referral.id)).first(),
        },
    }


def _certificate(registration: Registration) -> Certificate:
    return db.session.scalars(
        select(Certificate).where(
            Certificate.registration_id == registration.id, Certificate.revoked_at.is_(None)
        )
    ).one()


def _person_names(registration: Registration, secret: str) -> dict[str, object]:
    """The URL arguments of one person's pages: theirs and the back-office's about them."""
    return {
        "registration_id": registration.id,
        "token": links.manage_token(secret, registration),
        "enrolment_id": next(e.id for e in registration.enrolments if e.is_live),
        "certificate_id": _certificate(registration).id,
    }
