"""The scanner's JSON (blueprints/door/scans.py): batches of scans made now or offline, each
accepted once, timed when it was made, and every problem a JSON error with a stable code."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from symposium.models import CheckinScan, Via
from tests.checkin.conftest import local
from tests.checkin.test_door_pages import (  # noqa: F401  (fixtures)
    OPEN,
    csrf_of,
    live_presences,
    quick_hashes,
    register,
    sign_in,
)


@pytest.fixture
def scanner(client, door, sessions, clock):  # type: ignore[no-untyped-def]
    """The door account at the door of "klein" at 13:02, holding the page's CSRF token."""
    clock.now = local(13, 2)
    sign_in(client, door.email)
    page = client.get(f"/door/klein/sessions/{sessions['klein'].id}/").get_data(as_text=True)
    return Scanner(client, sessions, csrf_of(page))


class Scanner:
    def __init__(self, client, sessions, csrf: str) -> None:  # type: ignore[no-untyped-def]
        self.client, self.sessions, self.csrf = client, sessions, csrf

    def url(self, key: str = "klein") -> str:
        return f"/door/klein/sessions/{self.sessions[key].id}/scans"

    def send(self, *scans: dict, key: str = "klein", csrf: str | None = None, body=None):  # type: ignore[no-untyped-def]
        return self.client.post(
            self.url(key),
            data=body if body is not None else json.dumps({"scans": list(scans)}),
            content_type="application/json",
            headers={"X-CSRFToken": self.csrf if csrf is None else csrf},
        )

    def results(self, *scans: dict, key: str = "klein") -> list[dict]:
        response = self.send(*scans, key=key)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["results"]


def item(client_id: str, code: str, at=None, **extra):  # type: ignore[no-untyped-def]
    scan = {"client_id": client_id, "code": code, **extra}
    if at is not None:
        scan["scanned_at"] = at.isoformat()
    return scan


def count_scans(db) -> int:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(CheckinScan))


def test_a_scan_answers_as_the_page_would_and_records_one_presence(
    scanner, db, sessions, register
) -> None:
    code = register(1, "klein").registration.checkin_code
    [result] = scanner.results(item("phone-1", code.lower()))
    assert result["client_id"] == "phone-1"
    assert result["colour"] == "green" and result["verdict"] == "welcome"
    assert result["headline"] == "Welkom, Deelnemer 1" and result["label"] == "Toegelaten"
    assert result["undo"] == "checkin" and result["replayed"] is False
    [row] = live_presences(db, sessions["klein"])
    assert row.checked_in_via is Via.SCAN and row.checked_in_at == local(13, 2)
    assert result["presence_id"] == row.id


def test_a_batch_sent_again_is_answered_again_and_counted_once(
    scanner, db, sessions, register
) -> None:
    codes = [register(n, "klein").registration.checkin_code for n in (1, 2, 3)]
    batch = [item(f"offline-{n}", code) for n, code in enumerate(codes)]
    first = scanner.results(*batch)
    assert [r["verdict"] for r in first] == ["welcome"] * 3
    # The connection broke before the answer arrived: sent again, and in another order.
    again = scanner.results(*reversed(batch))
    assert [r["verdict"] for r in again] == ["welcome"] * 3
    assert all(r["replayed"] for r in again)
    assert [r["presence_id"] for r in reversed(again)] == [r["presence_id"] for r in first]
    assert len(live_presences(db, sessions["klein"])) == 3
    assert count_scans(db) == 3


def test_an_offline_scan_is_recorded_at_the_time_it_was_made(
    scanner, db, sessions, register, clock
) -> None:
    code = register(1, "klein").registration.checkin_code
    made = local(12, 50)  # offline since before the start; sent at 13:40
    clock.now = local(13, 40)
    [result] = scanner.results(item("made-at-12-50", code, at=made))
    assert result["verdict"] == "welcome"
    [row] = live_presences(db, sessions["klein"])
    assert row.checked_in_at == made and row.recorded_at == local(13, 40)
    scan = db.session.scalars(select(CheckinScan)).one()
    assert scan.scanned_at == made and scan.received_at == local(13, 40)


def test_a_scan_in_the_future_or_on_another_day_is_refused_with_the_reason(
    scanner, db, sessions, register
) -> None:
    code = register(1, "klein").registration.checkin_code
    future, yesterday = scanner.results(
        item("ahead", code, at=local(13, 2) + timedelta(minutes=30)),
        item("yesterday", code, at=local(13, 2) - timedelta(days=1)),
    )
    assert future["colour"] == "red" and future["reason"] == "time_in_future"
    assert "toekomst" in future["detail"]
    assert yesterday["colour"] == "red" and yesterday["reason"] == "time_not_session_day"
    assert "2027-02-03" in yesterday["detail"]
    assert live_presences(db, sessions["klein"]) == []


def test_one_unreadable_scan_is_answered_and_the_rest_of_the_batch_recorded(
    scanner, db, sessions, register
) -> None:
    code = register(1, "klein").registration.checkin_code
    other = register(2, "klein").registration.checkin_code
    results = scanner.results(
        item("good-1", code),
        {"client_id": "bad-time", "code": other, "scanned_at": "gisteren"},
        {"client_id": "", "code": other},  # no id: the rules refuse it
        "not a scan",
        item("good-2", other, direction="sideways"),
        item("good-3", other, via="out"),
        item("good-4", other),
    )
    assert results[0]["verdict"] == "welcome"
    assert results[1]["error"]["code"] == "invalid_scan"
    assert results[1]["error"]["field"] == "scanned_at"
    assert results[2]["error"]["code"] == "invalid_client_id"
    assert results[3]["client_id"] is None
    assert results[3]["error"]["code"] == "invalid_scan" and results[3]["error"]["field"] == "scan"
    assert results[4]["error"]["field"] == "direction"
    assert results[5]["error"]["field"] == "via"
    assert results[6]["verdict"] == "welcome"
    assert len(live_presences(db, sessions["klein"])) == 2


def test_check_out_by_scan_and_a_tap_on_a_name_through_the_scanner(
    scanner, db, sessions, register, clock
) -> None:
    registration = register(1, "klein").registration
    scanner.results(item("in", registration.checkin_code))
    clock.now = local(14, 10)
    [out] = scanner.results(item("out", registration.checkin_code, direction="out"))
    assert out["verdict"] == "goodbye" and out["undo"] == "checkout"
    assert "14:10" in out["detail"]
    [row] = live_presences(db, sessions["klein"])
    assert row.checked_out_at == local(14, 10) and row.checked_out_via is Via.SCAN
    # A name tapped in the list, via the same address: by registration id.
    other = register(2, "psy").registration
    [orange] = scanner.results({"client_id": "tap", "registration_id": other.id, "via": "search"})
    assert orange["verdict"] == "other_session" and orange["admit_anyway"] is True
    [anyway] = scanner.results(
        {"client_id": "tap-2", "registration_id": other.id, "via": "search",
         "admit_anyway": True}
    )  # fmt: skip
    assert anyway["verdict"] == "welcome" and "toch toegelaten" in anyway["detail"]
    rows = {p.registration_id: p for p in live_presences(db, sessions["klein"])}
    assert rows[other.id].admitted_anyway and rows[other.id].checked_in_via is Via.SEARCH


def test_errors_of_the_whole_request_are_json_with_a_stable_code(scanner, db, register) -> None:
    code = register(1, "klein").registration.checkin_code
    not_json = scanner.send(body="{scans: [")
    assert not_json.status_code == 400 and not_json.get_json()["error"]["code"] == "invalid_json"
    for body in ('["a"]', '{"scans": {"client_id": "x"}}', "{}"):
        wrong = scanner.send(body=body)
        assert wrong.status_code == 400 and wrong.get_json()["error"]["code"] == "invalid_body"
    many = scanner.send(*(item(f"n{n}", code) for n in range(501)))
    assert many.status_code == 413 and many.get_json()["error"]["code"] == "too_many_scans"
    no_token = scanner.send(item("x", code), csrf="")
    assert no_token.status_code == 400
    assert no_token.get_json()["error"]["code"] == "csrf_failed"
    control = scanner.send(item("x", code + "\x00"))
    assert control.status_code == 422 and control.get_json()["error"]["code"] == "invalid_text"
    assert count_scans(db) == 0


def test_a_fresh_token_and_the_servers_clock_for_the_page(scanner, clock) -> None:
    response = scanner.client.get(scanner.url())
    assert response.status_code == 200
    body = response.get_json()
    assert body["server_time"] == local(13, 2).isoformat()
    assert scanner.send(csrf=body["csrf_token"]).status_code == 200  # an empty batch
    assert response.headers["Cache-Control"] == "no-store"


def test_only_the_events_door_may_send_scans(client, db, door, sessions, clock) -> None:
    url = f"/door/klein/sessions/{sessions['klein'].id}/scans"
    anonymous = client.post(url, json={"scans": []})
    # Not signed in: no page, so no token (the CSRF check runs before any view).
    assert anonymous.status_code == 400
    assert anonymous.get_json()["error"]["code"] == "csrf_failed"
    assert client.get(url).status_code == 302  # the sign-in page
    sign_in(client, door.email)
    assert client.get("/door/klein/sessions/999999/scans").status_code == 404


def test_the_door_page_carries_the_scanner_for_the_script(scanner, sessions) -> None:
    page = scanner.client.get(f"/door/klein/sessions/{sessions['klein'].id}/").get_data(
        as_text=True
    )
    assert f'data-scans-url="{scanner.url()}"' in page
    assert 'data-server-time="2027-02-04T12:02:00+00:00"' in page
    assert "/static/vendor/jsqr/jsQR.js" in page and "/static/door/door.js" in page
    assert 'data-t-waiting-one="{n} scan wacht om verstuurd te worden"' in page
    assert 'data-t-waiting-other="{n} scans wachten om verstuurd te worden"' in page
