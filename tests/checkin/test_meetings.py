"""Presence per meeting of a group that meets several times (a Welzijn op recept group):
each meeting is ticked on its own day, at the door (a list of the group, no QR code needed)
or from paper, and the organiser's lists and figures are per meeting."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from symposium.models import CheckinScan, Event, Presence, Role, Via
from symposium.services.accounts import access
from symposium.services.checkin import attendance, presence, sheets
from symposium.services.checkin.answers import Reason, Verdict
from symposium.services.registration import lifecycle
from symposium.services.registration.validation import RegistrationInput
from tests.checkin.test_door_pages import quick_hashes, sign_in  # noqa: F401  (fixture)
from tests.conftest import registration_data

SERIES = "welzijn-op-recept-2027"
PASSWORD = "facilitator-password"


@pytest.fixture
def series(db, load_example):  # type: ignore[no-untyped-def]
    load_example("welzijn-op-recept.toml")
    return db.session.scalars(select(Event).where(Event.slug == SERIES)).one()


@pytest.fixture
def group(series):  # type: ignore[no-untyped-def]
    """Tuesdays 9 March – 13 April 2027, 19:00–21:00 (summer time from 28 March)."""
    return next(s for s in series.sessions if s.key == "rondkomen-digitaal")


@pytest.fixture
def members(db, series, group):  # type: ignore[no-untyped-def]
    """Three participants with a place in the group."""
    made = []
    for n, name in enumerate(["Amal Haddou", "Bilal Yilmaz", "Olena Kovalenko"], start=1):
        data = RegistrationInput(**registration_data(n, "overig", name=name), sessions=[group.id])
        signed_up = series.registration_opens_at + timedelta(days=1)
        made.append(lifecycle.register(db.session, series, data, signed_up, "t").registration)
    db.session.commit()
    return made


@pytest.fixture
def facilitator(db, series, clock):  # type: ignore[no-untyped-def]
    """A door account of the series: the group's facilitator ticks the list."""
    user, _ = access.create_user(
        db.session, "begeleider@example.org", Role.DOOR, clock.now, event=series,
        password=PASSWORD,
    )  # fmt: skip
    db.session.commit()
    return user


@pytest.fixture
def organiser(db, series, clock):  # type: ignore[no-untyped-def]
    user, _ = access.create_user(
        db.session, "coordinator@example.org", Role.ORGANISER, clock.now, event=series,
        password=PASSWORD,
    )  # fmt: skip
    db.session.commit()
    return user


def tick(db, group, person, at: datetime, client_id: str):  # type: ignore[no-untyped-def]
    answer = presence.scan(
        db.session, None, group, client_id=client_id, registration_id=person.id, now=at,
        via=Via.SEARCH,
    )  # fmt: skip
    db.session.commit()
    return answer


def test_each_meeting_is_a_presence_of_its_own(app, db, group, members) -> None:
    amal = members[0]
    first, second = group.meetings[0], group.meetings[1]
    with app.test_request_context():
        one = tick(db, group, amal, first.starts_at + timedelta(minutes=4), "a1")
        again = tick(db, group, amal, first.starts_at + timedelta(minutes=30), "a2")
        two = tick(db, group, amal, second.starts_at - timedelta(minutes=5), "a3")
        # A Wednesday: the group meets on Tuesdays.
        wednesday = tick(db, group, amal, first.starts_at + timedelta(days=1), "a4")
    assert one.verdict is Verdict.WELCOME and one.presence.meeting_id == first.id
    assert again.verdict is Verdict.ALREADY and again.presence.id == one.presence.id
    assert two.verdict is Verdict.WELCOME and two.presence.meeting_id == second.id
    assert (wednesday.verdict, wednesday.reason) == (Verdict.REFUSED, Reason.NO_MEETING_THAT_DAY)
    assert wednesday.detail == "2027-03-10"
    rows = db.session.scalars(select(Presence).order_by(Presence.id)).all()
    assert [r.meeting_id for r in rows] == [first.id, second.id]
    # Late and early are the meeting's, not the first meeting's of the group.
    assert attendance.late_by(rows[1]) is None and attendance.in_full(rows[1])
    assert attendance.session_counts(db.session, group, second).checked_in == 1
    assert attendance.session_counts(db.session, group).checked_in == 2


def test_the_facilitator_ticks_the_group_list_at_the_door(
    client, db, clock, group, members, facilitator
) -> None:
    """A group of twelve needs no QR code: the door lists the group, one tap per person."""
    meeting = group.meetings[3]  # 30 March, summer time: 19:00 local is 17:00 UTC
    clock.now = meeting.starts_at - timedelta(minutes=10)
    sign_in(client, facilitator.email, PASSWORD)
    index = client.get(f"/door/{SERIES}/").get_data(as_text=True)
    assert "Rondkomen in een digitale samenleving" in index
    url = f"/door/{SERIES}/sessions/{group.id}/"
    page = client.get(url).get_data(as_text=True)
    assert "Bijeenkomst van dinsdag 30 maart 2027" in page and "19:00–21:00" in page
    for person in members:
        assert f'aria-label="Inchecken: {person.name}"' in page
    client_id = re.search(
        rf'name="registration_id" value="{members[1].id}">'
        r'<input type="hidden" name="client_id" value="([^"]+)"',
        page,
    )[1]  # type: ignore[index]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]  # type: ignore[index]
    response = client.post(
        f"{url}scan",
        data={"csrf_token": token, "registration_id": members[1].id, "client_id": client_id,
              "direction": "in"},
    )  # fmt: skip
    assert response.status_code == 303
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Bilal Yilmaz" in after and "Ingecheckt om 18:50" in after
    (row,) = db.session.scalars(select(Presence)).all()
    assert (row.registration_id, row.meeting_id) == (members[1].id, meeting.id)
    assert re.search(r'id="count-checked-in">1<', after)

    # The next day the group does not meet: no list, no scans, and the next meeting named.
    clock.now = meeting.starts_at + timedelta(days=1)
    quiet = client.get(url).get_data(as_text=True)
    assert "Deze groep komt vandaag niet bijeen." in quiet
    assert "Volgende bijeenkomst: dinsdag 6 april 2027, 19:00." in quiet
    assert 'aria-label="Inchecken:' not in quiet
    assert re.search(r'id="count-checked-in">0<', quiet)


def test_everyone_left_closes_only_todays_meeting(app, db, group, members, clock) -> None:
    first, second = group.meetings[0], group.meetings[1]
    with app.test_request_context():
        tick(db, group, members[0], first.starts_at, "f0")
        tick(db, group, members[0], second.starts_at, "s0")
        tick(db, group, members[1], second.starts_at, "s1")
        left = presence.everyone_left(db.session, None, group, second.ends_at + timedelta(hours=1))
        db.session.commit()
    assert left == 2
    rows = {(p.registration_id, p.meeting_id): p for p in db.session.scalars(select(Presence))}
    assert rows[(members[0].id, first.id)].checked_out_at is None
    assert rows[(members[0].id, second.id)].checked_out_at == second.ends_at


def test_a_meetings_list_is_entered_from_paper_and_shown_per_meeting(
    client, db, clock, group, members, organiser
) -> None:
    first, fifth = group.meetings[0], group.meetings[4]
    clock.now = fifth.ends_at + timedelta(days=2)
    sign_in(client, organiser.email, PASSWORD)
    url = f"/admin/events/{SERIES}/sessions/{group.id}/paper?meeting={first.id}"
    page = client.get(url).get_data(as_text=True)
    assert "dinsdag 9 maart 2027, 19:00–21:00" in page
    assert f'?meeting={first.id}" aria-current="page">9 mrt 2027<' in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]  # type: ignore[index]
    ticked = [members[0].id, members[2].id]
    response = client.post(url, data={"csrf_token": token, "present": ticked})
    assert response.status_code == 303 and f"meeting={first.id}" in response.headers["Location"]
    rows = db.session.scalars(select(Presence)).all()
    assert {(r.registration_id, r.meeting_id) for r in rows} == {
        (members[0].id, first.id), (members[2].id, first.id),
    }  # fmt: skip
    assert all(r.checked_in_at == first.starts_at and r.checked_in_via is Via.PAPER for r in rows)

    # The same names on the fifth meeting's list are presences of that meeting.
    with client.application.test_request_context():
        entry = sheets.enter_paper(db.session, organiser, group, [members[0].id], clock.now, fifth)
        db.session.commit()
        again = sheets.enter_paper(db.session, organiser, group, [members[0].id], clock.now, fifth)
    assert len(entry.recorded) == 1 and again.already and not again.recorded

    # The presence list of a meeting shows that meeting's people only.
    listed = client.get(
        f"/admin/events/{SERIES}/sessions/{group.id}/presence?meeting={fifth.id}"
    ).get_data(as_text=True)
    checked_in = listed.split('id="missing-heading"')[0]
    assert "Amal Haddou" in checked_in and "Olena Kovalenko" not in checked_in
    assert "1 persoon ingecheckt" in listed
    # Its sign-in sheet is the meeting's.
    sheet = client.get(
        f"/admin/events/{SERIES}/sessions/{group.id}/sign-in-sheet.pdf?meeting={fifth.id}"
    )
    assert sheet.status_code == 200 and "meeting-5" in sheet.headers["Content-Disposition"]


def test_the_dashboard_shows_the_current_meeting(app, db, series, group, members) -> None:
    first, second = group.meetings[0], group.meetings[1]
    with app.test_request_context():
        for n, person in enumerate(members):
            tick(db, group, person, first.starts_at, f"f{n}")
        tick(db, group, members[0], second.starts_at + timedelta(minutes=25), "late")
    figures = {
        f.session.id: f
        for f in attendance.event_attendance(
            db.session, series, second.starts_at + timedelta(hours=1)
        )
    }[group.id]
    assert figures.meeting.id == second.id
    assert (figures.expected, figures.checked_in, figures.late, figures.no_shows) == (3, 1, 1, 2)


def test_a_meeting_with_attendance_cannot_be_dropped_from_the_file(
    app, db, group, members, tmp_path
) -> None:
    from symposium.services.programme import event_loading
    from symposium.services.programme.event_files import EventFileError
    from tests.conftest import EXAMPLES

    with app.test_request_context():
        tick(db, group, members[0], group.meetings[-1].starts_at, "last")
    text = (EXAMPLES / "welzijn-op-recept.toml").read_text()
    shorter = text.replace(
        "series = { first_starts_at = 2027-03-09T19:00:00, count = 6,",
        "series = { first_starts_at = 2027-03-09T19:00:00, count = 5,",
    )
    assert shorter != text
    path = tmp_path / "series.toml"
    shutil.copy(EXAMPLES / "welzijn-op-recept-logo.png", tmp_path)  # its [branding] logo
    path.write_text(shorter)
    with pytest.raises(EventFileError) as raised:
        event_loading.load_event_file(db.session, path, group.meetings[-1].ends_at)
    assert "sessions.rondkomen-digitaal.meetings.6: has recorded attendance" in str(raised.value)
    # Moving the series to Wednesdays would move the attended meeting to another day too.
    path.write_text(text.replace("first_starts_at = 2027-03-09T19:00:00, count = 6,",
                                 "first_starts_at = 2027-03-10T19:00:00, count = 6,"))  # fmt: skip
    with pytest.raises(EventFileError) as moved:
        event_loading.load_event_file(db.session, path, group.meetings[-1].ends_at)
    assert "meetings.6: has recorded attendance; it cannot move to another day" in str(moved.value)


def test_the_migration_gives_earlier_group_presences_their_meeting(app, db, group, members) -> None:
    """A presence of a group recorded before presence per meeting is matched to the meeting
    it was checked in at."""
    from flask_migrate import downgrade, upgrade

    ids = [m.id for m in group.meetings]
    group_id, person, event_id = group.id, members[0].id, group.event_id
    checked_in = group.meetings[2].starts_at + timedelta(minutes=7)
    db.session.commit()
    db.session.remove()
    downgrade(revision="63da9aaa6520")
    from sqlalchemy import column, table, text

    from symposium.models.base import UTCDateTime

    presences = table(
        "presences", column("session_id"), column("registration_id"),
        column("checked_in_at", UTCDateTime()), column("checked_in_via"),
        column("admitted_anyway"), column("recorded_at", UTCDateTime()),
    )  # fmt: skip
    with db.engine.begin() as conn:
        conn.execute(
            presences.insert().values(
                session_id=group_id, registration_id=person, checked_in_at=checked_in,
                checked_in_via="search", admitted_anyway=False, recorded_at=checked_in,
            )
        )  # fmt: skip
    scans = table(
        "checkin_scans", column("event_id"), column("client_id"), column("session_id"),
        column("direction"), column("registration_id"), column("presence_id"),
        column("verdict"), column("detail"), column("scanned_at", UTCDateTime()),
        column("received_at", UTCDateTime()),
    )  # fmt: skip
    with db.engine.begin() as conn:
        presence_id = conn.execute(text("SELECT id FROM presences")).scalar_one()
        conn.execute(
            scans.insert().values(
                event_id=event_id, client_id="old-scan", session_id=group_id,
                direction="in", registration_id=person, presence_id=presence_id,
                verdict="welcome", detail="", scanned_at=checked_in, received_at=checked_in,
            )
        )  # fmt: skip
    upgrade()
    (row,) = db.session.scalars(select(Presence)).all()
    assert row.meeting_id == ids[2]
    # SQLite rebuilds the table; the scan still names the presence it made (a replay needs it).
    (scan,) = db.session.scalars(select(CheckinScan)).all()
    assert scan.presence_id == row.id
    assert row.checked_in_at.astimezone(UTC) == checked_in


def test_a_meeting_to_come_cannot_be_entered_from_paper(app, db, group, members, organiser) -> None:
    from symposium.services.core.errors import RuleError

    third = group.meetings[2]
    with app.test_request_context(), pytest.raises(RuleError) as refused:
        sheets.enter_paper(
            db.session, organiser, group, [members[0].id], third.starts_at - timedelta(days=1),
            third,
        )  # fmt: skip
    assert refused.value.code == "meeting_not_held"


def test_a_group_earns_points_only_for_every_meeting_in_full(app, db, series, group) -> None:
    """The points rules read a group's meetings as one: each attended in full, or the first
    that was not, with that meeting's times (so the reason names its lateness)."""
    from symposium.services.accreditation.points import _group_presence

    late, early = timedelta(minutes=10), timedelta(minutes=10)
    every = {m.id: (m.starts_at + timedelta(minutes=3), None) for m in group.meetings}
    start, end = group.effective_starts_at, group.effective_ends_at
    assert _group_presence(group, every, late, early) == (start, None, start, end)
    fourth = group.meetings[3]
    late_once = {**every, fourth.id: (fourth.starts_at + timedelta(minutes=25), None)}
    assert _group_presence(group, late_once, late, early) == (
        fourth.starts_at + timedelta(minutes=25), None, fourth.starts_at, fourth.ends_at,
    )  # fmt: skip
    missed = {k: v for k, v in every.items() if k != fourth.id}
    assert _group_presence(group, missed, late, early) is None


def test_old_certificates_are_not_flagged_for_the_count_of_meetings() -> None:
    """Certificates issued before presence per meeting lack ``meetings_held``: that alone is
    no correction."""
    from symposium.services.certificates import issuing

    row = {"title": "Opening", "kind": "plenary", "meetings": [], "in_full": True,
           "checked_in_at": "2027-03-18T08:00:00+00:00", "hours": "1"}  # fmt: skip
    old = {"sessions": [row], "registers": [], "numbers": "", "hours": "1"}
    new = {**old, "sessions": [{**row, "meetings_held": 0}]}
    assert issuing._comparable(old) == issuing._comparable(new)
