"""The enrolment rules, called as the form, the API and the back-office call them."""

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from symposium.models import (
    Enrolment,
    EnrolmentChange,
    EnrolmentStatus,
    OutboxMessage,
    Registration,
    Session,
)
from symposium.services.core.errors import RuleError
from symposium.services.mail import render
from symposium.services.registration import lifecycle, links, places, validation
from symposium.services.registration.validation import RegistrationInput, RegistrationInvalid
from tests.conftest import registration_data

SECRET = "test"


def statuses(db, session_id: int) -> list[tuple[str, str, int | None]]:
    """(email, status, waitlist position) of the session's live enrolments, in list order."""
    rows = db.session.execute(
        select(Registration.email, Enrolment.status, Enrolment.waitlist_position)
        .join(Enrolment.registration)
        .where(Enrolment.session_id == session_id, Enrolment.status != EnrolmentStatus.CANCELLED)
        .order_by(
            Enrolment.waitlist_position.is_not(None), Enrolment.waitlist_position, Enrolment.id
        )
    ).all()
    return [(email.split("@")[0], str(status), pos) for email, status, pos in rows]


def live(registration: Registration, session_id: int) -> Enrolment:
    return next(e for e in registration.enrolments if e.session_id == session_id and e.is_live)


def test_places_are_confirmed_until_full_then_waitlisted(db, register, small_event) -> None:
    klein = small_event["klein"]
    for n in range(12):
        register(n, klein)
    rows = statuses(db, klein)
    assert [s for _, s, _ in rows].count("confirmed") == 10
    assert rows[-2:] == [("deelnemer10", "waitlisted", 1), ("deelnemer11", "waitlisted", 2)]
    assert places.places_left(db.session, [db.session.get(Session, klein)]) == {klein: 0}


def test_quota_waitlists_a_profession_while_places_are_free(db, register, small_event) -> None:
    klein = small_event["klein"]
    for n in range(3):
        register(f"gp{n}", klein, profession="huisarts")
    assert statuses(db, klein) == [
        ("deelnemergp0", "confirmed", None),
        ("deelnemergp1", "confirmed", None),
        ("deelnemergp2", "waitlisted", 1),
    ]


def test_promotion_skips_a_profession_whose_quota_is_full(db, register, small_event, clock):
    klein = small_event["klein"]
    register("gp0", klein, profession="huisarts")
    register("gp1", klein, profession="huisarts")
    gz = [register(n, klein).registration for n in range(8)]  # now full: 2 GPs + 8
    register("gp2", klein, profession="huisarts")  # waitlist 1, but the GP quota is full
    register("late", klein)  # waitlist 2
    assert statuses(db, klein)[-2:] == [
        ("deelnemergp2", "waitlisted", 1),
        ("deelnemerlate", "waitlisted", 2),
    ]

    lifecycle.cancel_enrolment(db.session, gz[0], live(gz[0], klein).id, clock.now)
    db.session.commit()
    rows = statuses(db, klein)
    assert ("deelnemerlate", "confirmed", None) in rows
    assert rows[-1] == ("deelnemergp2", "waitlisted", 1)  # skipped, and moved up

    gp0 = db.session.scalars(
        select(Registration).where(Registration.email == "deelnemergp0@example.org")
    ).one()
    lifecycle.cancel_registration(db.session, gp0, clock.now)
    db.session.commit()
    assert ("deelnemergp2", "confirmed", None) in statuses(db, klein)
    promotions = db.session.scalars(
        select(EnrolmentChange).where(EnrolmentChange.reason.like("promoted:%"))
    ).all()
    assert sorted(p.reason for p in promotions) == [
        "promoted:cancelled_by_registrant",
        "promoted:registration_cancelled",
    ]
    assert all(p.at == clock.now and p.to_status == "confirmed" for p in promotions)
    kinds = db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    assert kinds.count("promoted") == 2


def test_raising_capacity_promotes_through_the_same_rule(db, register, small_event, clock):
    ook = small_event["ook-r2"]
    for n in range(3):
        register(n, ook)
    session = db.session.get(Session, ook)
    session.capacity = 2
    db.session.flush()
    promoted = places.fill_places(db.session, [ook], clock.now, "promoted:capacity_raised")
    db.session.commit()
    assert [e.registration.email for e in promoted] == ["deelnemer1@example.org"]
    assert statuses(db, ook)[-1] == ("deelnemer2", "waitlisted", 1)


def test_switch_to_a_free_workshop_releases_the_old_place(db, register, small_event, clock):
    groot, ook = small_event["groot"], small_event["ook-r2"]
    me = register("me", groot).registration
    result = lifecycle.change_session(db.session, me, ook, clock.now)
    db.session.commit()
    assert result.status is EnrolmentStatus.CONFIRMED
    assert statuses(db, groot) == []
    assert statuses(db, ook) == [("deelnemerme", "confirmed", None)]
    # Submitting the same switch again changes nothing.
    again = lifecycle.change_session(db.session, me, ook, clock.now)
    db.session.commit()
    assert again.id == result.id
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 2


def test_waitlisted_switch_keeps_the_old_place_until_promoted(db, register, small_event, clock):
    groot, ook = small_event["groot"], small_event["ook-r2"]
    holder = register("holder", ook).registration
    me = register("me", groot).registration
    switch = lifecycle.change_session(db.session, me, ook, clock.now)
    db.session.commit()
    assert switch.status is EnrolmentStatus.WAITLISTED and switch.waitlist_position == 1
    assert switch.replaces is not None and switch.replaces.session_id == groot
    assert live(me, groot).status is EnrolmentStatus.CONFIRMED  # still has the old place

    lifecycle.cancel_registration(db.session, holder, clock.now)
    db.session.commit()
    db.session.expire_all()
    assert statuses(db, ook) == [("deelnemerme", "confirmed", None)]
    assert statuses(db, groot) == []
    reasons = [c.reason for e in me.enrolments for c in e.changes]
    assert "switched" in reasons and "promoted:registration_cancelled" in reasons


def test_cancelling_the_old_place_turns_a_pending_switch_into_a_plain_choice(
    db, register, small_event, clock
) -> None:
    groot, ook = small_event["groot"], small_event["ook-r2"]
    register("holder", ook)
    me = register("me", groot).registration
    switch = lifecycle.change_session(db.session, me, ook, clock.now)
    db.session.commit()
    lifecycle.cancel_enrolment(db.session, me, live(me, groot).id, clock.now)
    db.session.commit()
    db.session.refresh(switch)
    assert switch.replaces_id is None and switch.status is EnrolmentStatus.WAITLISTED


def test_cancel_is_idempotent(db, register, small_event, clock) -> None:
    me = register("me", small_event["klein"]).registration
    enrolment_id = live(me, small_event["klein"]).id
    assert lifecycle.cancel_enrolment(db.session, me, enrolment_id, clock.now) is True
    db.session.commit()
    assert lifecycle.cancel_enrolment(db.session, me, enrolment_id, clock.now) is False
    assert lifecycle.cancel_registration(db.session, me, clock.now) is True
    db.session.commit()
    assert lifecycle.cancel_registration(db.session, me, clock.now) is False
    kinds = db.session.scalars(select(OutboxMessage.kind)).all()
    assert kinds.count("enrolment_cancelled") == 1 and kinds.count("registration_cancelled") == 1


def test_one_registration_per_address_and_a_resubmit_creates_nothing(db, register, small_event):
    first = register("me", small_event["klein"], submission_key="form-1")
    assert first.created
    resubmit = register("me", small_event["klein"], submission_key="form-1")
    assert resubmit.resubmitted and resubmit.token == first.token
    other_form = register("me", small_event["groot"], submission_key="form-2")
    assert not other_form.created and not other_form.resubmitted
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 1
    kinds = db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    assert kinds == ["registered", "manage_link"]
    # The re-sent link is the same working link.
    render.render_pending(db.session)  # written when sent; write them now to read them
    link = db.session.scalars(select(OutboxMessage.body_text).order_by(OutboxMessage.id)).all()[1]
    assert first.token in link


def test_a_cancelled_registration_can_register_again(db, register, small_event, clock) -> None:
    me = register("me", small_event["klein"]).registration
    lifecycle.cancel_registration(db.session, me, clock.now)
    db.session.commit()
    again = register("me", small_event["groot"])
    assert again.created and again.registration.id == me.id and again.registration.is_active
    assert [e.session_id for e in again.registration.enrolments if e.is_live] == [
        small_event["groot"]
    ]


def test_manage_token_is_long_random_and_stored_only_as_hash(db, register, small_event) -> None:
    outcome = register("me")
    token = outcome.token
    assert len(token) >= 22  # at least 128 bits in URL-safe base64
    stored = db.session.get(Registration, outcome.registration.id)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(db.session.execute(select(Registration.__table__)).all())
    assert links.find_by_token(db.session, token).id == stored.id
    assert links.find_by_token(db.session, token[:-1] + "x") is None


def test_rolled_back_registration_queues_no_mail(db, event, clock) -> None:
    data = RegistrationInput(**registration_data("ghost"))
    lifecycle.register(db.session, event, data, clock.now, SECRET)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_mail_is_in_the_registrants_language(db, register, small_event) -> None:
    register("en", small_event["klein"], language="en")
    register("nl", small_event["klein"])
    render.render_pending(db.session)  # written when sent; write them now to read them
    subjects = dict(
        db.session.execute(select(OutboxMessage.to_address, OutboxMessage.subject)).all()
    )
    assert subjects["deelnemeren@example.org"] == "Your registration for Klein symposium"
    assert subjects["deelnemernl@example.org"] == "Uw inschrijving voor Klein symposium"


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"name": ""}, "invalid_name", "name"),
        ({"name": "x" * 201}, "field_too_long", "name"),
        ({"email": "not-an-address"}, "invalid_email", "email"),
        ({"consent": False}, "consent_required", "consent"),
        ({"profession": "astronaut"}, "invalid_profession", "profession"),
        ({"identifiers": {"BIG": "1234"}}, "invalid_identifier", "identifier_BIG"),
        ({"identifiers": {}}, "identifier_required", "identifier_BIG"),
        ({"phone": "call me maybe"}, "invalid_phone", "phone"),
    ],
)
def test_bad_fields_are_refused_with_their_field(db, event, clock, changes, code, field) -> None:
    data = RegistrationInput(**{**registration_data("x", "psychiater"), **changes})
    with pytest.raises(RegistrationInvalid) as raised:
        lifecycle.register(db.session, event, data, clock.now, SECRET)
    assert (code, field) in [(e.code, e.field) for e in raised.value.errors]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_all_field_problems_are_reported_at_once(db, event, clock) -> None:
    data = RegistrationInput(**{**registration_data("x"), "name": "", "email": "nope"})
    with pytest.raises(RegistrationInvalid) as raised:
        lifecycle.register(db.session, event, data, clock.now, SECRET)
    assert {e.field for e in raised.value.errors} >= {"name", "email"}


@pytest.mark.parametrize(
    ("keys", "profession", "code"),
    [
        (["klein", "psy"], "gz-psycholoog", "round_conflict"),
        (["psy"], "huisarts", "not_eligible"),
        (["opening"], "gz-psycholoog", "not_enrollable"),
    ],
)
def test_choices_that_break_a_rule(db, event, clock, small_event, keys, profession, code) -> None:
    data = RegistrationInput(**registration_data("x", profession))
    data.sessions = [small_event[k] for k in keys]
    with pytest.raises(RuleError) as raised:
        lifecycle.register(db.session, event, data, clock.now, SECRET)
    assert raised.value.code == code


def test_overlapping_sessions_conflict() -> None:
    from datetime import UTC, datetime

    from symposium.models import Meeting
    from symposium.services.programme.rules import SessionRule

    at = datetime(2027, 3, 9, 18, tzinfo=UTC)
    a = Session(title="A", meetings=[Meeting(starts_at=at, ends_at=at + timedelta(hours=2))])
    b = Session(title="B", starts_at=at + timedelta(hours=1), ends_at=at + timedelta(hours=3))
    c = Session(title="C", starts_at=at + timedelta(hours=2), ends_at=at + timedelta(hours=3))
    a, b, c = (SessionRule.of(s) for s in (a, b, c))
    assert validation.overlaps(a, b)
    assert not validation.overlaps(a, c)


def test_registration_window_and_status(db, event, clock) -> None:
    data = RegistrationInput(**registration_data("x"))
    clock.now = event.registration_closes_at + timedelta(minutes=1)
    with pytest.raises(RuleError) as raised:
        lifecycle.register(db.session, event, data, clock.now, SECRET)
    assert (raised.value.code, raised.value.status) == ("registration_closed", 409)
    clock.now = event.registration_opens_at - timedelta(minutes=1)
    with pytest.raises(RuleError) as raised:
        lifecycle.register(db.session, event, data, clock.now, SECRET)
    assert raised.value.code == "registration_not_open"


def test_event_capacity_is_a_hard_limit(db, event, register, clock) -> None:
    event.capacity = 2
    db.session.commit()
    register(1)
    register(2)
    with pytest.raises(RuleError) as raised:
        register(3)
    assert raised.value.code == "event_full"


def test_a_new_registration_reads_no_column_back(db, event, small_event, clock) -> None:
    """Inserted with Core and handed back whole (rows.loaded): reading its columns in the
    same transaction, as the outbox and the invitation do, costs no query."""
    data = RegistrationInput(**registration_data("anna"), sessions=[small_event["klein"]])
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(" ".join(str(args[2]).split()))

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        person = lifecycle.register(db.session, event, data, clock.now, "test").registration
        values = {c.key: getattr(person, c.key) for c in Registration.__table__.columns}
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    inserted = next(
        i for i, s in enumerate(statements) if s.startswith("INSERT INTO registrations")
    )
    read_back = [s for s in statements[inserted:] if s.startswith("SELECT registrations.")]
    assert read_back == []
    assert values["unsubscribed_at"] is None and values["anonymised_at"] is None
