"""The attendee's own view: points per register after the event, and adding or correcting a
register number until the register's deadline (the lists pick it up at once)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from symposium.models import AuditEntry
from symposium.services.accreditation import lists
from tests.accreditation.conftest import full_day, local


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]


def test_after_the_event_the_manage_page_shows_points_and_their_reasons(
    client, register, present, clock
) -> None:
    outcome = register(1, "klein", "groot", profession="huisarts")
    gp = outcome.registration
    full_day(present, gp, "klein")
    url = f"/r/{outcome.token}?lang=en"
    before = client.get(url).get_data(as_text=True)
    assert "After the event you find here the points" in before and "points</strong>" not in before
    clock.now = local(17, 0)
    page = client.get(url).get_data(as_text=True)
    assert "Accreditation points" in page and "GAIA (KNMG)" in page
    assert "2.5 points" in page and "activity ID 123456" in page
    assert "registered under 12345678901" in page
    assert "No check-in for Ronde 2." in page


def test_a_number_added_afterwards_puts_the_person_on_the_paste_list(
    client, db, event, register, present, clock, accredited
) -> None:
    outcome = register(1, "psy", profession="gz-psycholoog", identifiers={})
    full_day(present, outcome.registration, "psy")
    clock.now = local(17, 0)
    nip = accredited["NIP"]
    assert lists.paste(lists.attendance_list(db.session, event, nip)) == ""
    page = client.get(f"/r/{outcome.token}?lang=en").get_data(as_text=True)
    assert "no register number yet" in page
    form = {"csrf_token": csrf(page), "identifier_NIP": "12AB"}
    refused = client.post(f"/r/{outcome.token}/numbers?lang=en", data=form)
    assert refused.status_code == 422
    assert "An NIP number is NIP- followed by 8 digits" in refused.get_data(as_text=True)
    form["identifier_NIP"] = "nip 4711"
    saved = client.post(f"/r/{outcome.token}/numbers", data=form)
    assert saved.status_code == 303
    db.session.expire_all()
    assert outcome.registration.identifiers == {"NIP": "NIP-00004711"}
    assert lists.paste(lists.attendance_list(db.session, event, nip)) == "NIP-00004711\n"
    again = client.post(f"/r/{outcome.token}/numbers", data=form)  # a double submit
    assert again.status_code == 303
    entries = db.session.query(AuditEntry).filter_by(action="register_numbers_changed").all()
    assert len(entries) == 1 and entries[0].after == {"NIP": "NIP-00004711"}


def test_a_doctors_big_number_of_another_profession_asks_for_confirmation(
    client, db, register, clock
) -> None:
    outcome = register(1, "klein", profession="huisarts")
    page = client.get(f"/r/{outcome.token}?lang=en").get_data(as_text=True)
    form = {"csrf_token": csrf(page), "identifier_BIG": "19012345625"}
    warned = client.post(f"/r/{outcome.token}/numbers?lang=en", data=form)
    assert warned.status_code == 422
    html = warned.get_data(as_text=True)
    assert "ends in 25 (healthcare psychologist)" in html and 'name="numbers_confirmed"' in html
    form["numbers_confirmed"] = "y"
    assert client.post(f"/r/{outcome.token}/numbers", data=form).status_code == 303
    db.session.expire_all()
    assert outcome.registration.identifiers == {"BIG": "19012345625"}


def test_after_the_registers_deadline_numbers_can_no_longer_change(
    client, db, register, clock, accredited
) -> None:
    outcome = register(1, "psy", profession="gz-psycholoog", identifiers={})
    accredited["NIP"].deadline = date(2027, 3, 1)
    db.session.commit()
    clock.now = local(9, 0, day=28)  # 28 February
    page = client.get(f"/r/{outcome.token}?lang=en").get_data(as_text=True)
    assert "until Monday, March 1, 2027" in page
    clock.now = datetime(2027, 3, 2, 8, 0, tzinfo=UTC)
    page = client.get(f"/r/{outcome.token}?lang=en").get_data(as_text=True)
    assert "Save register numbers" not in page
    refused = client.post(
        f"/r/{outcome.token}/numbers?lang=en",
        data={"csrf_token": csrf(page), "identifier_NIP": "NIP-00004711"},
    )
    assert refused.status_code == 303
    db.session.expire_all()
    assert outcome.registration.identifiers == {}
    followed = client.get(refused.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "can no longer be changed" in followed
