"""Editing the programme in the back-office: same rules as event files, calendars follow."""

import re

import pytest
from sqlalchemy import select

from symposium.models import AuditEntry, Event, OutboxMessage, Role, Session
from symposium.services import access, enrolment
from tests.conftest import registration_data
from tests.test_admin import PASSWORD, login, token


@pytest.fixture
def organiser(client, db, small_event, clock):  # type: ignore[no-untyped-def]
    event = db.session.get(Event, small_event["event"])
    access.create_user(db.session, "org@example.org", Role.ORGANISER, clock.now, event=event,
                       password=PASSWORD)  # fmt: skip
    db.session.commit()
    login(client, "org@example.org")
    return event


def register(db, event, clock, n, *ids):  # type: ignore[no-untyped-def]
    data = enrolment.RegistrationInput(**registration_data(n), sessions=list(ids))
    enrolment.register(db.session, event, data, clock.now, "test")
    db.session.commit()


def form_data(page: str) -> dict[str, str]:
    """The edit form as the browser would send it back unchanged."""
    data = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
    data = {k: v for k, v in data.items() if not k.startswith("professions")}
    text = re.search(r'<textarea[^>]*name="description"[^>]*>\n?([^<]*)</textarea>', page)
    data["description"] = text[1] if text else ""
    return data


def test_moving_a_workshop_sends_its_registrants_an_update(
    client, db, organiser, small_event, clock
) -> None:
    ook = small_event["ook-r2"]
    register(db, organiser, clock, 1, ook)
    url = f"/admin/events/klein/sessions/{ook}/edit"
    data = form_data(client.get(url).get_data(as_text=True))
    data["room"] = "Zaal 9"
    response = client.post(url, data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    (update,) = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "session_changed")
    ).all()
    assert update.calendar_method == "REQUEST" and "Zaal 9" in update.calendar
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "session_edited")
    ).one()
    assert entry.before["room"] == "" and entry.after["room"] == "Zaal 9"


def test_capacity_and_quota_limits_in_the_form(client, db, organiser, small_event, clock):
    klein = small_event["klein"]
    for n in range(2):
        data = enrolment.RegistrationInput(
            **registration_data(f"gp{n}", "huisarts"), sessions=[klein]
        )
        enrolment.register(db.session, organiser, data, clock.now, "test")
        db.session.commit()
    register(db, organiser, clock, "late-gp-style", klein)
    url = f"/admin/events/klein/sessions/{klein}/edit"
    data = form_data(client.get(url).get_data(as_text=True))
    assert data["quota_huisarts"] == "2"
    data["quota_huisarts"] = "1"
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert "2 plaatsen zijn al bevestigd" in response.get_data(as_text=True)
    assert db.session.get(Session, klein).quotas[0].places == 2


def test_status_cancel_withdraws_invitations(client, db, organiser, small_event, clock) -> None:
    register(db, organiser, clock, 1, small_event["klein"])
    page = client.get("/admin/events/klein/").get_data(as_text=True)
    response = client.post(
        "/admin/events/klein/status", data={"csrf_token": token(page), "status": "cancelled"}
    )
    assert response.status_code == 303
    notice = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "event_cancelled")
    ).one()
    assert notice.calendar_method == "CANCEL"
    assert db.session.get(Event, organiser.id).status == "cancelled"
