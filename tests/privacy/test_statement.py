"""An event's privacy statement (issue 16, point 5): the organiser as controller, their own
part in versions, the standard text (what, why, who sees it, how long, deletion), and the
version each registrant agreed to."""

import re

from sqlalchemy import select

from symposium.models import AuditEntry, Event, Registration
from symposium.services.privacy import statement
from tests.backoffice.test_admin import login
from tests.backoffice.test_history import org, visible  # noqa: F401 (a fixture)
from tests.registration.test_registration_pages import URL, csrf, open_form, person, submit


def write(client, text_nl: str, text_en: str = ""):  # type: ignore[no-untyped-def]
    page = client.get("/admin/events/klein/privacy").get_data(as_text=True)
    return client.post(
        "/admin/events/klein/privacy",
        data={"csrf_token": csrf(page), "text_nl": text_nl, "text_en": text_en},
    )


def test_the_event_statement_names_the_organiser_and_says_who_sees_what(
    client, small_event
) -> None:
    text = visible(client.get("/events/klein/privacy").get_data(as_text=True))
    assert "Testorganisatie organiseert deze bijeenkomst en is verantwoordelijk" in text
    assert "info@example.org" in text
    for heading in ("Wat we bewaren en waarom", "Wie het ziet", "Hoe lang", "Uw rechten"):
        assert heading in text
    assert "De registers die de bijeenkomst accrediteren" in text
    assert "Versie s1." in text
    form = client.get(f"{URL}?profession=gz-psycholoog").get_data(as_text=True)
    assert 'href="/events/klein/privacy"' in form


def test_a_registration_records_the_version_agreed_to(client, app, db, small_event, org) -> None:
    first = submit(client, open_form(client) | person("1"))
    assert first.status_code == 303
    login(client, "org@example.org")
    saved = write(client, "Vragen over privacy? Bel Olga.\n\nWe maken foto's in de zaal.")
    assert saved.status_code == 303
    assert "versie s1+e1" in client.get(saved.headers["Location"]).get_data(as_text=True)
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "privacy_statement_changed")
    ).one()
    assert entry.after == {"version": "s1+e1"}

    visitor = app.test_client()
    second = submit(visitor, open_form(visitor) | person("2"))
    assert second.status_code == 303
    versions = dict(
        db.session.execute(select(Registration.email, Registration.privacy_version)).all()
    )
    assert versions == {"deelnemer1@example.org": "s1", "deelnemer2@example.org": "s1+e1"}

    now = visible(client.get("/events/klein/privacy").get_data(as_text=True))
    assert "Van de organisator Vragen over privacy? Bel Olga. We maken foto's" in now
    then = client.get("/events/klein/privacy?version=s1").get_data(as_text=True)
    assert "die niet meer geldt" in visible(then) and "Bel Olga" not in then
    # The first registrant's page links to the version they agreed to.
    token = first.headers["Location"].split("/r/")[1].split("?")[0]
    manage = client.get(f"/r/{token}").get_data(as_text=True)
    assert 'href="/events/klein/privacy?version=s1"' in manage


def test_a_statement_changed_while_the_form_was_open_is_agreed_to_again(
    client, db, small_event, org
) -> None:
    page = client.get(f"{URL}?profession=gz-psycholoog").get_data(as_text=True)
    assert 'name="privacy_version" type="hidden" value="s1"' in page
    fields = open_form(client) | person("1") | {"privacy_version": "s1"}  # as the page showed
    event = db.session.get(Event, small_event["event"])
    statement.save_addition(db.session, None, event, "Nieuwe afspraken.", "", org.starts_at)
    db.session.commit()
    response = submit(client, fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'id="consent-error">De privacyverklaring is gewijzigd', page)
    assert 'name="privacy_version" type="hidden" value="s1+e1"' in page  # read, then agree
    assert db.session.scalar(select(Registration.id)) is None
    again = submit(client, fields | {"privacy_version": "s1+e1"})
    assert again.status_code == 303


def test_saving_the_same_text_again_makes_no_version(client, db, small_event, org) -> None:
    login(client, "org@example.org")
    write(client, "Eén alinea.")
    again = write(client, "Eén alinea.")
    assert "Er is niets veranderd" in client.get(again.headers["Location"]).get_data(True)
    assert db.session.get(Event, small_event["event"]).privacy_addition_version == 1
    refused = write(client, "", "Only English")
    assert refused.status_code == 422
    assert re.search(r'id="text_nl-error">Schrijf eerst de Nederlandse tekst', refused.text)


def test_english_readers_see_the_dutch_part_when_there_is_no_english_one(
    client, db, small_event, org
) -> None:
    event = db.session.get(Event, small_event["event"])
    statement.save_addition(db.session, None, event, "Alleen Nederlands.", "", org.starts_at)
    db.session.commit()
    english = visible(client.get("/events/klein/privacy?lang=en").get_data(as_text=True))
    assert "From the organiser Alleen Nederlands." in english
    assert "Who sees it" in english


def test_an_unknown_version_is_not_found(client, small_event) -> None:
    assert client.get("/events/klein/privacy?version=s9").status_code == 404
    assert client.get("/events/klein/privacy?version=s1%2Be4").status_code == 404
    assert client.get("/events/klein/privacy?version=" + "x" * 30).status_code == 200  # too long


def test_a_form_sent_again_after_the_statement_changed_is_the_registration_it_made(
    client, db, small_event, org
) -> None:
    fields = open_form(client) | person("1") | {"privacy_version": "s1"}
    first = submit(client, fields)
    assert first.status_code == 303
    event = db.session.get(Event, small_event["event"])
    statement.save_addition(db.session, None, event, "Nieuw.", "", org.starts_at)
    db.session.commit()
    again = submit(client, fields)  # the back button, or a retry
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]


def test_the_organisers_paragraphs_typed_in_a_browser_stay_paragraphs(
    client, db, small_event, org
) -> None:
    event = db.session.get(Event, small_event["event"])
    statement.save_addition(db.session, None, event, "Een.\r\n\r\nTwee.", "", org.starts_at)
    db.session.commit()
    page = client.get("/events/klein/privacy").get_data(as_text=True)
    assert "<p>Een.</p>" in page and "<p>Twee.</p>" in page
