"""Browser flows in Debian's Chromium, driven by Playwright."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.site import serving


@pytest.fixture
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with serving(app) as url:
        yield url


@pytest.fixture
def page(browser, live_server) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="nl-NL", viewport={"width": 390, "height": 844})
    yield context.new_page()
    context.close()


def test_7roses_programme_shows_both_workshop_rounds(page, live_server, load_example) -> None:
    load_example("7roses-symposium.toml")
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="7ROSES", exact=False).first.click()
    page.wait_for_url("**/events/7roses-2027/")
    assert page.locator("html").get_attribute("lang") == "nl"
    rounds = page.locator("section.slot-parallel")
    assert rounds.count() >= 2
    for i in range(2):
        block = rounds.nth(i)
        assert block.locator(".round-title").inner_text().strip()
        assert block.locator("article.session-card").count() == 4
    # On a phone-sized screen the cards stack instead of overflowing the page.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390

    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Programme").is_visible()


def test_register_see_status_and_switch_workshop(page, live_server, load_example, db) -> None:
    from sqlalchemy import select

    from symposium.models import Event, Session
    from symposium.services.registration import lifecycle, validation
    from tests.conftest import registration_data

    load_example("7roses-symposium.toml")
    event = db.session.scalars(select(Event).where(Event.slug == "7roses-2027")).one()
    small = db.session.scalars(
        select(Session).where(Session.key == "oefenen-in-kleine-groep")
    ).one()
    for n in range(small.capacity):  # fill the small workshop so the next one waits
        data = validation.RegistrationInput(**registration_data(n), sessions=[small.id])
        lifecycle.register(db.session, event, data, event.registration_opens_at, "test")
        db.session.commit()

    page.goto(f"{live_server}/events/7roses-2027/")
    page.get_by_role("link", name="Inschrijven").first.click()
    page.get_by_label("Uw beroep").select_option("gz-psycholoog")
    page.get_by_role("button", name="Verder").click()
    page.get_by_label("Volledige naam").fill("Sanne de Vries")
    page.get_by_label("E-mailadres").fill("sanne@example.org")
    page.get_by_label("NIP-lidnummer").fill("00012345")
    page.get_by_label("Zo bouwt u een 7ROSES-sessie op").check()
    page.get_by_label(small.title).check()
    page.get_by_label("Ik ga ermee akkoord", exact=False).check()
    page.get_by_role("button", name="Inschrijven").click()

    page.wait_for_url("**/r/**")
    body = page.locator("main")
    assert "uw inschrijving is binnen" in body.inner_text()
    assert "Ingeschreven" in body.inner_text()
    assert "Wachtlijst, plaats 1" in body.inner_text()

    # Switch round 2 to a workshop with room: the waiting-list spot is replaced.
    round2 = page.locator("section.manage-round").nth(1)
    round2.locator("summary").click()
    round2.locator("li", has_text="Veiligheid en erkenning").get_by_role(
        "button", name="Kiezen"
    ).click()
    page.wait_for_load_state()
    text = page.locator("main").inner_text()
    assert "U bent ingeschreven voor “Veiligheid en erkenning" in text
    assert "Wachtlijst" not in text.split("Uw programma")[1].split("Uw inschrijving annuleren")[0]


def test_organiser_raises_capacity_and_sees_the_promotion(
    page, live_server, db, small_event, clock
) -> None:
    from symposium.models import Event, Role
    from symposium.services.accounts import access
    from symposium.services.registration import lifecycle, validation
    from tests.conftest import registration_data

    event = db.session.get(Event, small_event["event"])
    access.create_user(
        db.session, "org@example.org", Role.ORGANISER, clock.now, event=event,
        password="organiser-pass",
    )  # fmt: skip
    for n in range(2):  # "ook-r2" has one place: the second person waits
        data = validation.RegistrationInput(
            **registration_data(n), sessions=[small_event["ook-r2"]]
        )
        lifecycle.register(db.session, event, data, clock.now, "test")
        db.session.commit()

    page.goto(f"{live_server}/admin/")
    page.get_by_label("E-mailadres").fill("org@example.org")
    page.get_by_label("Wachtwoord").fill("organiser-pass")
    page.get_by_role("button", name="Inloggen").click()
    page.get_by_role("link", name="Klein symposium").click()
    row = page.locator("tr", has_text="Andere workshop ronde 2")
    assert row.locator("td").nth(0).inner_text() == "1"  # confirmed
    assert row.locator("td").nth(1).inner_text() == "1"  # waiting
    row.get_by_label("Capaciteit van Andere workshop ronde 2").fill("2")
    row.get_by_role("button", name="Opslaan").click()
    assert "1 gepromoveerd vanaf de wachtlijst" in page.locator("main").inner_text()
    row = page.locator("tr", has_text="Andere workshop ronde 2")
    assert row.locator("td").nth(0).inner_text() == "2"
    assert row.locator("td").nth(1).inner_text() == "0"
