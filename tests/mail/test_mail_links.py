"""Names in mail: no line breaks in one-line fields, and only the system's own links are
clickable in the HTML part (services/mail/layout.py, templates/mail/layout.html)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from symposium.models import Event, OutboxMessage, Registration
from symposium.services.mail import layout, render
from symposium.services.registration import lifecycle, validation
from tests.conftest import registration_data
from tests.registration.test_registration_pages import open_form, person, submit

EVIL = "Piet\r\nhttp://evil.example"


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_a_name_with_a_line_break_is_refused_on_the_form(client, db, small_event) -> None:
    response = submit(client, open_form(client) | person("1", name=EVIL))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Gebruik één regel: haal de regeleinden weg." in page
    assert db.session.scalars(select(Registration)).all() == []
    assert db.session.scalars(select(OutboxMessage)).all() == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", EVIL), ("name", "Piet\nJansen"), ("organisation", "GGZ\u2028http://evil.example"),
     ("phone", "0612345678\r"), ("email", "a@example.org\n")],
)  # fmt: skip
def test_line_breaks_in_one_line_fields_are_refused_by_the_api(
    client, db, small_event, field: str, value: str
) -> None:
    response = client.post(
        "/api/v1/events/klein/registrations", json=registration_data(1) | {field: value}
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_text"
    assert response.get_json()["error"]["field"] == field
    assert db.session.scalars(select(Registration)).all() == []


def test_line_breaks_in_the_needs_are_fine(client, db, small_event) -> None:
    body = registration_data(1) | {"needs": "geen vlees\nhttp://evil.example"}
    assert client.post("/api/v1/events/klein/registrations", json=body).status_code == 201


def test_typed_text_never_becomes_a_link_but_the_manage_link_does(db, small_event, clock) -> None:
    event = db.session.get(Event, small_event["event"])
    data = validation.RegistrationInput(
        **registration_data(
            1, needs="zie\nhttp://evil.example/needs", organisation="https://evil.example/org"
        )
    )
    outcome = lifecycle.register(db.session, event, data, clock.now, "test")
    # A name stored before line breaks were refused (or by any other way in): still no link.
    db.session.execute(
        update(Registration).where(Registration.id == outcome.registration.id).values(name=EVIL)
    )
    db.session.commit()
    render.render_pending(db.session)
    (message,) = db.session.scalars(select(OutboxMessage)).all()
    assert "http://evil.example" in message.body_html  # shown as text, escaped
    links = hrefs(message.body_html)
    # The manage page and ticket, the route planner, the organiser's address: nothing typed.
    own = ("http://localhost/r/", layout.ROUTE_URL, "mailto:info@example.org")
    assert links and all(link.startswith(own) for link in links)
    assert "http://localhost/r/" in links[0]


def test_password_links_stay_clickable_and_nothing_else(app) -> None:
    with app.test_request_context():
        html = render.html_body(
            "Onderwerp",
            "Beste http://evil.example,\n\nhttp://evil.example\n\nhttp://localhost/admin/x",
            "nl",
            links=["http://localhost/admin/x"],
        )
    assert hrefs(html) == ["http://localhost/admin/x"]
