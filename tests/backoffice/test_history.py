"""The back-office speaks Dutch, in words (services/backoffice/history.py): the audit log reads
as sentences, a place's history says what happened, and no page shows a status code."""

from __future__ import annotations

import enum
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from symposium import models
from symposium.config import ROOT
from symposium.models import Event, Role, Session, User
from symposium.services.accounts import access
from symposium.services.backoffice import history
from symposium.services.mail import render
from symposium.services.registration import lifecycle, places
from tests.backoffice import every_page
from tests.backoffice.test_admin import PASSWORD, login
from tests.backoffice.test_participants import register

# Codes that must never reach an organiser reading Dutch.
CODES = ("published", "draft", "confirmed", "waitlisted", "cancelled_by_registrant")
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")
# Every value of the models' enums (statuses, roles, kinds, rules, how a presence was
# recorded), but those that are Dutch words too ("door", "half") or used in Dutch ("workshop",
# "scan", "symposium").
DUTCH_TOO = {"door", "half", "workshop", "scan", "symposium"}
ENUM_CODES = sorted(
    {
        member.value
        for kind in vars(models).values()
        if isinstance(kind, type) and issubclass(kind, enum.StrEnum)
        for member in kind
    }
    - DUTCH_TOO
)
# E-mail addresses and paths are data, not words: "admin@example.org" is no role, and
# "docs/event-file.md" no event status.
DATA = re.compile(r"\S+@\S+|\S*/\S*")
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


def test_no_back_office_page_shows_a_code(app, client, db, clock) -> None:
    """Every back-office and door page (every_page: read from the URL map), on a busy day's
    data, in Dutch: no enum value of the models as a word, no snake_case token."""
    worlds = every_page.busy_day(app)
    clock.now = every_page.DAY
    login(client, every_page.ADMIN_EMAIL, every_page.PASSWORD)
    found = []
    checked = every_page.pages(app, worlds)
    for page in checked:
        if page.persona == "public":
            continue
        response = client.get(page.url)
        assert response.status_code == 200, page.url
        text = DATA.sub(" ", visible(response.get_data(as_text=True)))
        found += [(page.url, code) for code in ENUM_CODES if re.search(rf"\b{code}\b", text)]
        found += [(page.url, token) for token in SNAKE.findall(text)]
    assert not found, found
    seen = {page.endpoint for page in checked if page.persona != "public"}
    assert {"admin.participant", "admin.users", "door.session"} <= seen


def test_every_kind_of_mail_has_words() -> None:
    """A mail that failed before it was written shows what it was about, not its kind."""
    assert history.MAIL_KINDS.keys() == render.SUBJECTS.keys()


def test_signing_in_is_asked_in_dutch(client) -> None:
    response = client.get("/admin/events/klein/audit", follow_redirects=True)
    assert "Log in om deze pagina te zien." in response.get_data(as_text=True)
    assert "Please log in" not in response.get_data(as_text=True)
