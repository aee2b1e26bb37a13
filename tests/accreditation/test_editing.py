"""Recording a register's accreditation in the back-office, as the event file can."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from symposium.models import AuditEntry, ListExport, Role, Rounding, Scope
from symposium.services.accounts import access
from symposium.services.accreditation import points
from tests.backoffice.test_admin import PASSWORD, login, token
from tests.conftest import SMALL_EVENT


@pytest.fixture
def organiser(app, db, event, clock):  # type: ignore[no-untyped-def]
    access.create_user(db.session, "org@example.org", Role.ORGANISER, clock.now, event=event,
                       password=PASSWORD)  # fmt: skip
    db.session.commit()
    client = app.test_client()
    login(client, "org@example.org")
    return client


def fields(page: str) -> dict[str, str]:
    """The form as the page fills it (text inputs, the selected options, the checked radio)."""
    found = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
    for name in re.findall(r'<input[^>]*name="([^"]+)"(?![^>]*value=)[^>]*>', page):
        found.setdefault(name, "")
    for name, value in re.findall(
        r'<select[^>]*name="([^"]+)"[^>]*>.*?<option[^>]*selected[^>]*value="([^"]*)"', page, re.S
    ):
        found[name] = value
    return found


def test_an_organiser_records_a_registers_accreditation_with_its_points(
    organiser, db, event, sessions
) -> None:
    url = "/admin/events/klein/accreditation/new"
    page = organiser.get(f"{url}?lang=en").get_data(as_text=True)
    assert 'value="GAIA"' not in page and 'value="REGISTERPLEIN"' in page  # GAIA is recorded
    blank = {k: "" for k in fields(page) if k.startswith("points_")}  # cleared, as typed
    data = blank | {
        "csrf_token": token(page), "register": "REGISTERPLEIN", "activity_id": "118734",
        "scope": "session", "rounding": "whole", "deadline": "2027-04-01", "daily_cap": "",
        f"points_{sessions['opening'].id}": "1", f"points_{sessions['klein'].id}": "1,5",
        f"points_{sessions['groot'].id}": "",
    }  # fmt: skip
    wrong = organiser.post(f"{url}?lang=en", data=data | {f"points_{sessions['klein'].id}": "veel"})
    assert wrong.status_code == 422
    html = wrong.get_data(as_text=True)
    assert re.search(rf'id="points_{sessions["klein"].id}-error">Enter a number of points', html)
    assert organiser.post(url, data=data).status_code == 303
    found = {a.register.code: a for a in points.accreditations(db.session, event)}
    plein = found["REGISTERPLEIN"]
    assert (plein.activity_id, plein.rounding, plein.scope) == (
        "118734",
        Rounding.WHOLE,
        Scope.SESSION,
    )
    by_id = {row.session_id: row.points for row in plein.sessions}
    assert by_id == {sessions["opening"].id: Decimal("1"), sessions["klein"].id: Decimal("1.5")}
    edit = "/admin/events/klein/accreditation/REGISTERPLEIN/edit"
    page = organiser.get(f"{edit}?lang=en").get_data(as_text=True)
    assert f'name="points_{sessions["klein"].id}" type="text" value="1.5"' in page
    changed = fields(page) | {"csrf_token": token(page), "scope": "event", "rounding": "none",
                              f"points_{sessions['groot'].id}": "2"}  # fmt: skip
    assert organiser.post(edit, data=changed).status_code == 303
    assert organiser.post(edit, data=changed).status_code == 303  # the same again: no entry
    db.session.expire_all()
    plein = next(
        a for a in points.accreditations(db.session, event) if a.register.code == "REGISTERPLEIN"
    )
    assert plein.scope is Scope.EVENT and len(plein.sessions) == 3
    saved = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "accreditation_saved")
    ).all()
    assert len(saved) == 2 and saved[1].after["scope"] == "event"


def test_removing_an_accreditation_needs_confirming(organiser, db, event) -> None:
    edit = "/admin/events/klein/accreditation/NIP/edit"
    page = organiser.get(edit).get_data(as_text=True)
    delete = "/admin/events/klein/accreditation/NIP/delete"
    assert organiser.post(delete, data={"csrf_token": token(page)}).status_code == 422
    assert "NIP" in [a.register.code for a in points.accreditations(db.session, event)]
    done = organiser.post(delete, data={"csrf_token": token(page), "confirm": "y"})
    assert done.status_code == 303
    db.session.expire_all()
    assert [a.register.code for a in points.accreditations(db.session, event)] == ["GAIA"]
    # The programme changed: GZ-psychologists are asked for no NIP number any more.
    form = organiser.get("/events/klein/register?profession=gz-psycholoog").get_data(as_text=True)
    assert "identifier_NIP" not in form


def test_the_event_form_sets_the_tolerances_of_full_attendance(organiser, db, event) -> None:
    url = "/admin/events/klein/edit"
    page = organiser.get(url).get_data(as_text=True)
    data = fields(page) | {"csrf_token": token(page), "late_tolerance_minutes": "5"}
    assert organiser.post(url, data=data).status_code == 303
    db.session.expire_all()
    assert (event.late_tolerance_minutes, event.early_tolerance_minutes) == (5, 10)


def test_double_submits_and_odd_values_never_fail(organiser, db, event, sessions) -> None:
    url = "/admin/events/klein/accreditation/new"
    page = organiser.get(url).get_data(as_text=True)
    data = fields(page) | {"csrf_token": token(page), "register": "KRP", "scope": "session",
                           "rounding": "none", "daily_cap": "0,001"}  # fmt: skip
    tiny = organiser.post(f"{url}?lang=en", data=data)
    assert tiny.status_code == 422
    assert 'id="daily_cap-error">Enter points between 0 and 999.99.' in tiny.get_data(as_text=True)
    data["daily_cap"] = "1e30"
    assert organiser.post(url, data=data).status_code == 422  # a number, but no cap
    data["daily_cap"] = "6"
    assert organiser.post(url, data=data).status_code == 303
    assert organiser.post(url, data=data).status_code == 303  # sent twice: the same one
    codes = [a.register.code for a in points.accreditations(db.session, event)]
    assert codes.count("KRP") == 1
    delete = "/admin/events/klein/accreditation/KRP/delete"
    form = {"csrf_token": token(page), "confirm": "y"}
    assert organiser.post(delete, data=form).status_code == 303
    assert organiser.post(delete, data=form).status_code == 303  # gone already: no 404
    odd = organiser.post(
        "/admin/events/klein/accreditation/GAIA/points",
        data={"csrf_token": token(page), "registration_id": "²", "reason": "x"},
    )
    assert odd.status_code == 404  # fmt: skip


def test_a_prefetched_list_is_not_counted_as_exported(organiser, db) -> None:
    url = "/admin/events/klein/accreditation/GAIA/attendance.txt"
    assert organiser.get(url, headers={"Sec-Purpose": "prefetch"}).status_code == 200
    assert db.session.scalar(select(ListExport.id)) is None
    assert organiser.get(url).status_code == 200
    assert db.session.scalar(select(ListExport.format)) == "paste"


def test_an_event_file_without_accreditations_leaves_them_be(app, db, event, tmp_path) -> None:
    path = tmp_path / "klein.toml"
    path.write_text(SMALL_EVENT.split("# Doctors' points")[0])
    result = app.test_cli_runner().invoke(args=["load-event", str(path)])
    assert result.exit_code == 0, result.output
    assert [a.register.code for a in points.accreditations(db.session, event)] == ["GAIA", "NIP"]


def test_points_for_someone_whose_scans_were_lost(organiser, db, event, register) -> None:
    gp = register(1, "klein", profession="huisarts").registration
    url = "/admin/events/klein/accreditation/GAIA"
    page = organiser.get(f"{url}?lang=en").get_data(as_text=True)
    absent = page[page.index('id="absent"') :]
    assert "Deelnemer 1" in absent and "never checked in" in page
    form = {"csrf_token": token(page), "registration_id": str(gp.id), "points": "2,5",
            "reason": "Aftekenlijst zaal Esdoorn"}  # fmt: skip
    assert organiser.post(f"{url}/points", data=form).status_code == 303
    assert organiser.get(f"{url}/attendance.txt").data == b"12345678901\n"
