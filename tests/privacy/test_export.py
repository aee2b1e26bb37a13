"""The registrant's download: every column is in it or declared secret, through the route too."""

from __future__ import annotations

import json

from symposium.models import Enrolment, Registration, User
from symposium.services.privacy import export
from symposium.services.registration import lifecycle


def test_every_column_of_a_registration_and_an_enrolment_is_exported_or_declared_secret():
    # Walks the models: a new column fails here until it is exported or declared a secret.
    columns = set(Registration.__table__.columns.keys())
    assert set(export.REGISTRATION_FIELDS) | set(export.SECRET) == columns
    assert not set(export.REGISTRATION_FIELDS) & set(export.SECRET)
    assert set(export.ENROLMENT_FIELDS) == set(Enrolment.__table__.columns.keys())


def test_the_export_holds_every_personal_value(db, register, deliver, clock, small_event):
    outcome = register(1, small_event["klein"], small_event["groot"])
    lifecycle.change_session(db.session, outcome.registration, small_event["ook-r2"], clock.now)
    db.session.commit()
    deliver()
    registration = outcome.registration
    data = export.personal_data(db.session, registration)
    json.dumps(data)  # JSON-ready as it is

    exported = data["registration"]
    for name in export.REGISTRATION_FIELDS:
        value = getattr(registration, name)
        expected = (
            value.isoformat() if hasattr(value, "isoformat") else getattr(value, "value", value)
        )
        assert exported[name] == expected, name
    for name in ("email", "name", "phone", "organisation", "needs"):
        assert exported[name] not in ("", None), name
    text = json.dumps(data)
    for name in export.SECRET:
        value = getattr(registration, name)
        assert value is None or value not in text, name
    assert data["register_numbers"] == {"NIP": "NIP-00012345"}
    assert data["profession"]["code"] == "gz-psycholoog"

    by_key = {e["session"]["key"]: e for e in data["enrolments"]}
    assert by_key["klein"]["status"] == "confirmed"
    assert by_key["klein"]["session"]["starts_at"].startswith("2027-02-04T12:00")
    assert by_key["groot"]["status"] == "cancelled"  # switched to ook-r2
    assert [c["reason"] for c in by_key["groot"]["changes"]] == ["registered", "switched"]
    for e in registration.enrolments:
        row = next(x for x in data["enrolments"] if x["id"] == e.id)
        for name in export.ENROLMENT_FIELDS:
            value = getattr(e, name)
            expected = (
                value.isoformat() if hasattr(value, "isoformat") else getattr(value, "value", value)
            )
            assert row[name] == expected, name
    mail = data["mail"]
    # One mail per change: the invitation is one UID for all their places (issue 16 point 7)
    assert [m["kind"] for m in mail] == ["registered", "changed"]
    assert all(m["subject"] and m["sent_at"] and m["to"] == "deelnemer1@example.org" for m in mail)


def test_history_entries_about_them_are_in_it(db, register, clock, small_event) -> None:

    mine = register(1, small_event["klein"])
    other = register(12, small_event["klein"])  # "registration 12…" must not match 1
    admin = User(email="admin@example.org", name="A", password_hash="x", created_at=clock.now)
    db.session.add(admin)
    db.session.flush()
    lifecycle.resend_link(db.session, mine.registration, clock.now, actor=admin)
    lifecycle.resend_link(db.session, other.registration, clock.now, actor=admin)
    db.session.commit()
    history = export.personal_data(db.session, mine.registration)["history"]
    assert [(h["action"], h["by"]) for h in history] == [("manage_link_resent", "organiser")]
    assert "admin@example.org" not in json.dumps(history)


def test_download_from_the_manage_page(client, db, register, small_event) -> None:
    outcome = register(1, small_event["klein"])
    response = client.get(f"/r/{outcome.token}/data.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"] == 'attachment; filename="klein-data.json"'
    data = response.get_json()
    assert data["registration"]["email"] == "deelnemer1@example.org"
    assert data["enrolments"][0]["session"]["title"] == "Kleine workshop"
    assert outcome.token not in response.get_data(as_text=True)
    assert client.get("/r/not-a-token/data.json").status_code == 404


def test_presence_columns_are_exported_or_named_as_the_organisers_data() -> None:
    from symposium.models import Presence

    columns = set(Presence.__table__.columns.keys())
    assert set(export.PRESENCE_FIELDS) | set(export.PRESENCE_ACCOUNTS) == columns
    assert not set(export.PRESENCE_FIELDS) & set(export.PRESENCE_ACCOUNTS)


def test_the_export_holds_their_check_ins_and_scans_not_the_door_account(
    db, register, clock, small_event
) -> None:
    from datetime import UTC, datetime

    from symposium.models import Role, Session
    from symposium.services.accounts import access
    from symposium.services.checkin import presence

    registration = register(1, small_event["klein"]).registration
    door, _ = access.create_user(
        db.session, "deur@example.org", Role.DOOR, clock.now, event=registration.event
    )
    session = db.session.get(Session, small_event["klein"])
    clock.now = datetime(2027, 2, 4, 12, 5, tzinfo=UTC)
    presence.scan(db.session, door, session, client_id="a", now=clock.now,
                  code=registration.checkin_code)  # fmt: skip
    db.session.commit()
    data = export.personal_data(db.session, registration)
    [row] = data["presence"]
    assert row["session"] == "klein" and row["checked_in_at"].startswith("2027-02-04T12:05")
    assert row["checked_in_by"] == "door" and row["checked_out_by"] is None
    [scan] = data["scans"]
    assert scan["verdict"] == "welcome" and scan["direction"] == "in"
    assert "deur@example.org" not in json.dumps(data)
