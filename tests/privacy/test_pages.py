"""The data-rights pages through the Flask test client (CSRF on): the manage page's links, the
deletion's confirmation step, the privacy statement, and what the back-office shows."""

from __future__ import annotations

import re

from sqlalchemy import select

from symposium.models import AuditEntry, Registration, Role
from symposium.services.accounts import access
from symposium.services.privacy import deletion
from tests.backoffice.test_admin import PASSWORD, login
from tests.privacy.conftest import RETENTION


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_manage_page_links_to_download_delete_and_the_statement(client, register, small_event):
    outcome = register(1, small_event["klein"])
    page = client.get(f"/r/{outcome.token}").get_data(as_text=True)
    assert f'href="/r/{outcome.token}/data.json"' in page
    assert f'href="/r/{outcome.token}/delete"' in page
    assert 'href="/events/klein/privacy?version=s1"' in page  # the version agreed to


def test_deletion_needs_confirmation_and_csrf_and_is_idempotent(
    client, db, register, small_event
) -> None:
    outcome = register(1, small_event["klein"])
    url = f"/r/{outcome.token}/delete"
    page = client.get(url)
    assert page.status_code == 200
    token = csrf(page.get_data(as_text=True))

    # No tick: the page again with the message next to the box, nothing changed.
    response = client.post(url, data={"csrf_token": token})
    assert response.status_code == 422
    assert "Vink het vakje aan om te bevestigen." in response.get_data(as_text=True)
    # No CSRF token: refused.
    assert client.post(url, data={"confirm": "y"}).status_code == 400
    db.session.expire_all()
    assert db.session.scalar(select(Registration.deletion_requested_at)) is None

    response = client.post(url, data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 303 and response.headers["Location"] == "/r/deleted"
    assert "Uw gegevens zijn verwijderd" in client.get("/r/deleted").get_data(as_text=True)
    db.session.expire_all()
    registration = db.session.scalars(select(Registration)).one()
    assert registration.deletion_requested_at is not None and registration.name == ""
    # The link is dead; a double submit lands on the same page and changes nothing.
    assert client.get(f"/r/{outcome.token}").status_code == 404
    again = client.post(url, data={"csrf_token": token, "confirm": "y"})
    assert again.status_code == 303 and again.headers["Location"] == "/r/deleted"
    assert len(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "personal_data_deleted")).all()) == 1  # fmt: skip
    # Without a valid form an unknown link is simply not found.
    assert client.post(url, data={"csrf_token": token}).status_code == 404


def test_privacy_statement_says_how_long_and_the_form_links_to_it(app, client, small_event):
    app.config["RETENTION_DAYS"] = 45
    app.config["ACCREDITATION_RETENTION_DAYS"] = 100
    page = client.get("/privacy").get_data(as_text=True)
    assert "45 dagen na afloop" in page and "tot 100 dagen na" in page
    assert "JSON" in page and "back-ups" in page.lower()
    form = client.get("/events/klein/register?profession=gz-psycholoog").get_data(as_text=True)
    assert 'href="/events/klein/privacy"' in form and "45 dagen" in form


def test_back_office_shows_the_purge_dates_and_the_deletion_requests(
    client, db, register, small_event, clock
) -> None:
    gone = register(1, small_event["klein"])
    register(2, small_event["klein"])
    deletion.request_deletion(db.session, gone.registration, clock.now, RETENTION)
    access.create_user(db.session, "o@example.org", Role.ADMIN, clock.now, password=PASSWORD)
    db.session.commit()
    login(client, "o@example.org")
    page = client.get("/admin/events/klein/dashboard").get_data(as_text=True)
    # Ends 4 February 2027; 90 and 120 days later.
    assert "5 mei 2027" in page and "4 juni 2027" in page
    section = page.split('id="personal-data"', 1)[1]
    assert re.search(r"Verwijderverzoeken</dt><dd>1</dd>", section)
    detail = client.get(f"/admin/events/klein/participants/{gone.registration.id}").get_data(
        as_text=True
    )
    assert "heeft gevraagd" in detail
    listing = client.get("/admin/events/klein/participants/").get_data(as_text=True)
    assert "verwijderverzoek" in listing
