"""axe-core finds no serious or critical violation on any page, on a phone and on a desktop,
and no page scrolls sideways on either.

Every page is one ``Page`` in PAGES: a path (filled in from the demo site's names), who looks
at it (``public`` or signed in as ``admin``), and optionally what to do first (submit a form
with mistakes, so the errors are checked too). A new page is one more line;
``test_every_page_is_in_the_table`` fails when a GET route of the app is in neither PAGES
nor NOT_PAGES, so a page cannot be added without being checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from flask import render_template
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from symposium.extensions import db
from symposium.models import Event, Registration, Session, User
from symposium.services.checkin import presence
from symposium.services.checkin.presence import Direction
from tests.backoffice import every_page
from tests.browser import axe
from tests.browser.site import ADMIN_EMAIL, ADMIN_PASSWORD, Site

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@dataclass(frozen=True)
class Page:
    """One page to check: ``path`` may name the demo site's ids as ``{name}``."""

    name: str
    path: str
    persona: str = "public"
    status: int = 200
    # Done on the loaded page before the audit: fill in and submit a form, say.
    act: Callable[[Any], None] | None = None
    # A template to render at ``path`` instead of asking the app (pages that only an
    # outage shows); the page still loads the site's own stylesheet.
    template: tuple[str, dict[str, Any]] | None = field(default=None)


def submit(page: Any, button: str) -> None:
    """Press the (first) button named ``button`` and wait for the answer."""
    with page.expect_navigation():
        page.get_by_role("button", name=button).first.click()


def register_with_mistakes(page: Any) -> None:
    page.get_by_label("E-mailadres").fill("geen adres")
    submit(page, "Inschrijven")


def register_again(page: Any) -> None:
    """The address of an existing registration: the 'check your e-mail' page."""
    page.get_by_label("Volledige naam").fill("Deelnemer roos")
    page.get_by_label("E-mailadres").fill("deelnemerroos@example.org")
    page.get_by_label("NIP-lidnummer").fill("NIP-00012345")
    page.get_by_label("Ik ga ermee akkoord", exact=False).check()
    submit(page, "Inschrijven")


def sign_in_wrongly(page: Any) -> None:
    page.get_by_label("E-mailadres").fill(ADMIN_EMAIL)
    page.get_by_label("Wachtwoord").fill("not the password")
    submit(page, "Inloggen")


def cancel_unconfirmed(page: Any) -> None:
    submit(page, "Inschrijving annuleren")


def walk_in_with_mistakes(page: Any) -> None:
    page.get_by_label("E-mailadres").fill("geen adres")
    submit(page, "Toevoegen en inchecken")


def clear_title(page: Any) -> None:
    page.get_by_label("Titel").first.fill("")
    submit(page, "Opslaan")


def wrong_phone(page: Any) -> None:
    page.get_by_label("Telefoonnummer (optioneel)").fill("bel mij")
    submit(page, "Gegevens opslaan")


def preview_message(page: Any) -> None:
    page.get_by_label("Onderwerp").fill("Andere zaal")
    page.get_by_label("Bericht").fill("De workshop is verplaatst.\n\nTot donderdag!")
    submit(page, "Voorbeeld")


def refer_with_mistakes(page: Any) -> None:
    """The referral form sent empty: every required field and the consent refused."""
    with page.expect_navigation():
        page.locator("form.stacked button[type=submit]").click()


def mismatched_passwords(page: Any) -> None:
    page.get_by_label("Nieuw wachtwoord").fill("kort")
    submit(page, "Wachtwoord opslaan")


ROSES, SERIES = "/events/{roses}", "/events/{series}"
ADMIN_ROSES = "/admin/events/{roses}"
PAGES = [
    # Public pages
    Page("programme list", "/"),
    Page("7ROSES event page", f"{ROSES}/"),
    Page("7ROSES filtered", f"{ROSES}/?theme=no-such-theme"),
    Page("group-series event page", f"{SERIES}/"),
    Page("workshop page", f"{ROSES}/sessions/{{workshop}}"),
    Page("plenary page", f"{ROSES}/sessions/{{plenary}}"),
    Page("group page", f"{SERIES}/sessions/{{group}}"),
    Page("not found", "/no-such-page", status=404),
    Page("unknown event", "/events/no-such-event/", status=404),
    Page("busy", "/busy", status=200, template=("errors/503.html", {"retry_after": 5})),
    Page("too many attempts", "/slow-down", template=("errors/429.html", {"retry_after": 30})),
    Page("server error", "/oops", template=("errors/500.html", {})),
    # Registration
    Page("profession step", f"{ROSES}/register"),
    Page("profession step, unknown", f"{ROSES}/register?profession=nope"),
    Page("registration form", f"{ROSES}/register?profession=gz-psycholoog"),
    Page(
        "registration form with errors",
        f"{ROSES}/register?profession=gz-psycholoog",
        act=register_with_mistakes,
    ),
    Page("group registration form", f"{SERIES}/register?profession=overig"),
    Page(
        "group registration form with errors",
        f"{SERIES}/register?profession=overig",
        act=register_with_mistakes,
    ),
    Page("already registered", f"{ROSES}/register?profession=gz-psycholoog", act=register_again),
    Page("registration closed", "/events/gesloten/register", status=409),
    # Referral by a professional (a series only)
    Page("referral form", f"{SERIES}/refer"),
    Page("referral form with errors", f"{SERIES}/refer", act=refer_with_mistakes),
    # The manage page (its <details> are opened, so the switch forms are checked too)
    Page("confirmation", "/r/{roses_manage}?new=1"),
    Page("manage page", "/r/{roses_manage}"),
    Page("manage page, cancel not confirmed", "/r/{roses_manage}", act=cancel_unconfirmed),
    Page("give up a place, asked first", "/r/{roses_manage}/cancel-session/{roses_enrolment}"),
    Page("manage page, group", "/r/{series_manage}"),
    Page("manage page, cancelled", "/r/{cancelled_manage}"),
    Page("deletion, confirm first", "/r/{roses_manage}/delete"),
    Page("deletion done", "/r/deleted"),
    Page("privacy statement", "/privacy"),
    Page("event privacy statement", f"{ROSES}/privacy"),
    Page("series privacy statement", f"{SERIES}/privacy"),
    Page("your details", "/r/{roses_manage}/details"),
    Page("your details with errors", "/r/{roses_manage}/details", act=wrong_phone),
    Page("confirm a new address", "/r/confirm-email/not-a-link"),
    Page("unsubscribe, unknown link", "/r/unsubscribe/1.not-a-link", status=404),
    # Back-office
    Page("sign in", "/admin/login"),
    Page("sign in, wrong password", "/admin/login", act=sign_in_wrongly),
    Page("password reset", "/admin/password-reset"),
    Page("new password", "/admin/password-reset/{reset_token}"),
    Page(
        "new password with errors", "/admin/password-reset/{reset_token}", act=mismatched_passwords
    ),
    Page("reset link expired", "/admin/password-reset/expired", status=404),
    Page("back-office home", "/admin/", "admin"),
    Page("accounts", "/admin/users", "admin"),
    Page("new event", "/admin/events/new", "admin"),
    Page("event", f"{ADMIN_ROSES}/", "admin"),
    Page("event edit", f"{ADMIN_ROSES}/edit", "admin"),
    Page("event edit with errors", f"{ADMIN_ROSES}/edit", "admin", act=clear_title),
    Page("new round", f"{ADMIN_ROSES}/rounds/new", "admin"),
    Page("round edit", f"{ADMIN_ROSES}/rounds/{{round}}/edit", "admin"),
    Page("new session", f"{ADMIN_ROSES}/sessions/new", "admin"),
    Page("session edit", f"{ADMIN_ROSES}/sessions/{{workshop}}/edit", "admin"),
    Page("dashboard", f"{ADMIN_ROSES}/dashboard", "admin"),
    Page("participants", f"{ADMIN_ROSES}/participants/", "admin"),
    Page("participants search", f"{ADMIN_ROSES}/participants/?q=roos", "admin"),
    Page("participant", f"{ADMIN_ROSES}/participants/{{roses_registration}}", "admin"),
    Page("audit log", f"{ADMIN_ROSES}/audit", "admin"),
    Page("referral inbox", "/admin/events/{series}/referrals", "admin"),
    Page("referral", "/admin/events/{series}/referrals/{referral}", "admin"),
    Page("paper sheet entry", f"{ADMIN_ROSES}/sessions/{{workshop}}/paper", "admin"),
    Page("name badges", f"{ADMIN_ROSES}/badges", "admin"),
    Page("exports", f"{ADMIN_ROSES}/exports", "admin"),
    Page("privacy statement, organiser's part", f"{ADMIN_ROSES}/privacy", "admin"),
    Page("messages to registrants", f"{ADMIN_ROSES}/messages", "admin"),
    Page("message preview", f"{ADMIN_ROSES}/messages", "admin", act=preview_message),
    Page(
        "exports, unknown separator",
        f"{ADMIN_ROSES}/registrations.csv?delimiter=tab",
        "admin",
        status=422,
    ),
    Page("session presence", f"{ADMIN_ROSES}/sessions/{{workshop}}/presence", "admin"),
    Page("accreditation", f"{ADMIN_ROSES}/accreditation", "admin"),
    Page("attendance list", f"{ADMIN_ROSES}/accreditation/GAIA", "admin"),
    Page("new accreditation", f"{ADMIN_ROSES}/accreditation/new", "admin"),
    Page("accreditation edit", f"{ADMIN_ROSES}/accreditation/NIP/edit", "admin"),
    Page("certificates", f"{ADMIN_ROSES}/certificates", "admin"),
    Page("certificate revoke", f"{ADMIN_ROSES}/certificates/{{certificate}}/revoke", "admin"),
    # The public check of a certificate
    Page("certificate check", "/certificates/{certificate_code}"),
    Page("revoked certificate check", "/certificates/{revoked_code}"),
    Page("unknown certificate", "/certificates/AAAAA-BBBBB-CCCCC-DDDDD", status=404),
    Page("certificate lookup", "/certificates"),
    Page("certificate lookup with errors", "/certificates?code=abc", status=422),
    Page(
        "name badges, backwards",
        f"{ADMIN_ROSES}/badges.pdf?layout=a6&first=M&last=C",
        "admin",
        status=422,
    ),
    # The door (check-in): the session picker and one session's door, with a name search
    Page("door, sessions", "/door/{roses}/", "admin"),
    Page("door", "/door/{roses}/sessions/{workshop}/", "admin"),
    Page("door, exit", "/door/{roses}/sessions/{workshop}/?direction=out", "admin"),
    Page("door, name search", "/door/{roses}/sessions/{workshop}/?q=deelnemer", "admin"),
    Page("door, name too short", "/door/{roses}/sessions/{workshop}/?q=de", "admin"),
    Page("walk-in, profession", "/door/{roses}/sessions/{workshop}/walk-in", "admin"),
    Page(
        "walk-in form",
        "/door/{roses}/sessions/{workshop}/walk-in?profession=gz-psycholoog",
        "admin",
    ),
    Page(
        "walk-in form with errors",
        "/door/{roses}/sessions/{workshop}/walk-in?profession=gz-psycholoog",
        "admin",
        act=walk_in_with_mistakes,
    ),
    # ... and each answer of a scan (made by ``door_scans`` below), at a glance
    Page("door, welcome", "/door/{roses}/sessions/{workshop}/?scan=door-green", "admin"),
    Page(
        "door, another workshop", "/door/{roses}/sessions/{door_chime}/?scan=door-orange", "admin"
    ),
    Page("door, refused", "/door/{roses}/sessions/{workshop}/?scan=door-red", "admin"),
    Page("door, scanned before", "/door/{roses}/sessions/{workshop}/?scan=door-grey", "admin"),
    Page(
        "door, checked out",
        "/door/{roses}/sessions/{workshop}/?scan=door-out&direction=out",
        "admin",
    ),
    # An A4 sheet to sign on paper: on a phone its table scrolls in its own box.
    Page("signature sheet", f"{ADMIN_ROSES}/sessions/{{workshop}}/participants/print", "admin"),
]

# GET routes that are no page of their own: files, feeds, JSON (one list for every test that
# walks all pages, with why each is left out).
NOT_PAGES = set(every_page.NOT_PAGES)


def door_scans(site: Site) -> None:
    """A scan of each colour at the 7ROSES doors, each made at its session's start."""
    with site.app.app_context():
        roses = db.session.scalars(select(Event).where(Event.slug == site.names["roses"])).one()
        chime = next(s for s in roses.sessions if s.key == "chime-in-de-praktijk")
        workshop = db.session.get(Session, site.names["workshop"])
        admin = db.session.scalars(select(User).where(User.email == ADMIN_EMAIL)).one()
        full = db.session.scalars(
            select(Registration).where(Registration.email == "deelnemervol1@example.org")
        ).one()  # a place in the workshop
        roos = db.session.get(Registration, site.names["roses_registration"])  # waits there
        for session, client_id, registration, direction, minutes in [
            (workshop, "door-green", full, Direction.IN, 2),
            (workshop, "door-grey", full, Direction.IN, 3),
            (workshop, "door-red", roos, Direction.IN, 4),
            (chime, "door-orange", roos, Direction.IN, 2),  # her place: another workshop
            (workshop, "door-out", full, Direction.OUT, 40),
        ]:
            at = session.effective_starts_at + timedelta(minutes=minutes)
            presence.scan(
                db.session, admin, session, client_id=client_id, now=at,
                code=registration.checkin_code, direction=direction,
            )  # fmt: skip
        db.session.commit()
        site.names["door_chime"] = chime.id


@pytest.fixture(scope="module")
def site(site: Site) -> Site:
    """The demo site (tests/browser/conftest.py), plus the door scans of ``door_scans``."""
    door_scans(site)
    return site


@pytest.fixture(scope="module")
def tabs(browser, site: Site) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """One tab per persona, reused by every page (signed in once for ``admin``)."""
    made = {}
    for persona in ("public", "admin"):
        context = browser.new_context(locale="nl-NL", bypass_csp=True)
        axe.inject(context)
        made[persona] = context.new_page()
    admin = made["admin"]
    admin.goto(f"{site.url}/admin/login")
    admin.get_by_label("E-mailadres").fill(ADMIN_EMAIL)
    admin.get_by_label("Wachtwoord").fill(ADMIN_PASSWORD)
    submit(admin, "Inloggen")
    assert admin.url.rstrip("/").endswith("/admin"), admin.url
    yield made
    for tab in made.values():
        tab.context.close()


def open_page(tab: Any, site: Site, spec: Page) -> None:
    """Load ``spec`` in ``tab``, do its action, and open every <details>."""
    url = site.url + spec.path.format(**site.names)
    if spec.template is not None:
        name, values = spec.template
        with site.app.test_request_context(spec.path):
            html = render_template(name, **values)
        tab.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
    try:
        response = tab.goto(url)
    finally:
        tab.unroute_all()
    assert response is not None and response.status == spec.status, (spec.name, tab.url)
    if spec.act is not None:
        spec.act(tab)
    tab.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true })")


@pytest.mark.parametrize("spec", PAGES, ids=[p.name for p in PAGES])
def test_no_serious_violation(spec: Page, site: Site, tabs) -> None:  # type: ignore[no-untyped-def]
    """Loaded once, checked at each viewport (the layout, not the markup, changes)."""
    tab = tabs[spec.persona]
    tab.set_viewport_size(VIEWPORTS["desktop"])
    open_page(tab, site, spec)
    problems = []
    for n, (viewport, size) in enumerate(VIEWPORTS.items()):
        tab.set_viewport_size(size)
        # Every rule at the first size; at the next only those the layout can change.
        found = axe.audit(tab, None if n == 0 else axe.LAYOUT_RULES)
        where = f"“{spec.name}” ({viewport}, {tab.url})"
        if axe.blocking(found):
            problems.append(axe.report(axe.blocking(found), where))
        # Reflow (WCAG 1.4.10): nothing wider than the screen, no sideways scrolling.
        width = tab.evaluate("document.documentElement.scrollWidth")
        if width > size["width"]:
            problems.append(f"{where} is {width}px wide, wider than the screen")
        elif found:
            print(axe.report(found, where))  # shown with -rP; moderate and minor do not fail
    assert not problems, "\n".join(problems)


def test_every_page_is_in_the_table(site: Site) -> None:
    adapter = site.app.url_map.bind("127.0.0.1")
    checked = set()
    for spec in PAGES:
        try:
            endpoint, _ = adapter.match(spec.path.format(**site.names).split("?")[0])
        except NotFound:
            continue
        checked.add(endpoint)
    pages = {
        rule.endpoint
        for rule in site.app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and not rule.rule.startswith("/api/")
    }
    missing = sorted(pages - checked - NOT_PAGES)
    assert not missing, f"add these pages to PAGES (or to NOT_PAGES, saying why): {missing}"
