"""Walk-ins (services/checkin/walk_ins.py, blueprints/door/walk_ins.py): an organiser adds
someone at the door, through the registration rules, and they are checked in at once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from symposium.models import (
    AuditEntry,
    Enrolment,
    EnrolmentStatus,
    Presence,
    Registration,
    Role,
    Via,
)
from symposium.services.accounts import access
from symposium.services.checkin import walk_ins
from symposium.services.core.errors import RuleError
from symposium.services.registration.validation import RegistrationInput
from tests.checkin.conftest import local
from tests.checkin.test_door_pages import (  # noqa: F401  (fixtures)
    OPEN,
    answer,
    csrf_of,
    quick_hashes,
    register,
    sign_in,
)

ORGANISER_PASSWORD = "organiser-password"


@pytest.fixture
def organiser(db, event, clock):  # type: ignore[no-untyped-def]
    user, _ = access.create_user(
        db.session, "org@example.org", Role.ORGANISER, clock.now, event=event,
        password=ORGANISER_PASSWORD,
    )  # fmt: skip
    db.session.commit()
    return user


@pytest.fixture
def at_the_door(client, organiser, clock):  # type: ignore[no-untyped-def]
    """The organiser, signed in, at 13:02 on the day (registration closed days ago)."""
    clock.now = local(13, 2)
    sign_in(client, organiser.email, ORGANISER_PASSWORD)
    return client


def walk_in_data(n: int | str = "w", profession: str = "gz-psycholoog", **extra):  # type: ignore[no-untyped-def]
    big = {"BIG": "12345678901"} if profession not in ("overig", "basispsycholoog") else {}
    return RegistrationInput(
        name=f"Binnenloper {n}", email=f"binnenloper{n}@example.org", profession=profession,
        consent=True, identifiers=big, submission_key=f"key-{n}", **extra,
    )  # fmt: skip


def count(db, model) -> int:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


# --------------------------------------------------------------------------- the service


def test_a_walk_in_is_registered_into_the_session_and_checked_in(
    db, organiser, sessions, clock
) -> None:
    clock.now = local(13, 2)
    done = walk_ins.walk_in(
        db.session, organiser, sessions["klein"], walk_in_data(), clock.now, "test"
    )
    db.session.commit()
    assert done.created and done.answer.verdict.value == "welcome"
    registration = done.registration
    (enrolment,) = registration.enrolments
    assert enrolment.session_id == sessions["klein"].id
    assert enrolment.status is EnrolmentStatus.CONFIRMED
    (row,) = db.session.scalars(select(Presence)).all()
    assert row.registration_id == registration.id and row.checked_in_via is Via.WALK_IN
    assert row.checked_in_by_id == organiser.id and row.checked_in_at == clock.now
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "walk_in")).one()
    assert entry.user_id == organiser.id and "klein" in entry.note
    assert registration.checkin_code  # a ticket for the next session's door


def test_the_same_form_twice_is_one_walk_in(db, organiser, sessions, clock) -> None:
    clock.now = local(13, 2)
    for _ in range(2):
        walk_ins.walk_in(
            db.session, organiser, sessions["klein"], walk_in_data(), clock.now, "test"
        )
        db.session.commit()
    assert count(db, Registration) == 1 and count(db, Presence) == 1
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "walk_in")
        )
        == 1
    )


def test_a_full_session_refuses_a_walk_in_unless_overridden_with_a_reason(
    db,
    organiser,
    sessions,
    register,
    clock,
) -> None:
    register(1, "ook-r2")  # its one place
    clock.now = local(15, 5)
    session = sessions["ook-r2"]
    with pytest.raises(RuleError) as refused:
        walk_ins.walk_in(db.session, organiser, session, walk_in_data(), clock.now, "test")
    assert refused.value.code == "no_place"
    db.session.rollback()
    with pytest.raises(RuleError) as no_reason:
        walk_ins.walk_in(
            db.session, organiser, session, walk_in_data(), clock.now, "test",
            override_reason="  ",
        )  # fmt: skip
    assert no_reason.value.code == "override_reason_required"
    db.session.rollback()
    assert count(db, Registration) == 1 and count(db, Presence) == 0

    done = walk_ins.walk_in(
        db.session, organiser, session, walk_in_data(), clock.now, "test",
        override_reason="Spreker vroeg om een extra stoel",
    )  # fmt: skip
    db.session.commit()
    confirmed = db.session.scalar(
        select(func.count())
        .select_from(Enrolment)
        .where(Enrolment.session_id == session.id, Enrolment.status == EnrolmentStatus.CONFIRMED)
    )
    assert confirmed == 2 and done.answer.verdict.value == "welcome"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "walk_in")).one()
    assert "extra stoel" in entry.note


def test_the_quota_of_a_profession_holds_for_walk_ins(
    db,
    organiser,
    sessions,
    register,
    clock,
) -> None:
    register(1, "klein", profession="huisarts")
    register(2, "klein", profession="huisarts")  # the quota of two
    clock.now = local(13, 2)
    with pytest.raises(RuleError) as refused:
        walk_ins.walk_in(
            db.session, organiser, sessions["klein"], walk_in_data(profession="huisarts"),
            clock.now, "test",
        )  # fmt: skip
    assert refused.value.code == "no_place"


def test_a_door_account_cannot_add_walk_ins_nor_override(
    db, door, organiser, sessions, clock
) -> None:
    clock.now = local(13, 2)
    with pytest.raises(RuleError) as refused:
        walk_ins.walk_in(db.session, door, sessions["klein"], walk_in_data(), clock.now, "test")
    assert refused.value.status == 403
    db.session.rollback()
    assert count(db, Registration) == 0


def test_someone_registered_already_is_found_by_name_not_added_again(
    db,
    organiser,
    sessions,
    register,
    clock,
) -> None:
    register("w", "klein")  # deelnemerw@example.org
    clock.now = local(13, 2)
    data = walk_in_data()
    data.email = "deelnemerw@example.org"
    with pytest.raises(RuleError) as refused:
        walk_ins.walk_in(db.session, organiser, sessions["klein"], data, clock.now, "test")
    assert refused.value.code == "already_registered" and refused.value.field == "email"


# --------------------------------------------------------------------------- the pages


def form_page(client, session_id: int, profession: str = "huisarts") -> str:  # type: ignore[no-untyped-def]
    response = client.get(
        f"/door/klein/sessions/{session_id}/walk-in", query_string={"profession": profession}
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def fields_of(page: str) -> dict[str, str]:
    return dict(
        re.findall(
            r'<input[^>]*name="(csrf_token|profession|submission_key)"[^>]*value="([^"]*)"', page
        )
    )


def test_an_organiser_adds_a_walk_in_and_sees_them_welcomed(at_the_door, db, sessions) -> None:
    session_id = sessions["klein"].id
    first = at_the_door.get(f"/door/klein/sessions/{session_id}/walk-in")
    assert first.status_code == 200 and "Beroep" in first.get_data(as_text=True)
    page = form_page(at_the_door, session_id)
    assert "BIG-nummer" in page and "10 plaatsen vrij" in page
    data = {
        **fields_of(page), "name": "Zoë Çelik", "email": "zoe@example.org",
        "identifier_BIG": "12345678901", "consent": "y",
    }  # fmt: skip
    response = at_the_door.post(f"/door/klein/sessions/{session_id}/walk-in", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    shown = at_the_door.get(response.headers["Location"]).get_data(as_text=True)
    colour, text = answer(shown)
    assert colour == "green" and "Zoë Çelik" in text
    again = at_the_door.post(f"/door/klein/sessions/{session_id}/walk-in", data=data)
    assert again.status_code == 303  # a double submit: the same walk-in, shown again
    assert count(db, Registration) == 1 and count(db, Presence) == 1


def test_mistakes_come_back_next_to_their_fields(at_the_door, db, sessions) -> None:
    session_id = sessions["klein"].id
    page = form_page(at_the_door, session_id)
    data = {**fields_of(page), "name": "", "email": "geen adres", "identifier_BIG": "123"}
    response = at_the_door.post(f"/door/klein/sessions/{session_id}/walk-in", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for field in ("name", "email", "consent", "identifier_BIG"):
        assert f'id="{field}-error"' in html, field
    assert count(db, Registration) == 0


def test_a_full_session_at_the_page_needs_the_override_and_its_reason(
    at_the_door,
    db,
    sessions,
    register,
) -> None:
    register(1, "ook-r2")
    session_id = sessions["ook-r2"].id
    page = form_page(at_the_door, session_id)
    assert "Deze sessie is vol" in page
    data = {
        **fields_of(page), "name": "Laatkomer", "email": "laat@example.org",
        "identifier_BIG": "12345678901", "consent": "y",
    }  # fmt: skip
    full = at_the_door.post(f"/door/klein/sessions/{session_id}/walk-in", data=data)
    assert full.status_code == 422 and "geen vrije plaats" in full.get_data(as_text=True).lower()
    no_reason = at_the_door.post(
        f"/door/klein/sessions/{session_id}/walk-in", data={**data, "override": "y"}
    )
    assert no_reason.status_code == 422 and 'id="reason-error"' in no_reason.get_data(as_text=True)
    done = at_the_door.post(
        f"/door/klein/sessions/{session_id}/walk-in",
        data={**data, "override": "y", "reason": "Extra stoel gezet"},
    )
    assert done.status_code == 303
    assert count(db, Presence) == 1


def test_a_profession_the_session_does_not_admit_is_not_offered(at_the_door, sessions) -> None:
    url = f"/door/klein/sessions/{sessions['psy'].id}/walk-in"
    page = at_the_door.get(url).get_data(as_text=True)
    assert 'value="gz-psycholoog"' in page and 'value="huisarts"' not in page
    refused = at_the_door.get(url, query_string={"profession": "huisarts"})
    assert refused.status_code == 422 and 'id="profession-error"' in refused.get_data(as_text=True)


def test_door_accounts_and_strangers_cannot_open_the_walk_in_page(
    app, client, db, door, sessions, clock
) -> None:
    url = f"/door/klein/sessions/{sessions['klein'].id}/walk-in"
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/admin/login" in anonymous.headers["Location"]
    sign_in(client, door.email)
    assert client.get(url).status_code == 403
    token = csrf_of(
        client.get(f"/door/klein/sessions/{sessions['klein'].id}/").get_data(as_text=True)
    )
    assert client.post(url, data={"csrf_token": token}).status_code == 403
