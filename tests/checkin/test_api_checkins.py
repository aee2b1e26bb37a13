"""The check-in API (blueprints/api/checkins.py) for a scanner app: door tokens, one scan per
request answered as the door page answers, each client id once, the session's presences."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from symposium.models import DoorToken, Event, Membership, Role, Via
from symposium.services.accounts import access, door_tokens
from tests.checkin.conftest import local
from tests.checkin.test_door_pages import (  # noqa: F401  (fixtures)
    csrf_of,
    live_presences,
    quick_hashes,
    register,
    sign_in,
)


@pytest.fixture
def token(app, db, event, door, clock) -> str:  # type: ignore[no-untyped-def]
    with app.test_request_context():
        _row, made = door_tokens.create(db.session, None, door, event, "entrance 1", clock.now)
    db.session.commit()
    clock.now = local(13, 2)
    return made


def url(sessions, key: str = "klein") -> str:  # type: ignore[no-untyped-def]
    return f"/api/v1/events/klein/sessions/{sessions[key].id}/checkins"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_scanner_app_checks_in_by_code_once_and_lists_the_session(
    client, db, sessions, register, token, door
) -> None:
    code = register(1, "klein").registration.checkin_code
    first = client.post(url(sessions), json={"client_id": "app-1", "code": code},
                        headers=bearer(token))  # fmt: skip
    assert first.status_code == 201, first.get_json()
    body = first.get_json()["checkin"]
    assert body["verdict"] == "welcome" and body["colour"] == "green" and not body["replayed"]
    assert body["presence"]["name"] == "Deelnemer 1"
    assert body["presence"]["checked_in_via"] == "scan"
    again = client.post(url(sessions), json={"client_id": "app-1", "code": code},
                        headers=bearer(token))  # fmt: skip
    assert again.status_code == 200 and again.get_json()["checkin"]["replayed"] is True
    [row] = live_presences(db, sessions["klein"])
    assert row.checked_in_by_id == door.id  # the token's account
    listed = client.get(url(sessions), headers=bearer(token))
    assert listed.status_code == 200 and listed.headers["Cache-Control"] == "no-store"
    assert [p["registration_id"] for p in listed.get_json()["checkins"]] == [row.registration_id]
    assert db.session.scalars(select(DoorToken)).one().last_used_at == local(13, 2)


def test_offline_scans_keep_their_time_and_refusals_answer_with_a_reason(
    client, db, sessions, register, token, clock
) -> None:
    someone = register(1, "klein").registration
    clock.now = local(13, 30)
    late = client.post(url(sessions), headers=bearer(token), json={
        "client_id": "app-2", "registration_id": someone.id,
        "scanned_at": "2027-02-04T13:05:00+01:00",
    })  # fmt: skip
    assert late.status_code == 201
    assert late.get_json()["checkin"]["presence"]["checked_in_at"].startswith("2027-02-04T12:05:00")
    assert live_presences(db, sessions["klein"])[0].checked_in_via is Via.API
    unknown = client.post(url(sessions), headers=bearer(token),
                          json={"client_id": "app-3", "code": "ABCD-EFGH-JKMNP"})  # fmt: skip
    assert unknown.status_code == 200
    assert unknown.get_json()["checkin"]["reason"] == "unknown_code"
    nothing = client.post(url(sessions), headers=bearer(token), json={"client_id": "app-4"})
    assert nothing.status_code == 422 and nothing.get_json()["error"]["code"] == "code_required"
    wrong = client.post(url(sessions), headers=bearer(token), json={"client_id": 4})
    assert wrong.status_code == 400 and wrong.get_json()["error"]["code"] == "invalid_type"


def test_who_may_use_the_api(  # type: ignore[no-untyped-def]
    app, client, db, event, sessions, register, token, door, clock, load_example
):
    code = register(1, "klein").registration.checkin_code
    scan = {"client_id": "x", "code": code}
    none = client.post(url(sessions), json=scan)
    assert none.status_code == 401 and none.get_json()["error"]["code"] == "unauthorized"
    bad = client.post(url(sessions), json=scan, headers=bearer("sdt_not-a-token"))
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "invalid_token"
    # The token is for "klein" only: at another event's door it is unknown, and the door
    # account signed in may not check in there.
    load_example("7roses-symposium.toml")
    roses = db.session.scalars(select(Event).where(Event.slug == "7roses-2027")).one()
    elsewhere = f"/api/v1/events/7roses-2027/sessions/{roses.sessions[0].id}/checkins"
    assert client.get(elsewhere, headers=bearer(token)).status_code == 401
    sign_in(client, door.email)
    assert client.get(elsewhere).status_code == 403
    # Take the door role away: the token stops with it.
    membership = db.session.scalars(select(Membership).where(Membership.user_id == door.id)).one()
    admin, _ = access.create_user(db.session, "a@example.org", Role.ADMIN, clock.now,
                                  password="admin-password-1")  # fmt: skip
    access.revoke_role(db.session, admin, membership, clock.now)
    db.session.commit()
    gone = client.post(url(sessions), json=scan, headers=bearer(token))
    assert gone.status_code == 403 and gone.get_json()["error"]["code"] == "forbidden"
    with app.test_request_context():
        row = db.session.scalars(select(DoorToken)).one()
        door_tokens.revoke(db.session, None, row.id, clock.now)
    db.session.commit()
    revoked = client.post(url(sessions), json=scan, headers=bearer(token))
    assert revoked.status_code == 401
    assert live_presences(db, sessions["klein"]) == []


def test_a_signed_in_door_account_needs_its_csrf_token(
    client, db, sessions, register, door, clock
) -> None:
    clock.now = local(13, 2)
    code = register(1, "klein").registration.checkin_code
    sign_in(client, door.email)
    scan = {"client_id": "page-1", "code": code}
    refused = client.post(url(sessions), json=scan)
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "csrf_failed"
    page = client.get(f"/door/klein/sessions/{sessions['klein'].id}/").get_data(as_text=True)
    done = client.post(url(sessions), json=scan, headers={"X-CSRFToken": csrf_of(page)})
    assert done.status_code == 201
    assert client.get(url(sessions)).status_code == 200  # reading needs no token


def test_the_door_token_command(app, db, event, door, clock) -> None:
    access.create_user(db.session, "deur2@example.org", Role.DOOR, clock.now, event=event,
                       password="deur-wachtwoord-2")  # fmt: skip
    db.session.commit()
    runner = app.test_cli_runner()
    made = runner.invoke(args=["door-token", door.email, "--event", "klein", "--label", "tablet"])
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    assert token.startswith("sdt_")
    row = db.session.scalars(select(DoorToken)).one()
    assert row.label == "tablet" and row.token_hash != token  # only its hash is kept
    wrong = runner.invoke(args=["door-token", "deur2@example.org", "--event", "klein",
                                "--revoke", str(row.id)])  # fmt: skip
    assert wrong.exit_code != 0 and "Dit token bestaat niet" in wrong.output  # not theirs
    db.session.refresh(row)
    assert row.revoked_at is None
    revoked = runner.invoke(args=["door-token", door.email, "--event", "klein",
                                  "--revoke", str(row.id)])  # fmt: skip
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    nobody = runner.invoke(args=["door-token", "nobody@example.org", "--event", "klein"])
    assert nobody.exit_code != 0 and "no account" in nobody.output
