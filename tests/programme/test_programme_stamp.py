"""The programme stamp, the rules' cached copy of the programme, and mail written when sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from symposium.models import (
    Enrolment,
    EnrolmentStatus,
    Event,
    Meeting,
    OutboxMessage,
    OutboxStatus,
    Profession,
    Registration,
    Session,
    SessionQuota,
)
from symposium.services.core.errors import RuleError
from symposium.services.mail import delivery, render
from symposium.services.programme import rules
from symposium.services.registration import lifecycle, places
from symposium.services.registration.validation import RegistrationInput
from tests.conftest import FrozenClock, registration_data

SECRET = "test"


class Recorder:
    """A mail backend that keeps the recipients."""

    def __init__(self) -> None:
        self.to: list[str] = []

    def send(self, message, sender: str, recipient: str) -> None:  # type: ignore[no-untyped-def]
        self.to.append(recipient)

    def close(self) -> None:
        pass


def stamp(db, event_id: int) -> str:
    return db.session.scalar(select(Event.programme_stamp).where(Event.id == event_id))


def register(db, event_id: int, n: int, *session_ids: int, profession: str = "gz-psycholoog"):
    data = RegistrationInput(**registration_data(n, profession))
    data.sessions = list(session_ids)
    event = db.session.get(Event, event_id)
    outcome = lifecycle.register(
        db.session, event, data, event.starts_at - timedelta(days=7), SECRET
    )
    db.session.commit()
    return outcome


def test_registrations_leave_the_stamp_alone(db, small_event) -> None:
    before = stamp(db, small_event["event"])
    register(db, small_event["event"], 1, small_event["klein"], small_event["groot"])
    register(db, small_event["event"], 2, small_event["ook-r2"])
    assert stamp(db, small_event["event"]) == before  # caches stay warm in a flash crowd


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda db, s: setattr(s, "capacity", 11), id="capacity"),
        pytest.param(lambda db, s: setattr(s, "title", "Nieuwe titel"), id="title"),
        pytest.param(
            lambda db, s: s.professions.append(
                db.session.scalars(select(Profession).where(Profession.code == "huisarts")).one()
            ),
            id="who may join",
        ),
        pytest.param(lambda db, s: setattr(s.quotas[0], "places", 3), id="quota"),
        pytest.param(lambda db, s: s.quotas.clear(), id="quota removed"),
        pytest.param(
            lambda db, s: s.meetings.append(
                Meeting(key="m1", starts_at=s.round.starts_at, ends_at=s.round.ends_at)
            ),
            id="meeting",
        ),
        pytest.param(lambda db, s: setattr(s.round, "title", "Ronde één"), id="round"),
        pytest.param(lambda db, s: setattr(s.event, "venue", "Elders"), id="event"),
        pytest.param(lambda db, s: db.session.delete(s), id="session deleted"),
    ],
)
def test_every_programme_change_gives_a_new_stamp(db, small_event, change) -> None:
    before = stamp(db, small_event["event"])
    session = db.session.get(Session, small_event["klein"])
    change(db, session)
    db.session.commit()
    assert stamp(db, small_event["event"]) != before


def test_a_new_quota_row_restamps_its_event(db, small_event) -> None:
    before = stamp(db, small_event["event"])
    huisarts = db.session.scalars(select(Profession).where(Profession.code == "huisarts")).one()
    db.session.add(
        SessionQuota(session_id=small_event["groot"], profession_id=huisarts.id, places=1)
    )
    db.session.commit()
    assert stamp(db, small_event["event"]) != before


def test_the_rules_follow_a_change_at_once(db, small_event) -> None:
    """A cached programme is never used after the programme changed (no waiting, no TTL)."""
    register(db, small_event["event"], 1, small_event["klein"])  # warms the cache
    session = db.session.get(Session, small_event["klein"])
    psychiater = db.session.scalars(select(Profession).where(Profession.code == "psychiater")).one()
    session.professions.append(psychiater)
    db.session.commit()
    with pytest.raises(RuleError) as refused:
        register(db, small_event["event"], 2, small_event["klein"], profession="huisarts")
    assert refused.value.code == "not_eligible"


def test_a_change_committed_while_waiting_for_the_lock_is_seen(app, db, small_event) -> None:
    """The request read the event (and its stamp) before an organiser cancelled the session."""
    event = db.session.get(Event, small_event["event"])
    rules.rules_for(db.session, event)  # cached at the old stamp
    with OrmSession(db.engine) as other:  # the organiser, in another connection
        other.get(Session, small_event["klein"]).cancelled_at = event.starts_at - timedelta(days=9)
        other.commit()
    data = RegistrationInput(**registration_data(1))
    data.sessions = [small_event["klein"]]
    with pytest.raises(RuleError) as refused:
        lifecycle.register(db.session, event, data, event.starts_at - timedelta(days=7), SECRET)
    db.session.rollback()
    assert refused.value.code == "session_cancelled"
    assert db.session.scalar(select(Registration.id)) is None


def test_mail_is_written_when_sent_with_the_places_as_they_were(app, db, small_event) -> None:
    """Queued with the registration; rendered later it still tells what happened then."""
    ook = small_event["ook-r2"]
    first = register(db, small_event["event"], 1, ook)
    second = register(db, small_event["event"], 2, ook)  # waiting list, position 1
    queued = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.registration_id == second.registration.id)
    ).one()
    assert queued.render_context is not None and queued.body_text == ""

    lifecycle.cancel_registration(db.session, first.registration, first.registration.created_at)
    db.session.commit()  # the second person is promoted before their first mail went out
    assert render.render_pending(db.session) == 4
    db.session.commit()

    registered, promoted = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.registration_id == second.registration.id)
        .order_by(OutboxMessage.id)
    ).all()
    assert "waiting list, position 1" in registered.body_text or "wachtlijst, plaats 1" in (
        registered.body_text
    )
    # No place yet when it was queued: the invitation holds the plenary opening only.
    assert "Opening" in registered.calendar and "Andere workshop" not in registered.calendar
    assert promoted.kind == "promoted" and promoted.calendar_method == "REQUEST"
    assert "Andere workshop ronde 2" in promoted.body_text
    assert "Andere workshop ronde 2" in promoted.calendar.replace("\r\n ", "")
    assert promoted.render_context is None and promoted.body_html


def test_a_message_that_cannot_be_written_fails_and_the_rest_go(app, db, small_event) -> None:
    gone = register(db, small_event["event"], 1, small_event["groot"])
    kept = register(db, small_event["event"], 2, small_event["groot"])
    db.session.execute(
        Enrolment.__table__.delete().where(
            Enrolment.registration_id == gone.registration.id,
            Enrolment.status == EnrolmentStatus.CONFIRMED,
        )
    )
    db.session.commit()

    backend = Recorder()
    result = delivery.drain(
        db.session, backend, app.config, FrozenClock(kept.registration.created_at)
    )
    assert (result.sent, result.failed) == (1, 1)
    assert backend.to == [kept.registration.email]
    failed = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
    ).one()
    assert failed.registration_id == gone.registration.id
    assert "could not render" in failed.last_error


def locks_taken(db, action) -> list[str]:  # type: ignore[no-untyped-def]
    """The tables whose rows ``action`` locks, in order (the lock statements it sends)."""
    seen: list[str] = []

    def record(conn, cursor, statement: str, *args) -> None:  # type: ignore[no-untyped-def]
        for table, lock in (
            ("events", "SELECT events.id \nFROM events"),
            ("sessions", "SELECT sessions.id, sessions.capacity \nFROM sessions"),
        ):
            if statement.startswith(lock):
                seen.append(table)

    sa_event.listen(db.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", record)
    return seen


def test_programme_changes_lock_the_event_row_before_sessions(db, small_event) -> None:
    """Registrations for an event with a total capacity lock its row, then their sessions; an
    organiser's change (which restamps the event row) takes them in the same order, so the two
    never wait for each other in a cycle."""
    event = db.session.get(Event, small_event["event"])
    event.capacity = 100
    db.session.commit()
    session = db.session.get(Session, small_event["klein"])
    now = event.starts_at - timedelta(days=7)
    assert locks_taken(db, lambda: register(db, event.id, 1, session.id)) == [
        "events",
        "sessions",
    ]
    for change in (
        lambda: places.change_capacity(db.session, None, session, 12, now),
        lambda: lifecycle.cancel_session(db.session, None, session, now),
    ):
        taken = locks_taken(db, change)
        db.session.commit()
        assert taken[:2] == ["events", "sessions"], taken


def test_mail_about_a_session_dropped_from_the_event_file_is_still_sent(
    app, db, small_event, tmp_path
) -> None:
    """Dropping a session deletes its (cancelled) enrolments: their mail is written first."""
    from tests.conftest import SMALL_EVENT

    ook = small_event["ook-r2"]
    holder = register(db, small_event["event"], 1, ook).registration
    session = db.session.get(Session, ook)
    lifecycle.cancel_session(db.session, None, session, holder.created_at)
    db.session.commit()
    path = tmp_path / "zonder.toml"
    path.write_text(SMALL_EVENT.split('[[sessions]]\nkey = "ook-r2"')[0])
    result = app.test_cli_runner().invoke(args=["load-event", str(path)])
    assert result.exit_code == 0 and "deleted sessions 1" in result.output, result.output
    assert db.session.scalar(select(Enrolment.id).where(Enrolment.session_id == ook)) is None

    backend = Recorder()
    result = delivery.drain(db.session, backend, app.config, FrozenClock(holder.created_at))
    assert (result.sent, result.failed) == (2, 0)
    notice = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "session_cancelled")
    ).one()
    # Their invitation without the session: the plenary opening is all that is left.
    calendar = notice.calendar.replace("\r\n ", "")
    assert notice.calendar_method == "REQUEST" and "Andere workshop" not in calendar
    assert "Opening" in calendar


def test_a_written_message_is_not_written_again(app, db, small_event) -> None:
    register(db, small_event["event"], 1, small_event["groot"])
    assert render.render_pending(db.session) == 1
    db.session.commit()
    assert render.render_pending(db.session) == 0  # stored as SQL NULL, not JSON null


def test_a_database_error_while_writing_mail_is_retried_not_failed(
    app, db, small_event, monkeypatch
) -> None:
    from sqlalchemy.exc import OperationalError

    person = register(db, small_event["event"], 1, small_event["groot"]).registration

    def database_gone(db, message):  # type: ignore[no-untyped-def]
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(render, "rendered", database_gone)
    result = delivery.drain(db.session, Recorder(), app.config, FrozenClock(person.created_at))
    assert (result.sent, result.retried, result.failed) == (0, 1, 0)
    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.status is OutboxStatus.QUEUED and message.render_context is not None


def test_a_rolled_back_registration_leaves_nothing_behind_in_the_session(db, small_event) -> None:
    event = db.session.get(Event, small_event["event"])
    now = event.starts_at - timedelta(days=7)
    for attempt in range(2):
        data = RegistrationInput(**registration_data(1))
        data.sessions = [small_event["groot"]]
        outcome = lifecycle.register(db.session, event, data, now, SECRET)
        assert outcome.created
        db.session.rollback()  # e.g. the API's idempotency conflict
        assert outcome.registration not in db.session, attempt
    assert db.session.scalar(select(Registration.id)) is None
