"""A group series' page lists its groups, not its meetings day by day (issue 16 point 6)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from symposium.models import Event, Session, SessionKind
from symposium.services.programme import groups
from symposium.services.registration import lifecycle
from symposium.services.registration.validation import RegistrationInput
from tests.conftest import registration_data

SLUG = "welzijn-op-recept-2027"
URL = f"/events/{SLUG}/"
# The series takes registrations from 11 January to 5 March 2027 (the default clock: before).
OPEN = datetime(2027, 1, 20, 11, 0, tzinfo=UTC)


@pytest.fixture
def series(load_example, db) -> Event:
    load_example("welzijn-op-recept.toml")
    return db.session.scalars(select(Event).where(Event.slug == SLUG)).one()


def group(series: Event, key: str) -> Session:
    return next(s for s in series.sessions if s.key == key)


def card(page: str, session: Session) -> str:
    """The HTML of one group's card."""
    found = re.search(rf'<article class="group-card" aria-labelledby="group-{session.id}">'
                      r"(.*?)</article>", page, re.S)  # fmt: skip
    assert found, f"no card for {session.key}"
    return found.group(1)


def text(html: str) -> str:
    """What a reader sees: tags dropped, white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def test_a_series_page_shows_a_card_per_group_with_its_facts(client, db, series, clock) -> None:
    clock.now = OPEN
    taken = group(series, "rondkomen-digitaal")
    data = RegistrationInput(**registration_data("groep", "overig"), sessions=[taken.id])
    lifecycle.register(db.session, series, data, clock.now, "test")
    db.session.commit()

    page = client.get(URL).get_data(as_text=True)

    assert page.count('<article class="group-card"') == 8
    # The day-by-day timeline (48 meeting cards) is gone.
    assert "session-card" not in page and 'class="day"' not in page
    assert "<script" not in page  # the meetings unfold without JavaScript

    rondkomen = card(page, taken)
    seen = text(rondkomen)
    assert "Armoede en financiële zelfredzaamheid" in seen  # its themes
    assert "Dinsdag, 19:00–21:00" in seen  # weekday and time, also after summer time starts
    assert "9 maart – 13 april 2027" in seen  # first and last date
    assert "Computerlokaal" in seen
    assert "Nederlands" in seen  # the event's language: a group has none of its own
    assert "11 plaatsen over" in seen  # 12, one taken
    assert 'class="hint"' not in rondkomen  # same day, time and room every week
    assert f'href="/events/{SLUG}/sessions/{taken.id}"' in rondkomen
    meetings = re.search(r"<details[^>]*>(.*?)</details>", rondkomen, re.S).group(1)
    assert "<summary>" in meetings and meetings.count("<li>") == 6
    assert "dinsdag 13 april 2027" in text(meetings)

    # Veilig thuis skips Easter Monday and meets once in another room: still every Monday at
    # 19:00, but the room varies, so the card says so and the meetings name their rooms.
    veilig = card(page, group(series, "veilig-thuis"))
    assert "Maandag, 19:00–21:00" in text(veilig)
    assert "8 maart – 19 april 2027" in text(veilig)
    assert veilig.count('class="hint"') == 1
    assert "Ontmoetingsruimte" in text(re.search(r"<details.*?</details>", veilig, re.S)[0])


def test_groups_are_ordered_by_theme_then_first_meeting(client, series) -> None:
    page = client.get(URL).get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'aria-labelledby="group-(\d+)"', page)]
    by_id = {s.id: s for s in series.sessions}
    keys = [(by_id[i].themes[0].position, by_id[i].meetings[0].starts_at) for i in ids]
    assert len(ids) == 8 and keys == sorted(keys)


def test_a_group_meeting_on_another_day_shows_the_first_and_says_it_changes(
    client, db, series
) -> None:
    taalcafe = group(series, "taalcafe")
    moved = taalcafe.meetings[2]
    moved.starts_at += timedelta(days=1, hours=-2)  # a Friday afternoon instead
    moved.ends_at += timedelta(days=1, hours=-2)
    db.session.commit()

    summary = groups.summarise(taalcafe, series.timezone, series.languages, 12)
    assert not summary.same_day_and_time and summary.first is taalcafe.meetings[0]
    seen = card(client.get(URL).get_data(as_text=True), taalcafe)
    when = re.search(r'<dd class="group-when">(.*?)</dd>', seen, re.S).group(1)
    assert text(when).startswith("Donderdag, 19:00–20:30") and 'class="hint"' in when


def test_the_theme_and_profession_filters_still_work(client, series) -> None:
    page = client.get(URL + "?theme=discriminatie").get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'aria-labelledby="group-(\d+)"', page)]
    assert shown == [s.id for s in series.sessions if "discriminatie" in {t.code for t in s.themes}]
    assert (
        client.get(URL + "?profession=huisarts")
        .get_data(as_text=True)
        .count('<article class="group-card"')
        == 8
    )  # no group is closed to GPs
    page = client.get(URL + "?theme=armoede&profession=huisarts").get_data(as_text=True)
    assert page.count('<article class="group-card"') == 1


def test_a_plenary_meeting_of_a_series_is_listed_above_the_groups(client, db, series) -> None:
    start = datetime(2027, 3, 6, 13, tzinfo=UTC)
    db.session.add(Session(
        event=series, key="aftrap", kind=SessionKind.PLENARY, title="Aftrap voor iedereen",
        starts_at=start, ends_at=start + timedelta(hours=2),
    ))  # fmt: skip
    db.session.commit()
    page = client.get(URL).get_data(as_text=True)
    others = re.search(r'<ul class="series-others">(.*?)</ul>', page, re.S).group(1)
    assert "Aftrap voor iedereen" in others and "zaterdag 6 maart 2027" in text(others)
    assert page.count('<article class="group-card"') == 8


def test_before_opening_the_page_says_when_registration_opens(client, series) -> None:
    english = client.get(URL, headers={"Accept-Language": "en"}).get_data(as_text=True)
    notice = re.search(r'<p class="notice notice-message">(.*?)</p>', english, re.S).group(1)
    assert notice == "Registration opens on Monday, January 11, 2027 at 09:00."
    assert f"/events/{SLUG}/register" not in english


def test_the_cached_page_follows_opening_and_closing(client, db, series, clock) -> None:
    """The page is cached for a few seconds per state: not open yet, open and closed are
    three pages, so "opens on" is never shown once registration is open or has closed."""
    series.registration_opens_at = clock.now + timedelta(seconds=1)
    series.registration_closes_at = clock.now + timedelta(seconds=2)
    db.session.commit()
    english = {"Accept-Language": "en"}

    before = client.get(URL, headers=english).get_data(as_text=True)
    assert "Registration opens on" in before

    clock.now += timedelta(seconds=1.5)  # within the cache's few seconds
    during = client.get(URL, headers=english).get_data(as_text=True)
    assert "Registration opens on" not in during
    assert f"/events/{SLUG}/register" in during

    clock.now += timedelta(seconds=1.5)
    after = client.get(URL, headers=english).get_data(as_text=True)
    assert "Registration opens on" not in after and f"/events/{SLUG}/register" not in after
    assert "Registration is closed." in after
    dutch = client.get(URL).get_data(as_text=True)
    assert "De inschrijving is gesloten." in dutch


def test_a_symposium_keeps_its_rounds(client, load_example, db) -> None:
    load_example("7roses-symposium.toml")
    roses = db.session.scalars(select(Event).where(Event.slug == "7roses-2027")).one()
    assert not groups.is_series(roses.sessions)
    page = client.get("/events/7roses-2027/").get_data(as_text=True)
    assert "group-card" not in page
    for round_ in roses.rounds:
        assert round_.title in page
    parallel = re.findall(r'<section class="slot slot-parallel">(.*?)</section>', page, re.S)
    assert [block.count('class="session-card') for block in parallel[:2]] == [4, 4]
