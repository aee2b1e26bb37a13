"""Editing the programme in the back-office: same rules as event files, calendars follow."""

import re

import pytest
from sqlalchemy import select

from symposium.models import AuditEntry, Event, OutboxMessage, Role, Session
from symposium.services.accounts import access
from symposium.services.core.errors import RuleError
from symposium.services.mail import render
from symposium.services.registration import lifecycle, validation
from tests.backoffice.test_admin import PASSWORD, login, token
from tests.conftest import registration_data


@pytest.fixture
def organiser(client, db, small_event, clock):  # type: ignore[no-untyped-def]
    event = db.session.get(Event, small_event["event"])
    access.create_user(db.session, "org@example.org", Role.ORGANISER, clock.now, event=event,
                       password=PASSWORD)  # fmt: skip
    db.session.commit()
    login(client, "org@example.org")
    return event


def register(db, event, clock, n, *ids):  # type: ignore[no-untyped-def]
    data = validation.RegistrationInput(**registration_data(n), sessions=list(ids))
    lifecycle.register(db.session, event, data, clock.now, "test")
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
    render.render_pending(db.session)  # written when sent; write them now to read them
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
        data = validation.RegistrationInput(
            **registration_data(f"gp{n}", "huisarts"), sessions=[klein]
        )
        lifecycle.register(db.session, organiser, data, clock.now, "test")
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


@pytest.fixture
def admin_client(client, db, clock, small_event):  # type: ignore[no-untyped-def]
    access.create_user(db.session, "boss@example.org", Role.ADMIN, clock.now, password=PASSWORD)
    db.session.commit()
    login(client, "boss@example.org")
    return client


def post_form(client, url: str, **fields: str):  # type: ignore[no-untyped-def]
    page = client.get(url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": token(page), **fields})


def test_create_an_event_with_a_round_and_a_session(admin_client, db) -> None:
    client = admin_client
    response = post_form(client, "/admin/events/new", slug="nieuw-2027", title="Nieuw",
                         starts_at="2027-05-10T09:00", ends_at="2027-05-10T17:00")  # fmt: skip
    assert response.status_code == 303, response.get_data(as_text=True)[-1500:]
    event = db.session.scalars(select(Event).where(Event.slug == "nieuw-2027")).one()
    assert event.status == "draft" and event.starts_at.hour == 7  # 09:00 CEST
    again = post_form(client, "/admin/events/new", slug="nieuw-2027", title="Dubbel",
                      starts_at="2027-05-10T09:00", ends_at="2027-05-10T17:00")  # fmt: skip
    assert again.status_code == 422
    assert "Een ander evenement gebruikt dit adres al." in again.get_data(as_text=True)

    response = post_form(client, "/admin/events/nieuw-2027/rounds/new", key="r1", title="Ronde 1",
                         starts_at="2027-05-10T13:00", ends_at="2027-05-10T14:30")  # fmt: skip
    assert response.status_code == 303
    round_id = (
        db.session.scalars(select(Event).where(Event.slug == "nieuw-2027")).one().rounds[0].id
    )
    response = post_form(client, "/admin/events/nieuw-2027/sessions/new", key="ws1",
                         kind="workshop", round_id=str(round_id), title="Workshop 1",
                         capacity="12", quota_huisarts="3")  # fmt: skip
    assert response.status_code == 303, response.get_data(as_text=True)[-1500:]
    db.session.expire_all()
    (session,) = db.session.scalars(select(Event).where(Event.slug == "nieuw-2027")).one().sessions
    assert (session.round_id, session.capacity) == (round_id, 12)
    assert {q.profession.code: q.places for q in session.quotas} == {"huisarts": 3}
    duplicate = post_form(client, "/admin/events/nieuw-2027/sessions/new", key="ws1",
                          kind="workshop", round_id=str(round_id), title="Nog een")  # fmt: skip
    assert duplicate.status_code == 422
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-3:] == ["event_created", "round_created", "session_created"]


def test_moving_a_round_updates_the_invitations_of_its_sessions(
    admin_client, db, small_event, clock
) -> None:
    event = db.session.get(Event, small_event["event"])
    register(db, event, clock, 1, small_event["groot"])
    round2 = next(r for r in event.rounds if r.key == "r2")
    response = post_form(admin_client, f"/admin/events/klein/rounds/{round2.id}/edit", key="r2",
                         title="Ronde 2", starts_at="2027-02-04T15:30",
                         ends_at="2027-02-04T17:00")  # fmt: skip
    assert response.status_code == 303
    kinds = db.session.scalars(select(OutboxMessage.kind)).all()
    assert kinds.count("session_changed") == 1


def test_event_capacity_below_active_registrations_is_refused(
    admin_client, db, small_event, clock
) -> None:
    event = db.session.get(Event, small_event["event"])
    for n in range(3):
        register(db, event, clock, n)
    url = "/admin/events/klein/edit"
    page = admin_client.get(url).get_data(as_text=True)
    data = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
    data["capacity"] = "2"
    del data["unlimited"]  # the organiser unticks "no limit" to set one
    response = admin_client.post(url, data=data)
    assert response.status_code == 422
    assert "3 plaatsen zijn al bevestigd" in response.get_data(as_text=True)
    data["capacity"] = "3"
    assert admin_client.post(url, data=data).status_code == 303
    assert db.session.get(Event, event.id).capacity == 3


def test_cancelling_a_session_tells_everyone_and_takes_no_one(
    admin_client, client, db, small_event, clock
) -> None:
    event = db.session.get(Event, small_event["event"])
    ook, groot = small_event["ook-r2"], small_event["groot"]
    register(db, event, clock, "holder", ook)
    register(db, event, clock, "waiting", ook)
    url = f"/admin/events/klein/sessions/{ook}"
    page = admin_client.get(f"{url}/edit").get_data(as_text=True)
    assert admin_client.post(f"{url}/cancel", data={"csrf_token": token(page)}).status_code == 303
    assert db.session.get(Session, ook).cancelled_at is None  # not confirmed: nothing happens
    response = admin_client.post(f"{url}/cancel", data={"csrf_token": token(page), "confirm": "y"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Session, ook).is_cancelled
    notices = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind == "session_cancelled")
        .order_by(OutboxMessage.id)
    ).all()
    # The one who held a place gets their invitation without it; the waiting one keeps theirs.
    assert [m.calendar_method for m in notices] == ["REQUEST", None]
    # Nobody can take it any more, in the API or on the public pages.
    data = validation.RegistrationInput(**registration_data("late"), sessions=[ook])
    with pytest.raises(RuleError) as raised:
        lifecycle.register(db.session, event, data, clock.now, "test")
    assert raised.value.code == "session_cancelled"
    db.session.rollback()
    api = client.get("/api/v1/events/klein").get_json()
    assert next(s for s in api["sessions"] if s["id"] == ook)["cancelled"] is True
    public = client.get(f"/events/klein/sessions/{ook}").get_data(as_text=True)
    assert "Deze sessie is geannuleerd." in public
    assert db.session.get(Session, groot).cancelled_at is None


def textareas(page: str) -> dict[str, str]:
    return dict(re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>\r?\n?([^<]*)</textarea>', page))


def test_edit_forms_show_local_times_and_saving_unchanged_moves_nothing(
    client, db, organiser, small_event
) -> None:
    """WTForms prefers the object's (UTC) attributes to the local times given beside it."""
    event = db.session.get(Event, small_event["event"])
    starts, opens = event.starts_at, event.registration_opens_at
    page = client.get("/admin/events/klein/edit").get_data(as_text=True)
    assert 'value="2027-02-04T09:00"' in page  # 08:00 UTC, 09:00 in Amsterdam
    data = {**form_data(page), **textareas(page)}
    assert data["objectives"] == ""  # not "[]"
    assert client.post("/admin/events/klein/edit", data=data).status_code == 303
    db.session.expire_all()
    event = db.session.get(Event, small_event["event"])
    assert (event.starts_at, event.registration_opens_at) == (starts, opens)

    round_id = event.rounds[0].id
    page = client.get(f"/admin/events/klein/rounds/{round_id}/edit").get_data(as_text=True)
    assert 'value="2027-02-04T13:00"' in page
    opening = small_event["opening"]
    page = client.get(f"/admin/events/klein/sessions/{opening}/edit").get_data(as_text=True)
    assert 'value="2027-02-04T09:30"' in page
