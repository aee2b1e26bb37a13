"""Back-office rules and the audit trail live in the services, not in the views.

Each test calls a service the way a CLI command, an API endpoint or a view would, without a
request, and checks that the rule holds and that the same audit entry is written.
"""

import pytest
from sqlalchemy import select

from symposium.models import AuditEntry, Event, EventStatus, Membership, Role, Session, User
from symposium.services.accounts import access
from symposium.services.core.errors import RuleError
from symposium.services.programme import editing
from symposium.services.registration import lifecycle, places, validation
from tests.conftest import registration_data

PASSWORD = "correct horse battery"


@pytest.fixture
def people(db, small_event, clock):  # type: ignore[no-untyped-def]
    """An organiser of the small event and an admin."""
    event = db.session.get(Event, small_event["event"])
    organiser, _ = access.create_user(db.session, "org@example.org", Role.ORGANISER, clock.now,
                                      event=event, password=PASSWORD)  # fmt: skip
    admin, _ = access.create_user(db.session, "boss@example.org", Role.ADMIN, clock.now,
                                  password=PASSWORD)  # fmt: skip
    db.session.commit()
    return event, organiser, admin


def waiting(db, event, clock, small_event):  # type: ignore[no-untyped-def]
    """Someone on the waiting list of the one-place session "ook-r2"."""
    for n in ("holder", "waiter"):
        data = validation.RegistrationInput(
            **registration_data(n), sessions=[small_event["ook-r2"]]
        )
        outcome = lifecycle.register(db.session, event, data, clock.now, "test")
        db.session.commit()
    (enrolment,) = outcome.registration.enrolments
    assert enrolment.status == "waitlisted"
    return enrolment


def entries(db, action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_an_override_needs_an_admin_even_when_the_caller_forgets(
    db, people, clock, small_event
) -> None:
    event, organiser, admin = people
    enrolment = waiting(db, event, clock, small_event)
    with pytest.raises(RuleError) as refused:
        places.promote_by_hand(db.session, organiser, enrolment, clock.now, override_reason="x")
    assert refused.value.code == "override_not_allowed"
    db.session.rollback()
    with pytest.raises(RuleError) as refused:
        places.promote_by_hand(db.session, None, enrolment, clock.now, override_reason="x")
    assert refused.value.code == "override_not_allowed"
    db.session.rollback()
    with pytest.raises(RuleError) as refused:
        places.promote_by_hand(db.session, admin, enrolment, clock.now, override_reason="  ")
    assert (refused.value.code, refused.value.field) == ("override_reason_required", "reason")
    db.session.rollback()
    assert db.session.get(type(enrolment), enrolment.id).status == "waitlisted"

    places.promote_by_hand(db.session, admin, enrolment, clock.now, override_reason="speaker")
    db.session.commit()
    assert db.session.get(type(enrolment), enrolment.id).status == "confirmed"
    (entry,) = entries(db, "promoted_with_override")
    assert (entry.user_id, entry.note) == (admin.id, "speaker")


def test_a_move_over_capacity_is_checked_by_the_service(db, people, clock, small_event) -> None:
    event, organiser, _ = people
    enrolment = waiting(db, event, clock, small_event)
    registration = enrolment.registration
    with pytest.raises(RuleError) as refused:
        lifecycle.move(db.session, organiser, registration, small_event["groot"], clock.now,
                       override_reason="because")  # fmt: skip
    assert refused.value.code == "override_not_allowed"
    db.session.rollback()
    moved = lifecycle.move(db.session, organiser, registration, small_event["groot"], clock.now)
    db.session.commit()
    assert moved.status == "confirmed"
    (entry,) = entries(db, "moved")
    assert entry.user_id == organiser.id and entry.after == {"groot": "confirmed"}
    assert entry.before == {"ook-r2": "waitlisted 1"}


def test_programme_changes_write_their_audit_entry(db, people, clock, small_event) -> None:
    event, organiser, _ = people
    session = db.session.get(Session, small_event["klein"])
    places.change_capacity(db.session, organiser, session, 12, clock.now)
    editing.set_status(db.session, organiser, event, EventStatus.DRAFT, clock.now)
    lifecycle.cancel_session(db.session, organiser, session, clock.now)
    db.session.commit()
    (capacity,) = entries(db, "capacity_changed")
    assert (capacity.user_id, capacity.before, capacity.after["capacity"]) == (
        organiser.id,
        {"capacity": 10},
        12,
    )
    (status,) = entries(db, "event_status")
    assert (status.before, status.after) == ({"status": "published"}, {"status": "draft"})
    (cancelled,) = entries(db, "session_cancelled")
    assert cancelled.target == "session klein" and cancelled.event_id == event.id


def test_a_refused_change_leaves_no_audit_entry(db, people, clock, small_event) -> None:
    event, organiser, _ = people
    session = db.session.get(Session, small_event["ook-r2"])
    waiting(db, event, clock, small_event)
    with pytest.raises(RuleError):
        places.change_capacity(db.session, organiser, session, 0, clock.now)
    db.session.rollback()
    assert entries(db, "capacity_changed") == []


def test_nobody_takes_away_their_own_admin_role(db, people, clock) -> None:
    _, organiser, admin = people
    own = db.session.scalars(select(Membership).where(Membership.user_id == admin.id)).one()
    with pytest.raises(access.AccessError) as refused:
        access.revoke_role(db.session, admin, own, clock.now)
    assert refused.value.code == "own_admin_role"
    db.session.rollback()
    other = db.session.scalars(select(Membership).where(Membership.user_id == organiser.id)).one()
    access.revoke_role(db.session, admin, other, clock.now)
    db.session.commit()
    assert db.session.get(Membership, own.id) is not None
    assert db.session.get(Membership, other.id) is None
    (entry,) = entries(db, "role_revoked")
    assert (entry.user_id, entry.target) == (admin.id, "user org@example.org")


def test_the_cli_leaves_the_same_trail_as_the_back_office(app, db, clock) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-user", "door@example.org", "--role", "admin", "--generate-password"]
    )
    assert result.exit_code == 0, result.output
    (entry,) = entries(db, "role_granted")
    assert (entry.user_id, entry.target, entry.after) == (
        None,
        "user door@example.org",
        {"role": "admin", "event": None},
    )


def test_one_password_rule_for_new_accounts_and_resets(db, people, clock) -> None:
    _, organiser, _ = people
    with pytest.raises(access.AccessError) as refused:
        access.create_user(db.session, "new@example.org", Role.ADMIN, clock.now, password="short")
    assert (refused.value.code, refused.value.field) == ("password_too_short", "password")
    db.session.rollback()
    organiser = db.session.get(User, organiser.id)
    with pytest.raises(access.AccessError):
        access.set_password(
            db.session, organiser, "x" * (access.MIN_PASSWORD_LENGTH - 1), clock.now
        )
    access.set_password(db.session, organiser, "x" * access.MIN_PASSWORD_LENGTH, clock.now)
    db.session.commit()
    assert organiser.check_password("x" * access.MIN_PASSWORD_LENGTH)
    assert [e.user_id for e in entries(db, "password_set")] == [organiser.id]


def test_a_repeated_action_records_one_entry(db, people, clock, small_event) -> None:
    event, organiser, _ = people
    registration = waiting(db, event, clock, small_event).registration
    for _attempt in range(2):  # a double click on Move
        lifecycle.move(db.session, organiser, registration, small_event["groot"], clock.now)
        db.session.commit()
    session = db.session.get(Session, small_event["klein"])
    for _attempt in range(2):
        places.change_capacity(db.session, organiser, session, 12, clock.now)
        db.session.commit()
    assert len(entries(db, "moved")) == 1
    assert len(entries(db, "capacity_changed")) == 1
