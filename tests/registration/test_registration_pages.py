"""The registration form and the manage page, through the Flask test client (CSRF on)."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from symposium.models import Enrolment, Event, EventStatus, OutboxMessage, Registration

URL = "/events/klein/register"


def hidden_fields(page: str) -> dict[str, str]:
    return dict(
        re.findall(r'<input id="(?:[^"]*)" name="([^"]+)" type="hidden" value="([^"]*)"', page)
    )


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def open_form(client, profession: str = "gz-psycholoog") -> dict[str, str]:
    page = client.get(f"{URL}?profession={profession}").get_data(as_text=True)
    return {
        "csrf_token": csrf(page),
        "submission_key": re.search(r'name="submission_key" type="hidden" value="([^"]+)"', page)[
            1
        ],
        "profession": profession,
    }


def person(n: str, **extra: str) -> dict[str, str]:
    return {
        "name": f"Deelnemer {n}",
        "email": f"deelnemer{n}@example.org",
        "identifier_BIG": "12345678901",
        "consent": "y",
        **extra,
    }


def submit(client, fields: dict[str, str], profession: str = "gz-psycholoog"):  # type: ignore[no-untyped-def]
    return client.post(f"{URL}?profession={profession}", data=fields)


def count(db, model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model))


def test_profession_comes_first_and_decides_the_choices(client, small_event) -> None:
    page = client.get(URL).get_data(as_text=True)
    assert 'name="profession"' in page and "Uw beroep" in page
    gz = client.get(f"{URL}?profession=gz-psycholoog").get_data(as_text=True)
    gp = client.get(f"{URL}?profession=huisarts").get_data(as_text=True)
    assert "Alleen psy" in gz and "Alleen psy" not in gp  # not offered to GPs
    assert "BIG-nummer" in gp and "11 cijfers" in gp  # the rule is explained
    assert "10 plaatsen over" in gz
    assert "<script" not in gz  # works without JavaScript


def test_unknown_profession_stays_on_step_one(client, small_event) -> None:
    page = client.get(f"{URL}?profession=astronaut").get_data(as_text=True)
    assert 'name="profession"' in page and 'name="email"' not in page


def test_successful_registration_shows_status_per_round(client, db, small_event) -> None:
    fields = open_form(client)
    fields |= person("1", **{f"round_{_round(db, 'r1')}": str(small_event["klein"])})
    response = submit(client, fields)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/r/")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Kleine workshop" in page and "Ingeschreven" in page
    assert "uw inschrijving is binnen" in page
    assert count(db, Registration) == 1
    assert db.session.scalars(select(OutboxMessage.kind)).all() == ["registered"]


def test_full_workshop_shows_waiting_list_position(client, db, small_event) -> None:
    ook = small_event["ook-r2"]
    r2 = f"round_{_round(db, 'r2')}"
    submit(client, open_form(client) | person("a", **{r2: str(ook)}))
    form_page = client.get(f"{URL}?profession=gz-psycholoog").get_data(as_text=True)
    assert "Vol: wachtlijst" in form_page
    response = submit(client, open_form(client) | person("b", **{r2: str(ook)}))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Wachtlijst, plaats 1" in page


def test_errors_appear_next_to_fields_and_input_is_kept(client, db, small_event) -> None:
    fields = open_form(client, "huisarts") | person(
        "x", email="not-an-address", identifier_BIG="123", organisation="GGZ Noord"
    )
    fields["name"] = ""
    response = submit(client, fields, "huisarts")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'id="name-error">[^<]+<', page)
    assert 'id="identifier_BIG-error">3 cijfers ingevuld, 11 nodig.' in page
    assert 'value="GGZ Noord"' in page and 'value="not-an-address"' in page
    assert count(db, Registration) == 0


def test_service_errors_are_shown_without_saving(client, db, small_event) -> None:
    fields = open_form(client) | person("x", email="bad@")
    response = submit(client, fields)
    assert response.status_code == 422
    assert 'id="email-error">Vul een geldig e-mailadres in.' in response.get_data(as_text=True)
    assert count(db, Registration) == 0 and count(db, OutboxMessage) == 0


def test_double_submit_creates_nothing_twice(client, db, small_event) -> None:
    fields = open_form(client) | person(
        "1", **{f"round_{_round(db, 'r1')}": str(small_event["klein"])}
    )
    first = submit(client, fields)
    second = submit(client, fields)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count(db, Registration) == 1 and count(db, Enrolment) == 1
    assert count(db, OutboxMessage) == 1


def test_known_address_gets_its_link_mailed_not_a_second_registration(client, db, small_event):
    submit(client, open_form(client) | person("1"))
    response = submit(client, open_form(client) | person("1"))
    assert response.status_code == 200
    assert "Kijk in uw e-mail" in response.get_data(as_text=True)
    assert count(db, Registration) == 1
    kinds = db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    assert kinds == ["registered", "manage_link"]


def test_missing_csrf_token_is_refused(client, db, small_event) -> None:
    fields = open_form(client) | person("1")
    del fields["csrf_token"]
    assert submit(client, fields).status_code == 400
    assert count(db, Registration) == 0


def test_closed_registration_says_so(client, db, small_event, clock) -> None:
    event = db.session.get(Event, small_event["event"])
    clock.now = event.registration_closes_at + timedelta(seconds=1)
    response = client.get(URL)
    assert response.status_code == 409
    assert "De inschrijving is gesloten." in response.get_data(as_text=True)
    event.status = EventStatus.CANCELLED
    db.session.commit()
    assert "Dit evenement is geannuleerd." in client.get(URL).get_data(as_text=True)


def test_english_form(client, small_event) -> None:
    page = client.get(f"{URL}?profession=huisarts&lang=en").get_data(as_text=True)
    assert "BIG number" in page and "Full name" in page


def _round(db, key: str) -> int:  # type: ignore[no-untyped-def]
    from symposium.models import Round

    return db.session.scalar(select(Round.id).where(Round.key == key))


@pytest.fixture
def manage(client, db, small_event):  # type: ignore[no-untyped-def]
    """A registration in "groot" (round 2); returns its manage URL."""
    fields = open_form(client) | person(
        "me", **{f"round_{_round(db, 'r2')}": str(small_event["groot"])}
    )
    return submit(client, fields).headers["Location"].split("?")[0]


def post(client, url: str, **data: str):  # type: ignore[no-untyped-def]
    page = client.get(
        url.rsplit("/", 1)[0] if url.endswith(("change", "cancel", "cancel-session")) else url
    )
    return client.post(url, data={"csrf_token": csrf(page.get_data(as_text=True)), **data})


def test_manage_page_switches_and_says_when_only_waitlisted(client, db, small_event, manage):
    # Someone else takes the single place in "ook-r2".
    r2 = f"round_{_round(db, 'r2')}"
    submit(client, open_form(client) | person("other", **{r2: str(small_event["ook-r2"])}))
    response = post(client, f"{manage}/change", session_id=str(small_event["ook-r2"]))
    assert response.status_code == 303
    page = client.get(manage).get_data(as_text=True)
    assert "wachtlijst (plaats 1) en houdt uw plek in “Grote workshop”" in page
    assert "U houdt uw plaats in “Grote workshop”" in page

    response = post(client, f"{manage}/change", session_id=str(small_event["klein"]))
    assert response.status_code == 303
    page = client.get(manage).get_data(as_text=True)
    assert "U bent ingeschreven voor “Kleine workshop”." in page


def test_manage_page_cancels_a_workshop_once(client, db, small_event, manage) -> None:
    enrolment_id = db.session.scalar(select(Enrolment.id))
    for _ in range(2):
        response = post(
            client, f"{manage}/cancel-session", enrolment_id=str(enrolment_id), confirmed="yes"
        )
        assert response.status_code == 303
    assert db.session.scalar(select(Enrolment.status)) == "cancelled"
    kinds = db.session.scalars(select(OutboxMessage.kind)).all()
    assert kinds.count("enrolment_cancelled") == 1


def test_cancelling_a_workshop_asks_first_and_says_the_place_is_released(
    client, db, small_event, manage
) -> None:
    """One click no longer cancels: a page (no JavaScript) asks, then the notice says the
    place was given up, not that the organiser cancelled the session."""
    enrolment_id = db.session.scalar(select(Enrolment.id))
    page = client.get(manage).get_data(as_text=True)
    ask = f"{manage}/cancel-session/{enrolment_id}"
    assert f'href="{ask}"' in page
    # The old one-click form (or a replay of it) is sent to the question, not obeyed.
    direct = post(client, f"{manage}/cancel-session", enrolment_id=str(enrolment_id))
    assert direct.status_code == 303 and direct.headers["Location"].endswith(ask)
    assert db.session.scalar(select(Enrolment.status)) == "confirmed"
    question = client.get(ask).get_data(as_text=True)
    assert "Uw plaats opgeven?" in question and "Grote workshop" in question
    assert "Nee, behouden" in question
    token_ = csrf(question)
    response = client.post(
        f"{manage}/cancel-session",
        data={"csrf_token": token_, "enrolment_id": str(enrolment_id), "confirmed": "yes"},
    )
    assert response.status_code == 303
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Uw plaats in “Grote workshop” is vrijgegeven." in shown
    assert "De sessie is geannuleerd." not in shown
    db.session.expire_all()
    assert db.session.scalar(select(Enrolment.status)) == "cancelled"
    assert client.get(ask).status_code == 404  # nothing left to give up


def test_cancel_registration_needs_confirmation(client, db, manage) -> None:
    response = post(client, f"{manage}/cancel")
    assert response.status_code == 422
    assert "Vink het vakje aan om te bevestigen." in response.get_data(as_text=True)
    assert db.session.scalar(select(Registration.status)) == "active"
    response = post(client, f"{manage}/cancel", confirm="y")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.scalar(select(Registration.status)) == "cancelled"
    assert "Deze inschrijving is geannuleerd." in client.get(manage).get_data(as_text=True)


def test_unknown_token_is_not_found(client) -> None:
    assert client.get("/r/not-a-token").status_code == 404


def test_form_is_rate_limited(migrated_url, clock, small_event) -> None:
    from tests.conftest import FreshContextClient, make_app

    app = make_app(
        migrated_url, CLOCK=clock, RATELIMIT_ENABLED=True, REGISTRATION_RATE_LIMIT="2 per minute"
    )
    app.test_client_class = FreshContextClient
    client = app.test_client()
    with app.app_context():
        statuses = [
            submit(client, open_form(client) | person(str(n))).status_code for n in range(3)
        ]
    assert statuses[:2] != [429, 429] and statuses[2] == 429
