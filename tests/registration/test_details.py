"""A registrant corrects their own details (issue 16, point 2): name, organisation, phone and
needs until registration closes, with the form's checks; a new e-mail address only through a
link sent to it; every change in the organiser's history."""

import base64
import re
from datetime import timedelta

from sqlalchemy import select

from symposium.models import AuditEntry, Event, OutboxMessage, Registration
from symposium.services.mail import render
from tests.backoffice.test_admin import login
from tests.backoffice.test_history import org, visible  # noqa: F401 (a fixture)
from tests.registration.test_registration_pages import csrf


def page_form(client, url: str) -> str:  # type: ignore[no-untyped-def]
    return csrf(client.get(url).get_data(as_text=True))


def details(client, token: str, **fields: str):  # type: ignore[no-untyped-def]
    url = f"/r/{token}/details"
    body = {"name": "Anna de Vries", "organisation": "", "phone": "", "needs": ""} | fields
    return client.post(url, data={"csrf_token": page_form(client, url), **body})


def new_address(client, token: str, email: str):  # type: ignore[no-untyped-def]
    token_csrf = page_form(client, f"/r/{token}/details")
    return client.post(f"/r/{token}/email", data={"csrf_token": token_csrf, "email": email})


def mails(db, kind: str) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def test_the_registrant_corrects_their_details_and_the_organiser_sees_it(
    client, db, register, small_event, org
) -> None:
    outcome = register("anna", small_event["klein"])
    manage = client.get(f"/r/{outcome.token}").get_data(as_text=True)
    assert f'href="/r/{outcome.token}/details"' in manage
    response = details(client, outcome.token, phone="06 1234 5678", needs="Vegetarisch")
    assert response.status_code == 303
    registration = db.session.get(Registration, outcome.registration.id)
    db.session.refresh(registration)
    assert (registration.name, registration.phone, registration.needs) == (
        "Anna de Vries", "06 1234 5678", "Vegetarisch",
    )  # fmt: skip
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "details_corrected"))
    entry = entry.one()
    assert entry.after == {"fields": ["name", "phone", "needs"]}  # which, not the values
    assert "Vegetarisch" not in str(entry.before) + str(entry.after)

    # The same form again changes nothing and records nothing.
    again = details(client, outcome.token, phone="06 1234 5678", needs="Vegetarisch")
    assert again.status_code == 303
    assert "Er is niets veranderd" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert len(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "details_corrected")).all()) == 1  # fmt: skip

    login(client, "org@example.org")
    log = visible(client.get("/admin/events/klein/audit").get_data(as_text=True))
    assert "Anna de Vries heeft de eigen gegevens gecorrigeerd" in log
    assert "Gewijzigd: naam, telefoonnummer, toegankelijkheid of dieetwensen" in log


def test_a_wrong_phone_number_is_shown_next_to_the_field_and_nothing_is_saved(
    client, db, register, small_event
) -> None:
    outcome = register("anna", small_event["klein"])
    response = details(client, outcome.token, phone="bel mij", name="Anna B.")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'id="phone-error">[^<]*cijfers', page)
    assert 'value="bel mij"' in page  # what was typed stays
    db.session.expire_all()
    assert db.session.get(Registration, outcome.registration.id).name == "Deelnemer anna"


def test_details_are_closed_when_registration_closes(
    client, db, register, small_event, clock
) -> None:
    outcome = register("anna", small_event["klein"])
    form = client.get(f"/r/{outcome.token}/details").get_data(as_text=True)
    clock.now = db.session.get(Event, small_event["event"]).registration_closes_at + timedelta(
        minutes=1
    )
    response = client.post(
        f"/r/{outcome.token}/details", data={"csrf_token": csrf(form), "name": "Anders"}
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Registration, outcome.registration.id).name == "Deelnemer anna"
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "vraag de organisator om uw gegevens te corrigeren" in shown
    assert f'href="/r/{outcome.token}/details"' not in shown


def test_a_new_address_changes_only_through_the_link_sent_to_it(
    client, db, register, small_event, clock, app
) -> None:
    outcome = register("anna", small_event["klein"])
    response = new_address(client, outcome.token, "Anna.Nieuw@Example.org")
    assert response.status_code == 303
    db.session.expire_all()
    registration = db.session.get(Registration, outcome.registration.id)
    assert registration.email == "deelnemeranna@example.org"  # nothing changed yet
    [confirm] = mails(db, "email_confirm")
    assert confirm.to_address == "anna.nieuw@example.org"
    written = render.rendered(db.session, confirm)
    link = re.search(r"http\S+/r/confirm-email/(\S+)", written["body_text"])
    assert link is not None
    assert outcome.token not in written["body_text"]  # the new address gets no manage link

    url = f"/r/confirm-email/{link[1]}"
    page = client.get(url)  # opening it (a mail scanner does) changes nothing
    assert page.status_code == 200
    db.session.expire_all()
    assert db.session.get(Registration, outcome.registration.id).email.startswith("deelnemer")

    done = client.post(url, data={"csrf_token": csrf(page.get_data(as_text=True))})
    assert done.status_code == 200 and "anna.nieuw@example.org" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Registration, outcome.registration.id).email == "anna.nieuw@example.org"
    [told] = mails(db, "email_changed")
    assert told.to_address == "deelnemeranna@example.org"  # the old address is told
    assert db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "email_changed")
    ).one().after == {"fields": ["email"]}

    # Following the link again is harmless.
    again = client.post(url, data={"csrf_token": csrf(page.get_data(as_text=True))})
    assert again.status_code == 200
    assert len(mails(db, "email_changed")) == 1


def test_a_forged_or_old_link_changes_nothing(client, db, register, small_event, clock) -> None:
    outcome = register("anna", small_event["klein"])
    new_address(client, outcome.token, "nieuw@example.org")
    [confirm] = mails(db, "email_confirm")
    token = confirm.render_context["about"]["token"]
    body, _, signature = token.partition(".")
    forged = f"{body}.{signature[:-2]}AA"
    page = client.get(f"/r/confirm-email/{token}").get_data(as_text=True)
    refused = client.post(f"/r/confirm-email/{forged}", data={"csrf_token": csrf(page)})
    assert refused.status_code == 404 and "niet (meer) geldig" in refused.get_data(as_text=True)

    clock.now += timedelta(days=3)  # the link works two days
    late = client.post(f"/r/confirm-email/{token}", data={"csrf_token": csrf(page)})
    assert late.status_code == 404
    db.session.expire_all()
    assert db.session.get(Registration, outcome.registration.id).email.startswith("deelnemer")


def test_an_address_already_registered_is_refused_next_to_the_field(
    client, db, register, small_event
) -> None:
    outcome = register("anna", small_event["klein"])
    register("bert", small_event["klein"])
    response = new_address(client, outcome.token, "deelnemerbert@example.org")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert re.search(r'id="email-error">Met dit adres is al ingeschreven', page)
    assert mails(db, "email_confirm") == []
    bad = new_address(client, outcome.token, "geen adres")
    assert bad.status_code == 422 and 'id="email-error"' in bad.get_data(as_text=True)


def test_malformed_links_are_refused_not_a_server_error(client, register, small_event) -> None:
    outcome = register("anna", small_event["klein"])
    page = client.get("/r/confirm-email/x").get_data(as_text=True)
    nested = base64.urlsafe_b64encode(b"[" * 2000).decode().rstrip("=")[:1900]
    for token in (f"{nested}.{'A' * 43}", "eyJyIjoxfQ.é", "²." + "A" * 43, "...", "x" * 5000):
        response = client.post(f"/r/confirm-email/{token}", data={"csrf_token": csrf(page)})
        assert response.status_code == 404, token
    assert outcome.registration.email == "deelnemeranna@example.org"


def test_the_links_to_new_addresses_are_limited_per_day(client, db, register, small_event) -> None:
    outcome = register("anna", small_event["klein"])
    for n in range(3):
        assert new_address(client, outcome.token, f"nieuw{n}@example.org").status_code == 303
    refused = new_address(client, outcome.token, "nog.een@example.org")
    assert refused.status_code == 429
    assert 'id="email-error"' in refused.get_data(as_text=True)
    assert len(mails(db, "email_confirm")) == 3
