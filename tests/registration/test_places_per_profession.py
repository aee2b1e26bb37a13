"""Places per profession (issue 16, point 1) and the form's details (point 4): what someone
is told about places is what they would get, and the form says what is wrong and where."""

import re
from datetime import timedelta

from sqlalchemy import select

from symposium.models import Profession, Session
from symposium.services.registration import availability
from symposium.services.registration.availability import Full, Places
from tests.registration.test_registration_pages import URL, open_form, person, submit


def text(response) -> str:  # type: ignore[no-untyped-def]
    """The page's visible text, on one line."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def fill_gp_quota(register, small_event) -> None:  # type: ignore[no-untyped-def]
    for n in range(2):  # the small event's workshop takes at most 2 GPs
        register(f"gp{n}", small_event["klein"], profession="huisarts")


def test_the_programme_shows_the_places_left_for_the_chosen_profession(
    client, register, small_event, clock
) -> None:
    register("gp0", small_event["klein"], profession="huisarts")
    gp = text(client.get("/events/klein/?profession=huisarts"))
    assert "nog 1 plaats voor uw beroep" in gp  # the GP quota, not the 9 free places
    assert "9 plaatsen over" in text(client.get("/events/klein/?profession=gz-psycholoog"))

    register("gp1", small_event["klein"], profession="huisarts")
    clock.now += timedelta(minutes=1)  # past the page cache's few seconds
    gp = text(client.get("/events/klein/?profession=huisarts"))
    assert "Vol voor uw beroep (huisarts): wachtlijst" in gp
    assert "8 plaatsen over" in text(client.get("/events/klein/"))  # without a profession


def test_the_form_tells_a_gp_that_their_quota_is_full(client, register, small_event) -> None:
    fill_gp_quota(register, small_event)
    gp = text(client.get(f"{URL}?profession=huisarts"))
    assert "Kleine workshop" in gp and "Vol voor uw beroep (huisarts): wachtlijst" in gp
    assert "8 plaatsen over" in text(client.get(f"{URL}?profession=gz-psycholoog"))


def test_a_full_session_is_full_for_everyone(client, register, small_event) -> None:
    register("first", small_event["ook-r2"])  # capacity 1
    page = text(client.get(f"{URL}?profession=huisarts"))
    option = page[page.index("Andere workshop ronde 2") :][:60]
    assert "Vol: wachtlijst" in option, option


def test_the_manage_page_says_why_someone_waits_and_what_happens_next(
    client, register, small_event
) -> None:
    fill_gp_quota(register, small_event)
    third = register("gp2", small_event["klein"], profession="huisarts")
    page = text(client.get(f"/r/{third.token}"))
    assert "Wachtlijst, plaats 1" in page
    assert "Waarom u wacht: de plaatsen voor uw beroep (huisarts) zijn bezet" in page
    assert "gaat die naar de eerste op de wachtlijst" in page and "krijgt u een e-mail" in page

    register("one", small_event["ook-r2"])
    second = register("two", small_event["ook-r2"])
    page = text(client.get(f"/r/{second.token}"))
    assert "Waarom u wacht: alle plaatsen zijn bezet." in page
    assert "voor uw beroep" not in page


def test_the_confirmation_page_says_why_right_after_registering(
    client, register, small_event
) -> None:
    fill_gp_quota(register, small_event)
    fields = open_form(client, "huisarts") | person("gp9") | _choice(client, small_event["klein"])
    response = submit(client, fields, "huisarts")
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    assert "Wachtlijst, plaats 1" in page
    assert "Waarom u wacht: de plaatsen voor uw beroep (huisarts) zijn bezet" in page


def _choice(client, session_id: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The form field (round_<id>) that chooses the session."""
    page = client.get(f"{URL}?profession=huisarts").get_data(as_text=True)
    option = re.search(rf'<input[^>]*value="{session_id}"[^>]*>', page)[0]
    return {re.search(r'name="([^"]+)"', option)[1]: str(session_id)}


def test_a_number_a_register_needs_carries_the_required_mark(client, small_event) -> None:
    gp = client.get(f"{URL}?profession=huisarts").get_data(as_text=True)
    label = re.search(r'<label for="identifier_BIG">(.*?)</label>', gp, re.S)[1]
    assert "BIG-nummer" in label and '&nbsp;<span class="required"' in label
    assert re.search(r'<input[^>]*id="identifier_BIG"[^>]*required', gp)
    # An optional number carries none.
    basis = client.get(f"{URL}?profession=basispsycholoog").get_data(as_text=True)
    assert (
        'for="identifier_BIG"' not in basis
        or "required" not in re.search(r'<label for="identifier_BIG">(.*?)</label>', basis, re.S)[1]
    )


def test_a_wrong_number_says_what_is_wrong_and_the_summary_links_to_it(client, small_event) -> None:
    fields = open_form(client, "huisarts") | person("gp", identifier_BIG="12345", name="")
    response = submit(client, fields, "huisarts")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    summary = re.search(r'<div class="notice notice-error error-summary".*?</div>', page, re.S)[0]
    assert 'href="#identifier_BIG"' in summary and "5 cijfers ingevuld, 11 nodig" in summary
    assert 'href="#name"' in summary
    row = re.search(r'id="identifier_BIG-error">(.*?)</p>', page)[1]
    assert row == "5 cijfers ingevuld, 11 nodig."
    assert 'value="12345"' in page  # what was typed stays


def test_the_form_shows_what_a_workshop_is_about_with_a_link(db, client, small_event) -> None:
    workshop = db.session.get(Session, small_event["klein"])
    workshop.description = "Een korte kennismaking met de methode. " * 10
    db.session.commit()
    page = client.get(f"{URL}?profession=gz-psycholoog").get_data(as_text=True)
    summary = re.search(r'<span class="summary">(.*?)</span>\s*</div>', page, re.S)[1]
    assert "Een korte kennismaking met de methode." in summary and "…" in summary
    assert len(re.sub(r"<[^>]+>.*", "", summary, flags=re.S).strip()) <= 181
    assert f'href="/events/klein/sessions/{workshop.id}" target="_blank"' in summary


def test_the_event_page_offers_registering_after_the_programme_too(client, small_event) -> None:
    page = client.get("/events/klein/?profession=huisarts").get_data(as_text=True)
    # The profession chosen on the programme carries over to the form's second step.
    assert page.count('href="/events/klein/register?profession=huisarts"') == 2
    after = page.index('id="programme-heading"')
    assert 'class="register-bar"' in page[after:]
    page = client.get("/events/klein/").get_data(as_text=True)
    assert page.count('href="/events/klein/register"') == 2


def test_places_for_a_profession_are_the_lesser_of_capacity_and_quota(
    db, register, small_event
) -> None:
    register("gp0", small_event["klein"], profession="huisarts")
    sessions = list(
        db.session.scalars(select(Session).where(Session.event_id == small_event["event"]))
    )
    gp, gz = (
        db.session.scalar(select(Profession.id).where(Profession.code == code))
        for code in ("huisarts", "gz-psycholoog")
    )
    klein, groot = small_event["klein"], small_event["groot"]
    assert availability.places_for(db.session, sessions, None)[klein] == Places(9)
    assert availability.places_for(db.session, sessions, gz)[klein] == Places(9)
    assert availability.places_for(db.session, sessions, gp)[klein] == Places(1, by_quota=True)
    assert availability.places_for(db.session, sessions, gp)[groot] == Places(None)
    register("gp1", klein, profession="huisarts")
    full = availability.places_for(db.session, sessions, gp)[klein]
    assert full == Places(0, Full.PROFESSION, by_quota=True)
