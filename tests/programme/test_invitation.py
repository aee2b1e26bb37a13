"""The registrant's one invitation: all they attend, plenary sessions included, under one UID.

Each calendar is read back with icalendar and checked by libical (``assert_valid``); the
ones stored in Radicale show what a CalDAV client keeps of an invitation, its update and
its cancellation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from symposium.models import EnrolmentStatus, Event, Registration, Session, SessionKind
from symposium.services.programme import invitation
from symposium.services.registration import lifecycle
from symposium.services.registration.validation import RegistrationInput
from tests.conftest import SMALL_EVENT, registration_data
from tests.programme.test_calendar import DOMAIN, MANAGE, assert_valid, expand

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def event(db, small_event) -> Event:  # type: ignore[no-untyped-def]
    event = db.session.get(Event, small_event["event"])
    event.venue = "Congrescentrum De Doelen"
    event.address = "Voorbeeldplein 1, 3000 AA Rotterdam"
    db.session.commit()
    return event


def enrol(db, event, clock, n, *session_ids, language="en") -> Registration:  # type: ignore[no-untyped-def]
    data = RegistrationInput(**registration_data(n), language=language)
    data.sessions = list(session_ids)
    outcome = lifecycle.register(db.session, event, data, clock.now, "test")
    db.session.commit()
    return outcome.registration


def confirmed(registration: Registration) -> list[Session]:
    return [e.session for e in registration.enrolments if e.status is EnrolmentStatus.CONFIRMED]


def invite(registration: Registration, now: datetime, method: str = "REQUEST", seq: int = 0):  # type: ignore[no-untyped-def]
    ical = invitation.invitation(
        registration, confirmed(registration), method=method, sequence=seq,
        manage_url=MANAGE, now=now,
    )  # fmt: skip
    return ical, assert_valid(ical)


def lines(vevent) -> list[str]:  # type: ignore[no-untyped-def]
    return str(vevent["DESCRIPTION"]).splitlines()


def test_one_day_is_one_event_from_the_start_of_the_day(db, event, small_event, clock) -> None:
    me = enrol(db, event, clock, 1, small_event["klein"], small_event["groot"])
    _, cal = invite(me, clock.now)
    assert str(cal["METHOD"]) == "REQUEST"
    (day,) = cal.walk("VEVENT")
    assert str(day["UID"]) == f"r{me.id}@{DOMAIN}" == invitation.uid(me)
    assert day["SEQUENCE"] == 0 and str(day["STATUS"]) == "CONFIRMED"
    # From the event's start (09:00), before the plenary opening at 09:30, to the last place.
    assert day["DTSTART"].to_ical() == b"20270204T090000"
    assert day["DTSTART"].params["TZID"] == "Europe/Amsterdam"
    assert day["DTEND"].to_ical() == b"20270204T163000"
    assert str(day["SUMMARY"]) == "Klein symposium"
    assert str(day["LOCATION"]) == "Congrescentrum De Doelen, Voorbeeldplein 1, 3000 AA Rotterdam"
    assert lines(day) == [
        "09:00 Start of the day",
        "09:30–10:30 Opening",
        "13:00–14:30 Kleine workshop",
        "15:00–16:30 Grote workshop",
        "",
        f"View or change your registration: {MANAGE}",
    ]
    assert str(day["ATTENDEE"]) == "mailto:deelnemer1@example.org"
    assert day["ATTENDEE"].params["PARTSTAT"] == "NEEDS-ACTION"
    assert str(day["ORGANIZER"]) == "mailto:info@example.org"
    assert "RRULE" not in day


def test_a_waiting_list_alone_still_has_the_plenary_session(db, event, small_event, clock):
    enrol(db, event, clock, "holder", small_event["ook-r2"])
    late = enrol(db, event, clock, "late", small_event["ook-r2"])  # waitlisted
    _, cal = invite(late, clock.now)
    (day,) = cal.walk("VEVENT")
    assert [line for line in lines(day) if "–" in line] == ["09:30–10:30 Opening"]
    assert day["DTEND"].to_ical() == b"20270204T103000"


def test_cancelled_and_untimed_sessions_are_left_out(db, event, small_event, clock) -> None:
    me = enrol(db, event, clock, 1, small_event["klein"], small_event["groot"])
    opening = db.session.get(Session, small_event["opening"])
    opening.cancelled_at = clock.now
    groot = db.session.get(Session, small_event["groot"])
    groot.round, groot.starts_at, groot.ends_at = None, None, None
    _, cal = invite(me, clock.now)
    (day,) = cal.walk("VEVENT")
    assert [line for line in lines(day) if "–" in line] == ["13:00–14:30 Kleine workshop"]
    # Still the programme's first session: they come at the start of the day.
    assert day["DTSTART"].to_ical() == b"20270204T090000"
    db.session.rollback()


def test_who_skips_the_first_sessions_comes_at_their_own_first(db, event, small_event, clock):
    opening = db.session.get(Session, small_event["opening"])
    opening.kind = SessionKind.WORKSHOP  # a morning workshop they did not choose
    me = enrol(db, event, clock, 1, small_event["groot"])
    _, cal = invite(me, clock.now)
    (day,) = cal.walk("VEVENT")
    assert day["DTSTART"].to_ical() == b"20270204T150000"
    # Their day is the one workshop: named in the summary, its room in the location.
    assert lines(day)[0] == "15:00–16:30 Grote workshop"
    assert str(day["SUMMARY"]) == "Grote workshop – Klein symposium"
    db.session.rollback()


def test_request_needs_something_and_publish_is_refused(db, event, small_event, clock) -> None:
    me = enrol(db, event, clock, 1)
    for session in event.sessions:
        session.cancelled_at = clock.now
    with pytest.raises(ValueError, match="something with times"):
        invite(me, clock.now)
    # A CANCEL still names a time: the event's own.
    _, cal = invite(me, clock.now, "CANCEL", 1)
    (day,) = cal.walk("VEVENT")
    assert day["DTSTART"].to_ical() == b"20270204T090000" and str(day["STATUS"]) == "CANCELLED"
    with pytest.raises(ValueError, match="not a PUBLISH"):
        invite(me, clock.now, "PUBLISH")
    with pytest.raises(ValueError, match="aware"):
        invite(me, clock.now.replace(tzinfo=None))
    db.session.rollback()


# SMALL_EVENT running into March, with a weekly group on Thursday evenings from 11 February.
WITH_GROUP = (
    SMALL_EVENT.replace("ends_at = 2027-02-04T17:00:00", "ends_at = 2027-03-05T17:00:00", 1)
    + """
[[sessions]]
key = "groep"
kind = "group"
title = "Vervolggroep"
room = "Zaal 4"
series = { first_starts_at = 2027-02-11T19:00:00, count = 4, duration_minutes = 90, \
interval_days = 7 }
"""
)


@pytest.fixture
def with_group(app, db, small_event, tmp_path) -> Event:  # type: ignore[no-untyped-def]
    path = tmp_path / "groep.toml"
    path.write_text(WITH_GROUP)
    result = app.test_cli_runner().invoke(args=["load-event", str(path)])
    assert result.exit_code == 0, result.output
    return db.session.get(Event, small_event["event"])


def local(day: int, month: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=AMSTERDAM)


def test_several_days_are_one_series_whose_days_never_move(  # type: ignore[no-untyped-def]
    db, with_group, small_event, clock, radicale
) -> None:
    group = next(s for s in with_group.sessions if s.key == "groep")
    me = enrol(db, with_group, clock, 1, small_event["klein"], group.id)
    ical, cal = invite(me, clock.now)
    uid = invitation.uid(me)
    master, *overrides = cal.walk("VEVENT")
    # Thursdays: the symposium day, then the four meetings; weekly, nothing skipped.
    assert master["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=5;INTERVAL=1;BYDAY=TH"
    assert "EXDATE" not in master
    assert expand(cal, uid) == [
        (local(4, 2, 9), local(4, 2, 14, 30)),
        *[(local(d, m, 19), local(d, m, 20, 30)) for d, m in ((11, 2), (18, 2), (25, 2), (4, 3))],
    ]
    # The evenings differ from the first day (hours, programme): an override each, on its day.
    assert len(overrides) == 4
    assert all(o["RECURRENCE-ID"].dt.date() == o.DTSTART.date() for o in overrides)
    assert all(str(o["UID"]) == uid and o["SEQUENCE"] == 0 for o in overrides)
    assert str(overrides[0]["SUMMARY"]) == "Vervolggroep – Klein symposium"
    assert str(overrides[0]["LOCATION"]) == "Zaal 4"
    assert radicale.store(ical) == []

    # A meeting moved to the Friday: the rule goes daily and skips the days between.
    second = group.meetings[1]
    second.starts_at += timedelta(days=1)
    second.ends_at += timedelta(days=1)
    ical, cal = invite(me, clock.now + timedelta(hours=1), seq=1)
    master, *overrides = cal.walk("VEVENT")
    assert master["RRULE"].to_ical() == b"FREQ=DAILY;COUNT=29;INTERVAL=1"
    assert len(master["EXDATE"].dts) == 24
    assert master["EXDATE"].params["TZID"] == "Europe/Amsterdam"
    assert expand_skipping(cal, uid)[2] == (local(19, 2, 19), local(19, 2, 20, 30))
    assert all(o["RECURRENCE-ID"].dt.date() == o.DTSTART.date() for o in overrides)
    assert radicale.store(ical) == []
    status, stored = radicale.get(uid)
    assert status == 200 and "EXDATE" in stored and "METHOD" not in stored

    # The CANCEL names the series once, without RECURRENCE-ID: every day goes.
    ical, cal = invite(me, clock.now + timedelta(hours=2), "CANCEL", 2)
    (cancel,) = cal.walk("VEVENT")
    assert str(cancel["UID"]) == uid and "RECURRENCE-ID" not in cancel
    assert (str(cancel["STATUS"]), cancel["SEQUENCE"]) == ("CANCELLED", 2)
    assert "PARTSTAT" not in cancel["ATTENDEE"].params
    assert radicale.store(ical) == []
    db.session.rollback()


def expand_skipping(cal: Calendar, uid: str) -> list[tuple[datetime, datetime]]:
    """The occurrences a client shows: the rule's, less EXDATE, overrides in their place."""
    (master,) = [e for e in cal.walk("VEVENT") if "RECURRENCE-ID" not in e]
    skipped = {d.dt.replace(tzinfo=None) for d in master["EXDATE"].dts}
    return [span for span in expand(cal, uid) if span[0].replace(tzinfo=None) not in skipped]


def test_a_summer_day_is_written_in_the_event_zone(db, event, small_event, clock) -> None:
    """A day in summer time is written in the event's zone: 08:00 UTC is 10:00 CEST."""
    for session in event.sessions:
        if session.starts_at is not None:
            session.starts_at += timedelta(days=150)
            session.ends_at += timedelta(days=150)
    for round_ in event.rounds:
        round_.starts_at += timedelta(days=150)
        round_.ends_at += timedelta(days=150)
    event.starts_at += timedelta(days=150)
    event.ends_at += timedelta(days=150)
    me = enrol(db, event, clock, 1, small_event["klein"])
    _, cal = invite(me, clock.now)
    (day,) = cal.walk("VEVENT")
    assert day.DTSTART.astimezone(UTC).hour == 8  # 10:00 CEST: 09:00 CET + 150 days
    assert day["DTSTART"].to_ical() == b"20270704T100000"
    db.session.rollback()
