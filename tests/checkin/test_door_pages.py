"""The door pages without JavaScript (blueprints/door/pages.py): pick the session, type a code
or tap a name, see the answer at a glance, undo, check out, close the room."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
import werkzeug.security
from sqlalchemy import func, select

from symposium.models import CheckinScan, Event, Presence, Role, Session, Via
from symposium.services.accounts import access
from symposium.services.checkin import search
from symposium.services.registration import lifecycle
from tests.checkin.conftest import local

DOOR_PASSWORD = "deur-wachtwoord"
# When "klein" takes registrations (tests/conftest.py's clock).
OPEN = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch):  # type: ignore[no-untyped-def]
    """Cheap password hashes: every test signs in (tests/backoffice checks the real scrypt)."""
    from symposium.models import account

    def generate(password: str) -> str:
        return werkzeug.security.generate_password_hash(password, method="pbkdf2:sha256:1")

    monkeypatch.setattr(account, "generate_password_hash", generate)


@pytest.fixture
def register(register, clock):  # type: ignore[no-untyped-def]
    """Register while registration is open, then put the clock back (at the door)."""

    def when_open(*args, **kwargs):  # type: ignore[no-untyped-def]
        now, clock.now = clock.now, OPEN
        try:
            return register(*args, **kwargs)
        finally:
            clock.now = now

    return when_open


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]  # type: ignore[index]


def sign_in(client, email: str, password: str = DOOR_PASSWORD):  # type: ignore[no-untyped-def]
    page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]  # type: ignore[index]
    response = client.post(
        "/admin/login", data={"csrf_token": token, "email": email, "password": password}
    )
    assert response.status_code == 303, response.get_data(as_text=True)


@pytest.fixture
def at_door(client, door, sessions, clock):  # type: ignore[no-untyped-def]
    """The door account, signed in, at the door of "klein" (round 1) at 13:02."""
    clock.now = local(13, 2)
    sign_in(client, door.email)
    return DoorPage(client, sessions)


class DoorPage:
    """The door page of one session as a volunteer uses it: GET, read, submit its forms."""

    def __init__(self, client, sessions) -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.sessions = sessions

    def url(self, key: str = "klein") -> str:
        return f"/door/klein/sessions/{self.sessions[key].id}/"

    def get(self, key: str = "klein", **args: str) -> str:
        response = self.client.get(self.url(key), query_string=args)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    def form(self, page: str, form_id: str | None = None, action: str = "scan") -> dict[str, str]:
        """The hidden fields of the form with ``form_id`` (or the first posting to ``action``)."""
        if form_id is not None:
            html = re.search(rf'<form id="{form_id}".*?</form>', page, re.S)[0]  # type: ignore[index]
        else:
            html = re.search(rf'<form[^>]*action="[^"]*/{action}"[^>]*>.*?</form>', page, re.S)[0]  # type: ignore[index]
        return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))

    def post(self, action: str, data: dict[str, str], key: str = "klein"):  # type: ignore[no-untyped-def]
        return self.client.post(self.url(key) + action, data=data)

    def type_code(self, code: str, key: str = "klein", direction: str = "in") -> str:
        """Type a code in the code form and follow the redirect to the answer."""
        page = self.get(key, direction=direction)
        data = {**self.form(page, "code-form"), "code": code}
        response = self.post("scan", data, key)
        assert response.status_code == 303, response.get_data(as_text=True)
        return self.client.get(response.headers["Location"]).get_data(as_text=True)


def answer(page: str) -> tuple[str, str]:
    """The colour and the text of the answer panel."""
    found = re.search(r'<div id="answer" class="answer answer-(\w+)"[^>]*>(.*?)</div>', page, re.S)
    assert found, "no answer panel"
    text = " ".join(re.sub(r"<[^>]+>", " ", unescape(found[2])).split())
    return found[1], text


def live_presences(db, session) -> list[Presence]:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Presence).where(Presence.session_id == session.id, Presence.undone_at.is_(None))
        )
    )


# --------------------------------------------------------------------------- who may open it


def test_the_door_role_opens_its_own_events_door_and_no_other(
    client, db, door, sessions, load_example, clock
) -> None:
    load_example("7roses-symposium.toml")
    assert client.get("/door/klein/").status_code == 302  # anonymous
    assert client.get("/door/klein/").headers["Location"].startswith("/admin/login")
    anonymous = client.get(f"/door/klein/sessions/{sessions['klein'].id}/")
    assert anonymous.status_code == 302 and "/admin/login" in anonymous.headers["Location"]
    sign_in(client, door.email)
    assert client.get("/door/klein/").status_code == 200
    assert client.get(f"/door/klein/sessions/{sessions['klein'].id}/").status_code == 200
    assert client.get("/door/7roses-2027/").status_code == 403
    roses_session = client.get(f"/door/7roses-2027/sessions/{sessions['klein'].id}/")
    assert roses_session.status_code == 403
    # A session of another event under this event's slug does not exist here.
    roses = db.session.scalars(select(Event).where(Event.slug == "7roses-2027")).one()
    foreign = db.session.scalars(select(Session).where(Session.event_id == roses.id)).first()
    assert client.get(f"/door/klein/sessions/{foreign.id}/").status_code == 404


def test_the_picker_proposes_the_session_running_now_in_the_room_first(
    client, db, door, sessions, clock
) -> None:
    sessions["klein"].room = "Zaal 1"
    sessions["psy"].room = "Zaal 2"
    db.session.commit()
    sign_in(client, door.email)
    clock.now = local(12, 50)
    page = client.get("/door/klein/", query_string={"room": "zaal 2"}).get_data(as_text=True)
    links = re.findall(r'href="/door/klein/sessions/(\d+)/"', page)
    assert links[0] == str(sessions["psy"].id)
    assert re.search(rf'proposed"\s+href="/door/klein/sessions/{sessions["psy"].id}/"', page)
    assert set(links) == {str(s.id) for s in sessions.values()}
    clock.now = local(20, 0)
    late = client.get("/door/klein/").get_data(as_text=True)
    assert "door-session proposed" not in late
    assert re.findall(r'href="/door/klein/sessions/(\d+)/"', late)[0] == str(sessions["opening"].id)


def test_a_cancelled_session_is_shown_as_cancelled(client, db, door, sessions, clock) -> None:
    sessions["psy"].cancelled_at = local(8, 0)
    db.session.commit()
    sign_in(client, door.email)
    page = client.get("/door/klein/").get_data(as_text=True)
    link = re.search(
        rf'<a class="door-session[^"]*"\s+href="/door/klein/sessions/{sessions["psy"].id}/"', page
    )
    assert link and "cancelled" in link[0]
    assert "Geannuleerd" in page


# --------------------------------------------------------------------------- typed codes


def test_a_typed_code_is_welcome_and_grey_the_second_time(at_door, db, register, sessions) -> None:
    code = register(1, "klein").registration.checkin_code
    colour, text = answer(at_door.type_code(code.lower()))
    assert colour == "green" and "Welkom, Deelnemer 1" in text and "Kleine workshop" in text
    [row] = live_presences(db, sessions["klein"])
    assert row.checked_in_via is Via.TYPED and row.checked_in_at == local(13, 2)
    colour, text = answer(at_door.type_code(code))
    assert colour == "grey" and "al ingecheckt om 13:02" in text and "deur@example.org" in text
    assert len(live_presences(db, sessions["klein"])) == 1


def test_the_same_form_sent_twice_records_one_presence(at_door, db, register, sessions) -> None:
    code = register(1, "klein").registration.checkin_code
    page = at_door.get()
    data = {**at_door.form(page, "code-form"), "code": code}
    first = at_door.post("scan", data)
    second = at_door.post("scan", data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(live_presences(db, sessions["klein"])) == 1
    assert db.session.scalar(select(func.count()).select_from(CheckinScan)) == 1
    colour, _ = answer(at_door.client.get(second.headers["Location"]).get_data(as_text=True))
    assert colour == "green"  # the first answer, shown again
    # Every render carries a new client id: the next scan is a new scan.
    assert at_door.form(at_door.get(), "code-form")["client_id"] != data["client_id"]


def test_another_workshop_is_orange_and_admitted_anyway_is_marked(
    at_door, db, register, sessions
) -> None:
    code = register(1, "psy", profession="psychiater").registration.checkin_code
    page = at_door.type_code(code)
    colour, text = answer(page)
    assert colour == "orange" and "Alleen psy" in text
    assert live_presences(db, sessions["klein"]) == []
    admit = at_door.form(page.split('id="answer"')[1], action="scan")
    assert admit["admit_anyway"] == "1"
    response = at_door.post("scan", admit)
    assert response.status_code == 303
    colour, text = answer(at_door.client.get(response.headers["Location"]).get_data(as_text=True))
    assert colour == "green"
    [row] = live_presences(db, sessions["klein"])
    assert row.admitted_anyway and row.checked_in_via is Via.SEARCH


def test_refusals_say_why_and_record_nothing(at_door, db, register, sessions, clock) -> None:
    register(1, "ook-r2")
    waiting = register(2, "ook-r2").registration
    colour, text = answer(at_door.type_code(waiting.checkin_code, "ook-r2"))
    assert colour == "red" and "wachtlijst" in text
    cancelled = register(3, "klein").registration
    lifecycle.cancel_registration(db.session, cancelled, OPEN)
    db.session.commit()
    colour, text = answer(at_door.type_code(cancelled.checkin_code))
    assert colour == "red" and "geannuleerd" in text
    colour, text = answer(at_door.type_code("ABCD-EFGH-JKMNP"))
    assert colour == "red" and "Onbekende code" in text
    assert live_presences(db, sessions["klein"]) == live_presences(db, sessions["ook-r2"]) == []


def test_an_empty_code_is_refused_next_to_the_field(at_door, db) -> None:
    page = at_door.get()
    response = at_door.post("scan", {**at_door.form(page, "code-form"), "code": "  "})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="code-error"' in html and 'aria-invalid="true"' in html
    assert "Typ de code van het ticket." in html
    assert db.session.scalar(select(func.count()).select_from(CheckinScan)) == 0


def test_a_form_without_csrf_token_is_refused(at_door, db, register) -> None:
    code = register(1, "klein").registration.checkin_code
    data = {k: v for k, v in at_door.form(at_door.get(), "code-form").items() if k != "csrf_token"}
    assert at_door.post("scan", {**data, "code": code}).status_code == 400
    assert at_door.post("undo", {"presence_id": "1", "what": "checkin"}).status_code == 400
    assert at_door.post("everyone-left", {}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(CheckinScan)) == 0


def test_a_tampered_hidden_field_is_a_bad_request(at_door, register) -> None:
    code = register(1, "klein").registration.checkin_code
    data = {**at_door.form(at_door.get(), "code-form"), "code": code, "direction": "sideways"}
    assert at_door.post("scan", data).status_code == 400


# --------------------------------------------------------------------------- name search


def test_search_by_name_ignores_accents_case_and_apostrophes(
    at_door, db, register, sessions
) -> None:
    register("jose", "klein", name="José Álvarez")
    register("mary", "psy", profession="psychiater", name="Mary O'Connor")
    page = at_door.get(q="jose")
    assert "José Álvarez" in page and "O&#39;Connor" not in page
    for query in ("OCONNOR", "o'connor", "mary o connor"):
        assert "Mary O&#39;Connor" in at_door.get(q=query), query
    short = at_door.get(q="jo")
    assert "José Álvarez" not in short and 'id="q-error"' in short
    assert "Typ minstens 3 letters" in short


def test_a_tap_on_a_name_checks_in(at_door, db, register, sessions) -> None:
    register("jose", "klein", name="José Álvarez")
    page = at_door.get(q="álva")
    data = at_door.form(page.split('class="door-found"')[1], action="scan")
    response = at_door.post("scan", data)
    assert response.status_code == 303
    colour, text = answer(at_door.client.get(response.headers["Location"]).get_data(as_text=True))
    assert colour == "green" and "José Álvarez" in text
    [row] = live_presences(db, sessions["klein"])
    assert row.checked_in_via is Via.SEARCH
    again = at_door.get(q="jose")
    assert "Ingecheckt om 13:02" in again


def test_search_people_finds_by_every_word_in_one_query_over_names(db, register, sessions) -> None:
    register("a", "klein", name="Jan de Vries")
    register("b", "klein", name="Ørjan Løvås")
    found = search.search_people(db.session, sessions["klein"], "vries jan")
    assert [h.registration.name for h in found.hits] == ["Jan de Vries"]
    nordic = search.search_people(db.session, sessions["klein"], "orjan")
    assert [h.registration.name for h in nordic.hits] == ["Ørjan Løvås"]
    assert search.search_people(db.session, sessions["klein"], "j v").hits == []  # 2 letters
    assert search.fold("O'Connor-Ünal") == "oconnorunal"


# --------------------------------------------------------------------------- undo, exit, end


def test_undo_from_the_answer_takes_the_check_in_back(at_door, db, register, sessions) -> None:
    code = register(1, "klein").registration.checkin_code
    page = at_door.type_code(code)
    data = at_door.form(page.split('id="answer"')[1], action="undo")
    assert data["what"] == "checkin"
    response = at_door.post("undo", data)
    assert response.status_code == 303
    after = at_door.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "teruggedraaid" in after
    assert live_presences(db, sessions["klein"]) == []
    row = db.session.scalars(select(Presence)).one()
    assert row.undone_by_id is not None
    # Scanned again: a new check-in.
    assert answer(at_door.type_code(code))[0] == "green"


def test_the_exit_checks_out_and_its_undo_checks_in_again(
    at_door, db, register, sessions, clock
) -> None:
    code = register(1, "klein").registration.checkin_code
    at_door.type_code(code)
    clock.now = local(14, 0)
    page = at_door.type_code(code, direction="out")
    colour, text = answer(page)
    assert colour == "green" and "Tot ziens, Deelnemer 1" in text
    [row] = live_presences(db, sessions["klein"])
    assert row.checked_out_at == local(14, 0) and row.checked_out_via is Via.TYPED
    assert "30 min eerder weg" in page  # the last presences show leaving early
    data = at_door.form(page.split('id="answer"')[1], action="undo")
    assert data["what"] == "checkout"
    at_door.post("undo", data)
    [row] = live_presences(db, sessions["klein"])
    assert row.checked_out_at is None


def test_everyone_left_checks_out_who_is_still_in_after_a_confirm_step(
    at_door, db, register, sessions, clock
) -> None:
    codes = [register(n, "klein").registration.checkin_code for n in range(3)]
    for code in codes:
        at_door.type_code(code)
    clock.now = local(14, 40)
    page = at_door.get()
    assert '<details class="door-everyone-left">' in page
    data = at_door.form(page, action="everyone-left")
    response = at_door.post("everyone-left", data)
    assert response.status_code == 303
    after = at_door.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "3 mensen uitgecheckt om 14:30" in after
    rows = live_presences(db, sessions["klein"])
    assert [r.checked_out_at for r in rows] == [local(14, 30)] * 3
    assert all(r.checked_out_via is Via.END for r in rows)
    assert "door-everyone-left" not in after  # nobody left to check out


def test_counts_and_the_last_presences_with_who_recorded_them(
    at_door, db, register, sessions
) -> None:
    for n in range(3):
        register(n, "klein")
    code = register(9, "klein").registration.checkin_code
    at_door.type_code(code)
    page = at_door.get()
    figures = re.findall(r'<(?:dd|span) id="count-[\w-]+">(\d+)', page)
    assert figures[:3] == ["1", "0", "1"]
    assert "/ 4" in page
    recent = page.split('id="recent-title"')[1]
    assert "Deelnemer 9" in recent and "deur@example.org" in recent


def test_the_walk_in_link_is_for_organisers_only(app, db, at_door, event, clock) -> None:
    assert "/walk-in" not in at_door.get()
    access.create_user(
        db.session, "org@example.org", Role.ORGANISER, clock.now, event=event,
        password="organiser-password",
    )  # fmt: skip
    db.session.commit()
    organiser = app.test_client()
    sign_in(organiser, "org@example.org", "organiser-password")
    page = organiser.get(at_door.url()).get_data(as_text=True)
    assert f"/door/klein/sessions/{at_door.sessions['klein'].id}/walk-in" in page


def test_a_door_account_cannot_undo_long_after_the_session(at_door, db, register, sessions, clock):  # type: ignore[no-untyped-def]
    code = register(1, "klein").registration.checkin_code
    page = at_door.type_code(code)
    data = at_door.form(page.split('id="answer"')[1], action="undo")
    clock.now = local(15, 1)  # the session ended at 14:30; door accounts may undo until 15:00
    later = at_door.get()
    assert ">Inchecken terugdraaien</button>" not in later and "Deelnemer 1" in later
    response = at_door.post("undo", data)
    assert response.status_code == 303
    refused = at_door.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "vraag een organisator" in refused
    assert len(live_presences(db, sessions["klein"])) == 1


def test_the_answer_of_a_scan_shows_only_at_its_own_door(at_door, register) -> None:
    code = register(1, "klein").registration.checkin_code
    data = {**at_door.form(at_door.get(), "code-form"), "code": code}
    client_id = data["client_id"]
    assert 'class="answer"' in at_door.get(scan=client_id)  # not sent yet: no answer
    at_door.post("scan", data)
    assert answer(at_door.get(scan=client_id))[0] == "green"
    elsewhere = at_door.get("psy", scan=client_id)
    assert 'class="answer"' in elsewhere and "Welkom" not in elsewhere


def test_a_tap_on_a_name_at_the_exit_checks_out(at_door, db, register, sessions, clock) -> None:
    code = register(1, "klein", name="Anna Bakker").registration.checkin_code
    at_door.type_code(code)
    entrance = at_door.get(q="bakker")
    assert "Inchecken: Anna Bakker" not in entrance  # already in: no button to check in again
    clock.now = local(14, 29)
    page = at_door.get(q="bakker", direction="out")
    data = at_door.form(page.split('class="door-found"')[1], action="scan")
    assert data["direction"] == "out"
    response = at_door.post("scan", data)
    colour, text = answer(at_door.client.get(response.headers["Location"]).get_data(as_text=True))
    assert colour == "green" and "Tot ziens, Anna Bakker" in text
    [row] = live_presences(db, sessions["klein"])
    assert row.checked_out_at == local(14, 29) and row.checked_out_via is Via.SEARCH


def test_too_many_hits_ask_for_more_letters(db, register, sessions, monkeypatch) -> None:
    for n in range(3):
        register(n, "klein")
    monkeypatch.setattr(search, "MAX_HITS", 2)
    found = search.search_people(db.session, sessions["klein"], "deelnemer")
    assert [h.registration.name for h in found.hits] == ["Deelnemer 0", "Deelnemer 1"]
    assert found.more
    assert not search.search_people(db.session, sessions["klein"], "deelnemer 2").more
