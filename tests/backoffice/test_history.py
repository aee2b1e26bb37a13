"""The back-office speaks Dutch, in words (services/backoffice/history.py): the audit log reads
as sentences, a place's history says what happened, and no page shows a status code."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from symposium.config import ROOT
from symposium.models import Event, Role, Session, User
from symposium.services.accounts import access
from symposium.services.backoffice import history
from symposium.services.registration import lifecycle, places
from tests.backoffice.test_admin import PASSWORD, login
from tests.backoffice.test_participants import register

# Codes that must never reach an organiser reading Dutch.
CODES = ("published", "draft", "confirmed", "waitlisted", "cancelled_by_registrant")
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")
# An action as the services record it: action="x", or action="x" if … else "y".
RECORDED = re.compile(r'(?:action=|^\s*ACTION = )"([a-z_]+)"(?: if .* else "([a-z_]+)")?')


class _Text(HTMLParser):
    """The words a reader sees: text outside scripts and styles, no attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:  # type: ignore[type-arg]
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


@pytest.fixture
def org(app, db, small_event, clock):  # type: ignore[no-untyped-def]
    event = db.session.get(Event, small_event["event"])
    access.create_user(db.session, "org@example.org", Role.ORGANISER, clock.now, event=event,
                       password=PASSWORD, name="Olga Organisator")  # fmt: skip
    db.session.commit()
    return event


def test_every_recorded_action_has_a_sentence() -> None:
    """Read the services: each action they record (audit.record's action=, the actions of
    record_participant, ACTION constants) has a sentence."""
    found = set()
    for path in (ROOT / "symposium").rglob("*.py"):
        text = path.read_text()
        for line in text.splitlines():
            if chosen := RECORDED.search(line):
                found.update(name for name in chosen.groups() if name)
        for call in re.finditer(r"record_participant\((.*?)\bnow\b", text, re.S):
            found.update(re.findall(r'"([a-z_]+)"', call[1]))
    assert {"capacity_changed", "moved_with_override", "round_edited", "walk_in"} <= found
    assert sorted(found - history.ACTIONS.keys()) == []


def test_the_audit_log_reads_as_sentences(client, db, org, small_event, clock) -> None:
    user = db.session.scalars(select(User).where(User.email == "org@example.org")).one()
    klein = db.session.get(Session, small_event["klein"])
    places.change_capacity(db.session, user, klein, None, clock.now)
    db.session.commit()
    login(client, "org@example.org")
    text = visible(client.get("/admin/events/klein/audit").get_data(as_text=True))
    assert "Capaciteit van “Kleine workshop” gewijzigd" in text
    assert "Plaatsen: 10 → onbeperkt" in text
    assert "Olga Organisator" in text
    assert "{" not in text and "capacity" not in text
    assert not SNAKE.search(text), SNAKE.search(text)


def test_a_places_history_is_in_words(client, db, org, small_event, clock) -> None:
    klein = small_event["klein"]
    person = register(db, org, clock, "anna", klein)
    enrolment = next(e for e in person.enrolments if e.session_id == klein)
    lifecycle.cancel_enrolment(db.session, person, enrolment.id, clock.now)
    db.session.commit()
    login(client, "org@example.org")
    page = client.get(f"/admin/events/klein/participants/{person.id}")
    text = visible(page.get_data(as_text=True))
    assert "– → ingeschreven (nieuwe inschrijving)" in text
    assert "ingeschreven → geannuleerd (geannuleerd door de deelnemer)" in text
    for code in CODES:
        assert code not in text


def test_no_admin_page_shows_a_status_code(client, db, org, small_event, clock) -> None:
    register(db, org, clock, "anna", small_event["klein"])
    login(client, "org@example.org")
    for url in ("/admin/", "/admin/events/klein/", "/admin/events/klein/dashboard",
                "/admin/events/klein/participants/", "/admin/events/klein/audit"):  # fmt: skip
        text = visible(client.get(url).get_data(as_text=True))
        for code in CODES:
            assert not re.search(rf"\b{code}\b", text), (url, code)
        assert not SNAKE.search(text), (url, SNAKE.search(text))


def test_signing_in_is_asked_in_dutch(client) -> None:
    response = client.get("/admin/events/klein/audit", follow_redirects=True)
    assert "Log in om deze pagina te zien." in response.get_data(as_text=True)
    assert "Please log in" not in response.get_data(as_text=True)
