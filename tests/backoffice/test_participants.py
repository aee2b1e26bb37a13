"""Participants in the back-office: search, detail, and acting on someone's behalf."""

import re

import pytest
from sqlalchemy import select

from symposium.models import AuditEntry, Enrolment, Event, OutboxMessage, Role
from symposium.services.accounts import access
from symposium.services.core.errors import RuleError
from symposium.services.registration import lifecycle, places, validation
from tests.backoffice.test_admin import PASSWORD, login, token
from tests.conftest import registration_data


@pytest.fixture
def org(app, db, small_event, clock):  # type: ignore[no-untyped-def]
    event = db.session.get(Event, small_event["event"])
    access.create_user(db.session, "org@example.org", Role.ORGANISER, clock.now, event=event,
                       password=PASSWORD)  # fmt: skip
    access.create_user(db.session, "boss@example.org", Role.ADMIN, clock.now, password=PASSWORD)
    db.session.commit()
    return event


def register(db, event, clock, n, *session_ids, **extra):  # type: ignore[no-untyped-def]
    data = validation.RegistrationInput(**registration_data(n, **extra), sessions=list(session_ids))
    outcome = lifecycle.register(db.session, event, data, clock.now, "test")
    db.session.commit()
    return outcome.registration


def test_search_and_sort(client, db, org, clock) -> None:
    register(db, org, clock, "anna", organisation="GGZ Noord")
    register(db, org, clock, "bram", organisation="Huisartsen 100%")
    register(db, org, clock, "cees", organisation="Wijkteam Zuid")
    login(client, "org@example.org")
    page = client.get("/admin/events/klein/participants/").get_data(as_text=True)
    names = re.findall(r">Deelnemer (\w+)</a>", page)
    assert names == ["anna", "bram", "cees"]
    page = client.get("/admin/events/klein/participants/?sort=name&desc=y").get_data(as_text=True)
    assert re.findall(r">Deelnemer (\w+)</a>", page) == ["cees", "bram", "anna"]
    page = client.get("/admin/events/klein/participants/?q=noord").get_data(as_text=True)
    assert re.findall(r">Deelnemer (\w+)</a>", page) == ["anna"]
    # A LIKE wildcard in the query is taken literally.
    page = client.get("/admin/events/klein/participants/?q=100%25").get_data(as_text=True)
    assert re.findall(r">Deelnemer (\w+)</a>", page) == ["bram"]


def test_cancel_on_behalf_promotes_and_is_audited(client, db, org, small_event, clock) -> None:
    ook = small_event["ook-r2"]
    first = register(db, org, clock, 1, ook)
    second = register(db, org, clock, 2, ook)
    login(client, "org@example.org")
    page = client.get(f"/admin/events/klein/participants/{first.id}").get_data(as_text=True)
    response = client.post(
        f"/admin/events/klein/participants/{first.id}/cancel", data={"csrf_token": token(page)}
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert [e.status for e in second.enrolments] == ["confirmed"]
    (entry,) = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action != "event_file_loaded")
    ).all()
    assert entry.action == "registration_cancelled" and entry.user.email == "org@example.org"
    assert entry.before == {"ook-r2": "confirmed"} and entry.after == {}
    assert "audit" in client.get("/admin/events/klein/audit").get_data(as_text=True).lower()


def test_move_follows_the_rules_and_override_needs_admin_and_reason(
    client, db, org, small_event, clock
) -> None:
    ook, groot = small_event["ook-r2"], small_event["groot"]
    register(db, org, clock, "holder", ook)
    me = register(db, org, clock, "me", groot)
    url = f"/admin/events/klein/participants/{me.id}"

    login(client, "org@example.org")
    csrf = token(client.get(url).get_data(as_text=True))
    client.post(f"{url}/move", data={"csrf_token": csrf, "session_id": str(ook)})
    db.session.expire_all()
    live = {e.session_id: e.status for e in me.enrolments if e.is_live}
    assert live == {groot: "confirmed", ook: "waitlisted"}  # old place kept

    waiting = next(e for e in me.enrolments if e.session_id == ook and e.is_live)
    promote = f"{url}/sessions/{waiting.id}/promote"
    client.post(promote, data={"csrf_token": csrf, "override": "y", "reason": "spreker"})
    db.session.expire_all()
    assert waiting.status == "waitlisted"  # organisers may not override
    assert "Alleen een beheerder" in client.get(url).get_data(as_text=True)

    admin = client.application.test_client()
    login(admin, "boss@example.org")
    csrf = token(admin.get(url).get_data(as_text=True))
    admin.post(promote, data={"csrf_token": csrf, "override": "y", "reason": ""})
    db.session.expire_all()
    assert waiting.status == "waitlisted"  # no reason, no override
    admin.post(promote, data={"csrf_token": csrf, "override": "y", "reason": "co-presenter"})
    db.session.expire_all()
    confirmed = db.session.scalars(
        select(Enrolment).where(Enrolment.session_id == ook, Enrolment.status == "confirmed")
    ).all()
    assert len(confirmed) == 2  # one over capacity, by decision
    assert {e.session_id: e.status for e in me.enrolments if e.is_live} == {ook: "confirmed"}
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.note) == ("promoted_with_override", "co-presenter")
    assert entry.user.email == "boss@example.org"


def test_promote_by_hand_without_override_needs_a_free_place(client, db, org, small_event, clock):
    klein = small_event["klein"]
    for n in range(2):
        register(db, org, clock, f"gp{n}", klein, profession="huisarts")
    late = register(db, org, clock, "gp2", klein, profession="huisarts")  # GP quota full
    login(client, "org@example.org")
    url = f"/admin/events/klein/participants/{late.id}"
    csrf = token(client.get(url).get_data(as_text=True))
    client.post(f"{url}/sessions/{late.enrolments[0].id}/promote", data={"csrf_token": csrf})
    db.session.expire_all()
    assert late.enrolments[0].status == "waitlisted"
    assert "quotum" in client.get(url).get_data(as_text=True)


def test_resend_manage_link(client, db, org, clock) -> None:
    me = register(db, org, clock, "me")
    login(client, "org@example.org")
    url = f"/admin/events/klein/participants/{me.id}"
    client.post(f"{url}/resend", data={"csrf_token": token(client.get(url).get_data(as_text=True))})
    kinds = db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    assert kinds == ["registered", "manage_link"]


def test_registration_of_another_event_is_not_found(client, db, org, load_example, clock):
    load_example("7roses-symposium.toml")
    other = db.session.scalars(select(Event).where(Event.slug == "7roses-2027")).one()
    stranger = register(db, other, clock, "x")
    login(client, "org@example.org")
    assert client.get(f"/admin/events/klein/participants/{stranger.id}").status_code == 404


def test_a_move_and_its_override_are_one_transaction(db, org, small_event, clock) -> None:
    """A failing second step leaves nothing of the first (SQLite's write lock included)."""
    ook, groot = small_event["ook-r2"], small_event["groot"]
    register(db, org, clock, "holder", ook)
    me = register(db, org, clock, "me", groot)
    moved = lifecycle.change_session(db.session, me, ook, clock.now)
    assert moved.status == "waitlisted"
    with pytest.raises(RuleError):
        places.promote_by_hand(db.session, None, moved, clock.now)  # no place, no override
    db.session.rollback()
    live = db.session.scalars(
        select(Enrolment.session_id).where(
            Enrolment.registration_id == me.id, Enrolment.status != "cancelled"
        )
    ).all()
    assert live == [groot]
