"""Presence (services/checkin/presence.py): who may come in, check-in and check-out, exactly
once per person and session whatever the door sends twice."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from symposium.models import AuditEntry, CheckinScan, Presence, Via
from symposium.services.checkin import presence
from symposium.services.checkin.presence import Direction, Reason, Verdict
from symposium.services.core.errors import RuleError
from symposium.services.registration import lifecycle
from tests.checkin.conftest import local


def at_door(clock, hour: int, minute: int = 0) -> None:  # type: ignore[no-untyped-def]
    clock.now = local(hour, minute)


def live_presences(db, session) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(
        select(func.count())
        .select_from(Presence)
        .where(Presence.session_id == session.id, Presence.undone_at.is_(None))
    )


def scan(db, door, session, clock, code, client_id=None, **kwargs):  # type: ignore[no-untyped-def]
    answer = presence.scan(
        db.session, door, session, client_id=client_id or presence.new_client_id(),
        now=clock.now, code=code, **kwargs,
    )  # fmt: skip
    db.session.commit()
    return answer


# --------------------------------------------------------------------------- the answers


def test_a_confirmed_place_is_welcome_and_recorded_once_with_who_when_and_how(
    db, register, sessions, door, clock
) -> None:
    outcome = register(1, "klein")
    code = outcome.registration.checkin_code
    at_door(clock, 13, 2)
    answer = scan(db, door, sessions["klein"], clock, code.lower())
    assert (answer.verdict, answer.colour) == (Verdict.WELCOME, "green")
    assert answer.registration.name == "Deelnemer 1"
    row = answer.presence
    assert (row.checked_in_at, row.checked_in_by_id, row.checked_in_via) == (
        local(13, 2),
        door.id,
        Via.SCAN,
    )
    assert row.enrolment_id == outcome.registration.enrolments[0].id
    assert not row.admitted_anyway

    again = scan(db, door, sessions["klein"], clock, code)
    assert (again.verdict, again.colour) == (Verdict.ALREADY, "grey")
    assert again.presence.id == row.id
    assert again.presence.checked_in_by.email == "deur@example.org"
    assert live_presences(db, sessions["klein"]) == 1


def test_everyone_registered_is_welcome_at_a_plenary_session(
    db, register, sessions, door, clock
) -> None:
    code = register(1).registration.checkin_code  # no workshop at all
    at_door(clock, 9, 20)
    assert scan(db, door, sessions["opening"], clock, code).verdict is Verdict.WELCOME


def test_a_place_in_another_workshop_of_the_round_is_orange_until_admitted_anyway(
    db, register, sessions, door, clock
) -> None:
    registration = register(1, "psy", profession="psychiater").registration
    at_door(clock, 13, 0)
    answer = scan(db, door, sessions["klein"], clock, registration.checkin_code)
    assert (answer.verdict, answer.colour) == (Verdict.OTHER_SESSION, "orange")
    assert answer.other.key == "psy"
    assert live_presences(db, sessions["klein"]) == 0

    admitted = scan(
        db, door, sessions["klein"], clock, registration.checkin_code, admit_anyway=True
    )
    assert admitted.verdict is Verdict.WELCOME
    assert admitted.presence.admitted_anyway and admitted.presence.enrolment_id is None
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "admitted_anyway")
    ).one()
    assert "klein" in entry.note and "psy" in entry.note


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("waitlisted", Reason.WAITLISTED),
        ("cancelled_place", Reason.ENROLMENT_CANCELLED),
        ("cancelled_registration", Reason.REGISTRATION_CANCELLED),
        ("round_2_only", Reason.NOT_REGISTERED),
    ],
)
def test_refusals_say_why_and_record_nothing(
    db, register, sessions, door, clock, setup, reason
) -> None:
    if setup == "waitlisted":
        register("a", "ook-r2")
        registration = register(1, "ook-r2").registration  # capacity 1: waiting list
        session = sessions["ook-r2"]
    elif setup == "cancelled_place":
        registration = register(1, "klein").registration
        lifecycle.cancel_enrolment(
            db.session, registration, registration.enrolments[0].id, clock.now
        )
        db.session.commit()
        session = sessions["klein"]
    elif setup == "cancelled_registration":
        registration = register(1, "klein").registration
        lifecycle.cancel_registration(db.session, registration, clock.now)
        db.session.commit()
        session = sessions["klein"]
    else:
        registration = register(1, "groot").registration
        session = sessions["klein"]
    clock.now = session.effective_starts_at
    answer = scan(db, door, session, clock, registration.checkin_code, admit_anyway=True)
    assert (answer.verdict, answer.colour, answer.reason) == (Verdict.REFUSED, "red", reason)
    assert answer.reason_text
    if setup == "waitlisted":
        assert answer.detail == "1" and "1" in answer.reason_text
    assert live_presences(db, session) == 0


def test_an_unknown_code_and_a_code_of_another_event_are_refused(
    db, register, sessions, door, clock, load_example
) -> None:
    load_example("7roses-symposium.toml")
    from symposium.models import Event
    from symposium.services.registration.validation import RegistrationInput
    from tests.conftest import registration_data

    other = db.session.scalars(select(Event).where(Event.slug != "klein")).first()
    stranger = lifecycle.register(
        db.session, other, RegistrationInput(**registration_data(9)), clock.now, "test"
    ).registration
    db.session.commit()
    at_door(clock, 9, 30)
    unknown = scan(db, door, sessions["opening"], clock, "AAAA-BBBB-CCCCC")
    assert (unknown.verdict, unknown.reason) == (Verdict.REFUSED, Reason.UNKNOWN_CODE)
    garbage = scan(db, door, sessions["opening"], clock, "not a code")
    assert garbage.reason is Reason.UNKNOWN_CODE
    elsewhere = scan(db, door, sessions["opening"], clock, stranger.checkin_code)
    assert (elsewhere.verdict, elsewhere.reason) == (Verdict.REFUSED, Reason.OTHER_EVENT)
    assert other.title in elsewhere.reason_text
    assert live_presences(db, sessions["opening"]) == 0


# --------------------------------------------------------------------------- once, whatever is sent


def test_a_replayed_offline_batch_out_of_order_records_each_scan_once(
    db, register, sessions, door, clock
) -> None:
    codes = [register(n, "klein").registration.checkin_code for n in range(6)]
    at_door(clock, 14, 0)
    batch = [
        {"client_id": f"phone-1-{n}", "code": code, "at": local(13, n)}
        for n, code in enumerate(codes)
    ]
    first = [scan(db, door, sessions["klein"], clock, **s).verdict for s in batch]
    assert first == [Verdict.WELCOME] * 6
    again = batch[::-1] + random.Random(4).sample(batch, len(batch))
    replies = [scan(db, door, sessions["klein"], clock, **s) for s in again]
    assert all(r.replayed and r.verdict is Verdict.WELCOME for r in replies)
    assert live_presences(db, sessions["klein"]) == 6
    assert db.session.scalar(select(func.count()).select_from(CheckinScan)) == 6
    # Recorded when scanned (offline), not when the batch arrived.
    times = db.session.scalars(
        select(Presence.checked_in_at).order_by(Presence.checked_in_at)
    ).all()
    assert times == [local(13, n) for n in range(6)]


def test_a_client_id_is_one_scan_even_when_its_second_sending_names_someone_else(
    db, register, sessions, door, clock
) -> None:
    a = register(1, "klein").registration.checkin_code
    b = register(2, "klein").registration.checkin_code
    at_door(clock, 13, 0)
    scan(db, door, sessions["klein"], clock, a, client_id="same")
    reply = scan(db, door, sessions["klein"], clock, b, client_id="same")
    assert reply.replayed and reply.registration.name == "Deelnemer 1"
    assert live_presences(db, sessions["klein"]) == 1


def test_scan_times_outside_the_session_day_or_in_the_future_are_refused(
    db, register, sessions, door, clock
) -> None:
    code = register(1, "klein").registration.checkin_code
    at_door(clock, 13, 0)
    ahead = scan(db, door, sessions["klein"], clock, code, at=clock.now + timedelta(minutes=10))
    assert (ahead.verdict, ahead.reason) == (Verdict.REFUSED, Reason.TIME_IN_FUTURE)
    yesterday = scan(db, door, sessions["klein"], clock, code, at=local(23, 30, day=3))
    assert (yesterday.verdict, yesterday.reason) == (Verdict.REFUSED, Reason.TIME_NOT_SESSION_DAY)
    assert "2027-02-03" in yesterday.reason_text
    assert live_presences(db, sessions["klein"]) == 0
    # A phone a minute ahead of the server: taken as now.
    slightly = scan(db, door, sessions["klein"], clock, code, at=clock.now + timedelta(seconds=50))
    assert slightly.verdict is Verdict.WELCOME and slightly.presence.checked_in_at == clock.now


def test_a_bad_client_id_is_a_rule_error() -> None:
    for bad in ("", " ", "x" * 65, "met spatie", "\u00e9"):
        with pytest.raises(RuleError) as caught:
            presence.check_client_id(bad)
        assert caught.value.code == "invalid_client_id"


# --------------------------------------------------------------------------- undo, check-out


def test_undo_keeps_the_row_marked_and_a_new_scan_checks_in_again(
    db, register, sessions, door, clock
) -> None:
    code = register(1, "klein").registration.checkin_code
    at_door(clock, 13, 0)
    first = scan(db, door, sessions["klein"], clock, code).presence
    presence.undo_checkin(db.session, door, first, clock.now)
    presence.undo_checkin(db.session, door, first, clock.now)  # a double tap: no change
    db.session.commit()
    assert live_presences(db, sessions["klein"]) == 0
    assert first.undone_at == clock.now and first.undone_by_id == door.id
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "checkin_undone")
        )
        == 1
    )
    again = scan(db, door, sessions["klein"], clock, code)
    assert again.verdict is Verdict.WELCOME and again.presence.id != first.id
    assert live_presences(db, sessions["klein"]) == 1


def test_a_door_account_cannot_undo_after_the_session_an_organiser_can(
    db, register, sessions, door, clock
) -> None:
    from symposium.models import Role
    from symposium.services.accounts import access

    code = register(1, "klein").registration.checkin_code
    at_door(clock, 13, 0)
    row = scan(db, door, sessions["klein"], clock, code).presence
    at_door(clock, 15, 30)  # round 1 ended at 14:30
    with pytest.raises(RuleError) as caught:
        presence.undo_checkin(db.session, door, row, clock.now)
    assert caught.value.code == "undo_too_late"
    organiser, _ = access.create_user(
        db.session, "org@example.org", Role.ORGANISER, clock.now, event=sessions["klein"].event
    )
    presence.undo_checkin(db.session, organiser, row, clock.now)
    assert not row.is_live


def test_check_out_early_is_visible_and_a_second_check_out_is_grey(
    db, register, sessions, door, clock
) -> None:
    code = register(1, "klein").registration.checkin_code
    at_door(clock, 13, 20)
    scan(db, door, sessions["klein"], clock, code)
    at_door(clock, 14, 0)
    out = scan(db, door, sessions["klein"], clock, code, direction=Direction.OUT)
    assert (out.verdict, out.colour) == (Verdict.GOODBYE, "green")
    row = out.presence
    assert presence.late_by(row) == timedelta(minutes=20)
    assert presence.early_by(row) == timedelta(minutes=30)
    assert not presence.in_full(row)
    assert scan(db, door, sessions["klein"], clock, code, direction=Direction.OUT).verdict is (
        Verdict.ALREADY
    )
    presence.undo_checkout(db.session, door, row, clock.now)
    assert row.checked_out_at is None and presence.early_by(row) is None


def test_check_out_of_someone_not_checked_in_is_refused(
    db, register, sessions, door, clock
) -> None:
    code = register(1, "klein").registration.checkin_code
    at_door(clock, 14, 0)
    answer = scan(db, door, sessions["klein"], clock, code, direction=Direction.OUT)
    assert (answer.verdict, answer.reason) == (Verdict.REFUSED, Reason.NOT_CHECKED_IN)


def test_everyone_left_closes_the_room_at_the_end_once(db, register, sessions, door, clock) -> None:
    codes = [register(n, "klein").registration.checkin_code for n in range(3)]
    at_door(clock, 12, 55)
    for code in codes:
        scan(db, door, sessions["klein"], clock, code)
    at_door(clock, 13, 50)
    scan(db, door, sessions["klein"], clock, codes[0], direction=Direction.OUT)
    at_door(clock, 14, 40)  # after the end (14:30)
    assert presence.everyone_left(db.session, door, sessions["klein"], clock.now) == 2
    assert presence.everyone_left(db.session, door, sessions["klein"], clock.now) == 0
    db.session.commit()
    rows = {p.registration.checkin_code: p for p in presence.session_presences(
        db.session, sessions["klein"]
    )}  # fmt: skip
    assert rows[codes[1]].checked_out_at == local(14, 30)
    assert rows[codes[1]].checked_out_via is Via.END
    assert [presence.in_full(rows[c]) for c in codes] == [False, True, True]


# --------------------------------------------------------------------------- the session now


def test_the_door_page_proposes_the_session_now_running(db, event, clock) -> None:
    assert presence.propose_session(event, local(8, 0)) is None
    assert presence.propose_session(event, local(9, 0)).key == "opening"  # doors open 09:00
    assert presence.propose_session(event, local(13, 10)).key in ("klein", "psy")
    assert presence.propose_session(event, local(15, 5), room="").key in ("groot", "ook-r2")
    assert presence.propose_session(event, local(17, 0)) is None
