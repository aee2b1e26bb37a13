"""Calendar output: invitations (REQUEST, update, CANCEL), downloads (PUBLISH) and the programme.

Every file is read back twice: with icalendar (the values) and with libical through
``tests.programme.ical_check`` (RFC 5545 syntax and RFC 5546's per-METHOD rules).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar, Timezone

from symposium.models import Event, Meeting, Registration, Session, SessionKind
from symposium.services.programme import calendar
from symposium.services.programme.calendar import Method
from symposium.services.registration import lifecycle
from symposium.services.registration.validation import RegistrationInput
from tests.conftest import registration_data
from tests.programme import ical_check

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MANAGE = "https://symposium.example/r/token-123"
DOMAIN = "symposium.localhost"
NAME = 'Jan "JJ" de Vries, MSc – Zoë'


def parse(ical: bytes) -> Calendar:
    return Calendar.from_ical(ical)


def assert_valid(ical: bytes) -> Calendar:
    """Valid for libical and our added rules, framed right, and readable by icalendar."""
    assert ical_check.errors(ical) == []
    assert ical_check.line_errors(ical) == []
    return parse(ical)


def uids(cal: Calendar) -> list[str]:
    return [str(e["UID"]) for e in cal.walk("VEVENT")]


def offsets(observance) -> tuple[timedelta, timedelta]:  # type: ignore[no-untyped-def]
    return observance["TZOFFSETFROM"].td, observance["TZOFFSETTO"].td


def unfolded_lines(ical: bytes) -> list[str]:
    return ical.decode().replace("\r\n ", "").split("\r\n")


def without(ical: bytes, name: str) -> bytes:
    """``ical`` with every ``name`` property (or ``name`` component) taken out."""
    lines, kept, skipping = unfolded_lines(ical), [], False
    for line in lines:
        if line == f"BEGIN:{name}":
            skipping = True
        if not skipping and not re.match(rf"{name}[;:]", line):
            kept.append(line)
        if line == f"END:{name}":
            skipping = False
    return "\r\n".join(kept).encode()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def event(db, small_event) -> Event:  # type: ignore[no-untyped-def]
    event = db.session.get(Event, small_event["event"])
    event.venue = "Congrescentrum De Doelen"
    event.address = "Voorbeeldplein 1, 3000 AA Rotterdam"
    db.session.commit()
    return event


@pytest.fixture
def registration(db, event, small_event, clock) -> Registration:  # type: ignore[no-untyped-def]
    data = RegistrationInput(**registration_data(1, name=NAME))
    data.sessions = [small_event["klein"], small_event["groot"]]
    outcome = lifecycle.register(db.session, event, data, clock.now, "test")
    db.session.commit()
    return outcome.registration


def request(
    registration: Registration, now: datetime, sequence: int = 0, key: str = "klein"
) -> bytes:
    """The invitation for the registrant's session ``key``: one session, one UID."""
    (session,) = [s for s in calendar.confirmed_sessions(registration) if s.key == key]
    return calendar.invite(
        registration,
        [session],
        method=Method.REQUEST,
        sequence=sequence,
        manage_url=MANAGE,
        now=now,
    )


def requests(registration: Registration, now: datetime, sequence: int = 0) -> list[bytes]:
    """One invitation per confirmed session, in time order (what the mail service sends)."""
    return [
        request(registration, now, sequence, session.key)
        for session in calendar.confirmed_sessions(registration)
    ]


def transient_event() -> tuple[Registration, Session]:
    """Model objects without a database: one session on Saturday 24 October 2026."""
    event = Event(
        id=7,
        slug="herfst",
        title="Herfstsymposium",
        timezone="Europe/Amsterdam",
        venue="De Zaal",
        address="Straat 1, Utrecht",
        starts_at=datetime(2026, 10, 24, 7, 0, tzinfo=UTC),
        ends_at=datetime(2026, 10, 25, 16, 0, tzinfo=UTC),
        organiser_name="Organisatie",
        organiser_email="info@example.org",
        languages=["nl"],
    )
    session = Session(
        id=3,
        key="w",
        kind=SessionKind.WORKSHOP,
        title="Workshop",
        description="",
        speakers=[],
        room="Zaal 2",
        position=0,
        starts_at=datetime(2026, 10, 24, 10, 0, tzinfo=AMSTERDAM).astimezone(UTC),
        ends_at=datetime(2026, 10, 24, 11, 30, tzinfo=AMSTERDAM).astimezone(UTC),
    )
    event.sessions = [session]
    registration = Registration(
        id=11,
        event=event,
        email="a@example.org",
        name="A. Deelnemer",
        language="en",
        checkin_code="0123456789ABC",
    )
    return registration, session


# --------------------------------------------------------------------------- VTIMEZONE


def test_vtimezone_amsterdam_is_two_yearly_rules() -> None:
    tz = calendar.vtimezone("Europe/Amsterdam", 2026)
    assert str(tz["TZID"]) == "Europe/Amsterdam"
    (daylight,), (standard,) = tz.daylight, tz.standard
    assert daylight["RRULE"].to_ical() == b"FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"
    assert standard["RRULE"].to_ical() == b"FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"
    # Onsets in wall time of the old offset, a year early so all of 2026 is covered.
    assert daylight["DTSTART"].dt == datetime(2025, 3, 30, 2, 0)
    assert standard["DTSTART"].dt == datetime(2025, 10, 26, 3, 0)
    assert offsets(daylight) == (timedelta(hours=1), timedelta(hours=2))
    assert offsets(standard) == (timedelta(hours=2), timedelta(hours=1))
    assert [str(c["TZNAME"]) for c in (daylight, standard)] == ["CEST", "CET"]
    assert b"RDATE" not in tz.to_ical()


def test_vtimezone_without_dst_is_one_standard() -> None:
    tz = calendar.vtimezone("Asia/Tokyo", 2026)
    assert tz.daylight == []
    (standard,) = tz.standard
    assert standard.TZOFFSETFROM == standard.TZOFFSETTO == timedelta(hours=9)
    assert "RRULE" not in standard and "RDATE" not in standard


@pytest.mark.parametrize(
    "zone",
    [
        "Europe/Amsterdam",
        "America/New_York",
        "Australia/Sydney",
        "America/Santiago",
        "Asia/Jerusalem",
    ],
)
def test_vtimezone_agrees_with_zoneinfo_for_years_ahead(zone: str) -> None:
    """icalendar turns our VTIMEZONE (not the TZID) into a tzinfo; it must match zoneinfo."""
    ical = calendar.vtimezone(zone, 2026).to_ical()
    assert b"RDATE" not in ical
    ours = Timezone.from_ical(ical).to_tz(lookup_tzid=False)
    real = ZoneInfo(zone)
    instant = datetime(2026, 1, 1, tzinfo=UTC)
    while instant < datetime(2030, 1, 1, tzinfo=UTC):
        assert instant.astimezone(ours).utcoffset() == instant.astimezone(real).utcoffset(), instant
        instant += timedelta(hours=5)


# --------------------------------------------------------------------------- invitations


def test_request(app, registration, event, small_event, clock) -> None:  # type: ignore[no-untyped-def]
    # The plenary opening plus the two chosen workshops, in time order: one object each.
    r = registration.id
    objects = [assert_valid(ical) for ical in requests(registration, clock.now)]
    assert [uids(cal) for cal in objects] == [
        [f"r{r}-s{small_event[key]}@{DOMAIN}"] for key in ("opening", "klein", "groot")
    ]
    ical = request(registration, clock.now)
    cal = assert_valid(ical)
    assert str(cal["METHOD"]) == "REQUEST"
    assert str(cal["VERSION"]) == "2.0" and str(cal["PRODID"]) == calendar.PRODID
    (tz,) = cal.walk("VTIMEZONE")
    assert str(tz["TZID"]) == "Europe/Amsterdam"
    assert all("RRULE" in o for o in tz.subcomponents)
    assert b"RDATE" not in ical

    (klein,) = cal.walk("VEVENT")
    assert klein["SEQUENCE"] == 0
    assert klein["DTSTAMP"].dt == clock.now
    assert klein["DTSTAMP"].to_ical() == b"20261123T120000Z"
    assert klein["DTSTART"].params["TZID"] == "Europe/Amsterdam"
    assert klein["DTSTART"].to_ical() == b"20270204T130000"
    assert klein["DTEND"].to_ical() == b"20270204T143000"
    assert str(klein["SUMMARY"]) == "Kleine workshop – Klein symposium"
    assert str(klein["LOCATION"]) == (
        "Congrescentrum De Doelen, Voorbeeldplein 1, 3000 AA Rotterdam"
    )
    assert MANAGE in str(klein["DESCRIPTION"]) and str(klein["URL"]) == MANAGE
    assert str(klein["STATUS"]) == "CONFIRMED"

    organizer = klein["ORGANIZER"]
    assert str(organizer) == "mailto:info@example.org"
    assert organizer.params["CN"] == "Testorganisatie"
    attendee = klein["ATTENDEE"]
    assert str(attendee) == "mailto:deelnemer1@example.org"
    assert attendee.params["CN"] == "Jan 'JJ' de Vries, MSc – Zoë"  # no RFC 6868 escapes
    assert b"^" not in ical
    assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
    assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
    assert attendee.params["RSVP"] == "FALSE"


def test_waitlisted_sessions_are_not_on_the_calendar(  # type: ignore[no-untyped-def]
    db, registration, event, small_event, clock
) -> None:
    data = RegistrationInput(**registration_data(2))
    data.sessions = [small_event["ook-r2"]]
    lifecycle.register(db.session, event, data, clock.now, "test")
    data = RegistrationInput(**registration_data(3))
    data.sessions = [small_event["ook-r2"]]  # capacity 1: waitlisted
    third = lifecycle.register(db.session, event, data, clock.now, "test").registration
    db.session.commit()
    sessions = calendar.confirmed_sessions(third)
    assert [s.key for s in sessions] == ["opening"]
    assert [s.key for s in calendar.confirmed_sessions(third, plenary=False)] == []


def test_update_keeps_uids_and_raises_sequence(app, registration, clock) -> None:  # type: ignore[no-untyped-def]
    first = [parse(ical) for ical in requests(registration, clock.now)]
    later = clock.now + timedelta(days=3, hours=2)
    sequences = {uid: 1 for cal in first for uid in uids(cal)}
    for session, before in zip(calendar.confirmed_sessions(registration), first, strict=True):
        ical = calendar.invite(
            registration,
            [session],
            method="REQUEST",
            sequence=sequences.__getitem__,
            manage_url=MANAGE,
            now=later,
        )
        update = assert_valid(ical)
        assert uids(update) == uids(before)
        assert [e["SEQUENCE"] for e in update.walk("VEVENT")] == [1]
        assert {e.DTSTAMP for e in update.walk("VEVENT")} == {later}
    assert calendar.invite_uid(registration, registration.event.sessions[0]) == uids(first[0])[0]


def test_cancel(app, registration, small_event, clock) -> None:  # type: ignore[no-untyped-def]
    klein = next(e.session for e in registration.enrolments if e.session.key == "klein")
    ical = calendar.invite(
        registration,
        [klein],
        method=Method.CANCEL,
        sequence=2,
        manage_url=MANAGE,
        now=clock.now,
    )
    cal = assert_valid(ical)
    assert str(cal["METHOD"]) == "CANCEL"
    (vevent,) = cal.walk("VEVENT")
    assert str(vevent["UID"]) == f"r{registration.id}-s{small_event['klein']}@{DOMAIN}"
    assert vevent["SEQUENCE"] == 2
    assert str(vevent["STATUS"]) == "CANCELLED"
    assert str(vevent["ORGANIZER"]) == "mailto:info@example.org"
    assert str(vevent["ATTENDEE"]) == "mailto:deelnemer1@example.org"
    assert "PARTSTAT" not in vevent["ATTENDEE"].params


def test_publish_has_no_attendee(app, registration, clock) -> None:  # type: ignore[no-untyped-def]
    ical = calendar.invite(
        registration,
        calendar.confirmed_sessions(registration),
        method=Method.PUBLISH,
        sequence=0,
        manage_url=MANAGE,
        now=clock.now,
    )
    cal = assert_valid(ical)
    assert str(cal["METHOD"]) == "PUBLISH"
    assert len(cal.walk("VEVENT")) == 3
    for vevent in cal.walk("VEVENT"):
        assert "ATTENDEE" not in vevent
        assert str(vevent["ORGANIZER"]) == "mailto:info@example.org"
        assert str(vevent["STATUS"]) == "CONFIRMED"
    assert b"ATTENDEE" not in ical


def test_invite_refuses_nothing_to_send_and_naive_time(app, registration, clock) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="exactly one"):
        calendar.invite(
            registration, [], method="CANCEL", sequence=0, manage_url=MANAGE, now=clock.now
        )
    # Several UIDs in one iTIP object are what CalDAV servers refuse: never written.
    with pytest.raises(ValueError, match="exactly one session with times, not 3"):
        calendar.invite(
            registration,
            calendar.confirmed_sessions(registration),
            method="REQUEST",
            sequence=0,
            manage_url=MANAGE,
            now=clock.now,
        )
    with pytest.raises(ValueError, match="aware"):
        request(registration, clock.now.replace(tzinfo=None))


def test_long_non_ascii_text_is_folded_at_75_octets(app, db, registration, clock) -> None:  # type: ignore[no-untyped-def]
    klein = next(e.session for e in registration.enrolments if e.session.key == "klein")
    klein.title = "Zorg voor één ander – " + "ë" * 60
    klein.description = "Begeleiding door “ervaringsdeskundigen”; " * 8
    ical = request(registration, clock.now)
    cal = assert_valid(ical)
    assert max(len(line) for line in ical.split(b"\r\n")) <= 75
    assert re.search(rb"[^\r]\n", ical) is None, "bare LF"
    (vevent,) = cal.walk("VEVENT")
    assert str(vevent["SUMMARY"]).startswith(klein.title)
    assert klein.description.strip() in str(vevent["DESCRIPTION"])
    db.session.rollback()


# --------------------------------------------------------------------------- negative checks


@pytest.mark.parametrize(
    ("removed", "reported"),
    [
        ("ORGANIZER", "ORGANIZER"),
        ("ATTENDEE", "ATTENDEE"),
        ("SEQUENCE", "SEQUENCE"),
        ("VTIMEZONE", "TZID Europe/Amsterdam has no VTIMEZONE"),
    ],
)
def test_check_reports_missing_parts_of_a_request(  # type: ignore[no-untyped-def]
    app, registration, clock, removed: str, reported: str
) -> None:
    ical = request(registration, clock.now)
    assert ical_check.errors(ical) == []
    broken = without(ical, removed)
    assert broken != ical.replace(b"\r\n ", b"")
    problems = ical_check.errors(broken)
    assert problems, f"nothing reported without {removed}"
    assert all(reported in p for p in problems), problems


def test_check_reports_bad_framing() -> None:
    assert ical_check.line_errors(b"BEGIN:VCALENDAR\nEND:VCALENDAR\n")
    assert ical_check.line_errors(b"X-LONG:" + b"a" * 80 + b"\r\n")
    assert ical_check.line_errors(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n") == []


def test_check_skips_or_fails_without_libical(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ical_check, "library", lambda: None)
    monkeypatch.delenv(ical_check.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="libical3"):
        ical_check.require()
    monkeypatch.setenv(ical_check.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="REQUIRE_LIBICAL"):
        ical_check.require()


# --------------------------------------------------------------------------- DST


def test_session_moved_across_the_october_dst_change() -> None:
    """10:00 local stays 10:00 local; UTC is 08:00 in summer time and 09:00 after it.

    Plain model objects and an explicit mail domain: no database or app context needed.
    """
    registration, session = transient_event()
    now = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    first = calendar.invite(
        registration,
        [session],
        method="REQUEST",
        sequence=0,
        manage_url=MANAGE,
        now=now,
        mail_domain=DOMAIN,
    )
    session.starts_at = datetime(2026, 10, 25, 10, 0, tzinfo=AMSTERDAM).astimezone(UTC)
    session.ends_at = datetime(2026, 10, 25, 11, 30, tzinfo=AMSTERDAM).astimezone(UTC)
    moved = calendar.invite(
        registration,
        [session],
        method="REQUEST",
        sequence=1,
        manage_url=MANAGE,
        now=now + timedelta(days=1),
        mail_domain=DOMAIN,
    )
    expected = {first: (24, 8), moved: (25, 9)}
    for ical, (day, utc_hour) in expected.items():
        cal = assert_valid(ical)
        (vevent,) = cal.walk("VEVENT")
        assert str(vevent["UID"]) == f"r11-s3@{DOMAIN}"
        assert vevent["DTSTART"].params["TZID"] == "Europe/Amsterdam"
        assert vevent["DTSTART"].to_ical() == f"202610{day}T100000".encode()
        start = vevent.DTSTART
        assert start.replace(tzinfo=None) == datetime(2026, 10, day, 10, 0)
        assert start.astimezone(UTC) == datetime(2026, 10, day, utc_hour, 0, tzinfo=UTC)
        # The same instant from the calendar's own VTIMEZONE, not from the TZID's name.
        (vtimezone,) = cal.walk("VTIMEZONE")
        own = vtimezone.to_tz(lookup_tzid=False)
        local = start.replace(tzinfo=None).replace(tzinfo=own)
        assert local.astimezone(UTC) == datetime(2026, 10, day, utc_hour, 0, tzinfo=UTC)
    assert parse(moved).walk("VEVENT")[0]["SEQUENCE"] == 1
    assert str(parse(moved).walk("VEVENT")[0]["LOCATION"]) == "Zaal 2, De Zaal, Straat 1, Utrecht"


# --------------------------------------------------------------------------- programme


def expand(cal: Calendar, uid: str) -> list[tuple[datetime, datetime]]:
    """Every occurrence of ``uid`` a client shows: its RRULE, overrides put in their place."""
    vevents = [e for e in cal.walk("VEVENT") if str(e["UID"]) == uid]
    (master,) = [e for e in vevents if "RECURRENCE-ID" not in e]
    start, end = master.DTSTART, master.DTEND
    walls = [start.replace(tzinfo=None)]
    if "RRULE" in master:
        walls = list(rrulestr(master["RRULE"].to_ical().decode(), dtstart=walls[0]))
    shown = {
        w: (w.replace(tzinfo=start.tzinfo), w.replace(tzinfo=start.tzinfo) + (end - start))
        for w in walls
    }
    for override in vevents:
        if "RECURRENCE-ID" in override:
            planned = override["RECURRENCE-ID"].dt.replace(tzinfo=None)
            assert planned in shown, "override of an occurrence the rule does not give"
            shown[planned] = (override.DTSTART, override.DTEND)
    return sorted(shown.values())


def spans(session: Session) -> list[tuple[datetime, datetime]]:
    return [(m.starts_at, m.ends_at) for m in session.meetings]


def test_programme_calendar_of_group_sessions(app, db, load_example, clock) -> None:  # type: ignore[no-untyped-def]
    load_example("welzijn-op-recept.toml")
    event = db.session.query(Event).filter_by(slug="welzijn-op-recept-2027").one()
    ical = calendar.programme_calendar(
        event, now=clock.now, url_for_session=lambda s: f"https://x.example/s/{s.key}"
    )
    cal = assert_valid(ical)
    assert str(cal["METHOD"]) == "PUBLISH"
    vevents = cal.walk("VEVENT")
    # One UID per group, whose six meetings are one recurring event.
    assert list(dict.fromkeys(uids(cal))) == [
        f"event{event.id}-s{s.id}@{DOMAIN}" for s in event.sessions
    ]
    for session in event.sessions:
        assert len(session.meetings) == 6
        assert expand(cal, f"event{event.id}-s{session.id}@{DOMAIN}") == spans(session)
    assert b"ATTENDEE" not in ical
    assert all(e["SEQUENCE"] == 0 for e in vevents)
    assert all(e["DTSTART"].params["TZID"] == "Europe/Amsterdam" for e in vevents)
    assert b"RDATE" not in ical

    # "veilig-thuis" meets on Mondays at 19:00 local before and after 28 March 2027, but not
    # on Easter Monday: a weekly rule of six, the fourth to sixth moved a week on.
    veilig = next(s for s in event.sessions if s.key == "veilig-thuis")
    theirs = [e for e in vevents if str(e["UID"]) == f"event{event.id}-s{veilig.id}@{DOMAIN}"]
    master = theirs[0]
    assert master["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=6;INTERVAL=1;BYDAY=MO"
    assert master["DTSTART"].to_ical() == b"20270308T190000"
    assert [e["DTSTART"].to_ical()[-6:] for e in theirs] == [b"190000"] * len(theirs)
    easter = next(
        e
        for e in theirs
        if e.get("RECURRENCE-ID") and e["RECURRENCE-ID"].to_ical() == b"20270329T190000"
    )
    assert easter["DTSTART"].to_ical() == b"20270405T190000"
    assert easter["RECURRENCE-ID"].params["TZID"] == "Europe/Amsterdam"
    assert [s.astimezone(UTC).hour for s, _ in expand(cal, str(master["UID"]))] == [
        18,
        18,
        18,
        17,
        17,
        17,
    ]
    second = next(e for e in theirs if e.DTSTART.day == 15)
    assert str(second["SUMMARY"]) == "Veilig thuis – Welzijn op recept"
    assert "Signalen herkennen" in str(second["DESCRIPTION"])
    assert str(second["URL"]) == "https://x.example/s/veilig-thuis"
    assert str(easter["LOCATION"]).startswith("Ontmoetingsruimte, Ontmoetingscentrum")
    assert str(master["LOCATION"]).startswith("Groepsruimte 3, Ontmoetingscentrum")


def test_invite_for_a_group_session_is_one_recurring_event(  # type: ignore[no-untyped-def]
    app, db, load_example, clock
) -> None:
    load_example("welzijn-op-recept.toml")
    event = db.session.query(Event).filter_by(slug="welzijn-op-recept-2027").one()
    veilig = next(s for s in event.sessions if s.key == "veilig-thuis")
    clock.now = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)
    data = RegistrationInput(**registration_data(5, "overig"))
    data.sessions = [veilig.id]
    registration = lifecycle.register(db.session, event, data, clock.now, "test").registration
    db.session.commit()
    ical = request(registration, clock.now, key="veilig-thuis")
    cal = assert_valid(ical)
    uid = f"r{registration.id}-s{veilig.id}@{DOMAIN}"
    assert set(uids(cal)) == {uid}
    assert expand(cal, uid) == spans(veilig)
    assert all(str(e["ATTENDEE"]) == "mailto:deelnemer5@example.org" for e in cal.walk("VEVENT"))
    # A meeting stands for its group: the same UID, and a CANCEL withdraws the whole series.
    meeting: Meeting = veilig.meetings[2]
    assert calendar.invite_uid(registration, meeting) == uid
    one = assert_valid(
        calendar.invite(
            registration, [meeting], method="CANCEL", sequence=1, manage_url=MANAGE, now=clock.now
        )
    )
    (cancel,) = one.walk("VEVENT")
    assert str(cancel["UID"]) == uid and "RECURRENCE-ID" not in cancel
    assert str(cancel["STATUS"]) == "CANCELLED" and cancel["SEQUENCE"] == 1


def test_a_moved_meeting_becomes_one_override(app, db, load_example, clock) -> None:  # type: ignore[no-untyped-def]
    """A weekly group: one RRULE; moving its third meeting adds one RECURRENCE-ID override."""
    load_example("welzijn-op-recept.toml")
    event = db.session.query(Event).filter_by(slug="welzijn-op-recept-2027").one()
    group = next(s for s in event.sessions if not any(m.title for m in s.meetings))
    data = RegistrationInput(**registration_data(6, "overig"))
    data.sessions = [group.id]
    clock.now = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)
    registration = lifecycle.register(db.session, event, data, clock.now, "test").registration
    db.session.commit()
    uid = calendar.invite_uid(registration, group)
    first = assert_valid(request(registration, clock.now, key=group.key))
    assert [e.get("RECURRENCE-ID") for e in first.walk("VEVENT")] == [None]
    third = group.meetings[2]
    planned = third.starts_at
    third.starts_at += timedelta(days=1, hours=1)
    third.ends_at += timedelta(days=1, hours=1)
    update = assert_valid(request(registration, clock.now + timedelta(days=1), 1, group.key))
    master, override = update.walk("VEVENT")
    assert master["RRULE"]["COUNT"] == [6] and master["SEQUENCE"] == override["SEQUENCE"] == 1
    assert override["RECURRENCE-ID"].dt == planned
    assert third.starts_at == override.DTSTART
    assert expand(update, uid) == spans(group)
    db.session.rollback()
