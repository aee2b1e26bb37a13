"""The organiser's live view of the door (services/checkin/attendance.py): per session on the
dashboard, a session's presence list, a person's history, and the exports' columns."""

from __future__ import annotations

import csv
import io
import re

import pytest

from symposium.models import Role, Via
from symposium.services.accounts import access
from symposium.services.checkin import attendance, presence
from symposium.services.checkin.presence import Direction
from tests.checkin.conftest import local
from tests.checkin.test_door_pages import quick_hashes, register, sign_in  # noqa: F401

PASSWORD = "organiser-password"


@pytest.fixture
def day(app, db, event, sessions, register, door, clock):  # type: ignore[no-untyped-def]
    """ "klein" (13:00–14:30) at 13:40: one on time, one late who left early, one admitted
    anyway from "psy", one not come; and the organiser."""
    people = {n: register(n, "klein").registration for n in (1, 2, 3, 4)}
    people[5] = register(5, "psy").registration
    klein = sessions["klein"]

    def scan(n, hour, minute, direction=Direction.IN, anyway=False):  # type: ignore[no-untyped-def]
        with app.test_request_context():
            presence.scan(
                db.session, door, klein, client_id=f"c-{n}-{hour}{minute}-{direction}",
                now=local(hour, minute), registration_id=people[n].id, direction=direction,
                via=Via.SEARCH, admit_anyway=anyway,
            )  # fmt: skip
        db.session.commit()

    scan(1, 13, 2)
    scan(2, 13, 20)
    scan(2, 14, 0, Direction.OUT)
    scan(5, 13, 5, anyway=True)
    clock.now = local(13, 40)
    access.create_user(
        db.session, "org@example.org", Role.ORGANISER, clock.now, event=event, password=PASSWORD
    )
    db.session.commit()
    return people


def test_the_door_figures_per_session(db, event, sessions, day, clock) -> None:
    figures = {
        a.session.key: a for a in attendance.event_attendance(db.session, event, local(14, 10))
    }
    klein = figures["klein"]
    assert (klein.expected, klein.checked_in, klein.checked_out, klein.still_in) == (4, 3, 1, 2)
    assert (klein.late, klein.early, klein.admitted_anyway) == (1, 1, 1)
    assert klein.no_shows == 2  # Deelnemer 3 and 4; the one admitted anyway is extra
    assert figures["psy"].expected == 1 and figures["psy"].checked_in == 0
    assert figures["psy"].no_shows == 1
    assert figures["groot"].no_shows is None  # 15:00: not started
    assert figures["opening"].expected == 5  # the plenary: every active registration


def test_the_dashboard_shows_the_door_and_who_was_admitted_anyway(client, sessions, day) -> None:
    sign_in(client, "org@example.org", PASSWORD)
    page = client.get("/admin/events/klein/dashboard").get_data(as_text=True)
    door = page.split('id="at-the-door"')[1].split("</section>")[0]
    row = re.search(r"Kleine workshop.*?</tr>", door, re.S)[0]  # type: ignore[index]
    cells = [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]
    assert cells[0] == "4" and cells[1].startswith("3") and "1 toch toegelaten" in cells[1]
    assert cells[2:5] == ["1", "2", "2"]
    assert "1 te laat" in cells[5] and "1 eerder weg" in cells[5]
    anyway = door.split("Toch toegelaten")[1]
    assert "Deelnemer 5" in anyway and "Kleine workshop" in anyway
    assert f"/door/klein/sessions/{sessions['klein'].id}/" in door


def test_a_sessions_presence_list_and_a_persons_history(client, sessions, day) -> None:
    sign_in(client, "org@example.org", PASSWORD)
    page = client.get(f"/admin/events/klein/sessions/{sessions['klein'].id}/presence")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "3 personen ingecheckt" in text
    assert "20 min te laat" in text and "30 min eerder" in text and "toch toegelaten" in text
    missing = text.split("Verwacht, niet ingecheckt")[1]
    assert "Deelnemer 3" in missing and "Deelnemer 4" in missing and "Deelnemer 1" not in missing

    history = client.get(f"/admin/events/klein/participants/{day[2].id}").get_data(as_text=True)
    section = history.split('id="presence-heading"')[1]
    assert "Kleine workshop" in section and "13:20" in section and "14:00" in section
    assert "zoeken op naam" in section and "deur@example.org" in section
    assert re.search(r"<td[^>]*>\s*nee\s*</td>", section)  # not in full: late and left early


def test_the_session_export_has_the_check_in_columns(client, sessions, day) -> None:
    sign_in(client, "org@example.org", PASSWORD)
    url = f"/admin/events/klein/sessions/{sessions['klein'].id}/participants.csv?lang=en"
    body = client.get(url).data.decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(body)))
    start = header.index("Checked in")  # phone and needs come after these
    assert header[start : start + 5] == ["Checked in", "Checked out", "Minutes late",
                                         "Minutes left early", "Attended in full"]  # fmt: skip
    by_name = {r[0]: r[start : start + 5] for r in rows}
    assert by_name["Deelnemer 1"] == ["2027-02-04 13:02", "", "", "", "yes"]
    assert by_name["Deelnemer 2"] == ["2027-02-04 13:20", "2027-02-04 14:00", "20", "30", "no"]
    assert by_name["Deelnemer 3"] == ["", "", "", "", ""]


def test_the_registrations_export_lists_the_sessions_attended(client, sessions, day) -> None:
    sign_in(client, "org@example.org", PASSWORD)
    body = client.get("/admin/events/klein/registrations.csv?lang=en").data.decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(body)))
    column = header.index("Checked in")  # phone and needs come after it
    by_name = {r[1]: r[column] for r in rows}
    assert by_name["Deelnemer 2"] == "Kleine workshop 13:20–14:00"
    assert by_name["Deelnemer 1"] == "Kleine workshop 13:02"
    assert by_name["Deelnemer 3"] == ""


def test_retention_keeps_register_numbers_of_those_who_came(db, event, day) -> None:
    from datetime import timedelta

    from symposium.services.privacy.retention import Retention, attended, keeps_accreditation_data

    retention = Retention(personal_days=30, accreditation_days=90)
    after = event.ends_at + timedelta(days=31)
    assert not attended(day[1], event.ends_at - timedelta(hours=1))  # not over yet
    assert attended(day[1], after) and attended(day[2], after)  # in, and in part
    assert attended(day[5], after)  # admitted anyway: they were there
    assert not attended(day[3], after)  # a place, but the door never saw them
    assert keeps_accreditation_data(day[1], after, retention)
    assert not keeps_accreditation_data(day[3], after, retention)
