"""Public programme pages, rendered through the Flask test client."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from symposium.models import Event, EventStatus, Session


def add_event(db, slug: str, start: datetime, status: EventStatus) -> Event:
    event = Event(
        slug=slug, title=f"Event {slug}", starts_at=start, ends_at=start + timedelta(hours=8),
        status=status,
    )  # fmt: skip
    db.session.add(event)
    db.session.commit()
    return event


def test_index_lists_upcoming_published_events_only(db, client, clock) -> None:
    now = clock.now
    add_event(db, "later", now + timedelta(days=30), EventStatus.PUBLISHED)
    add_event(db, "soon", now + timedelta(days=3), EventStatus.PUBLISHED)
    add_event(db, "ongoing", now - timedelta(hours=2), EventStatus.PUBLISHED)
    add_event(db, "past", now - timedelta(days=3), EventStatus.PUBLISHED)
    add_event(db, "draft", now + timedelta(days=3), EventStatus.DRAFT)
    add_event(db, "cancelled", now + timedelta(days=3), EventStatus.CANCELLED)
    page = client.get("/").get_data(as_text=True)
    listed = re.findall(r'href="/events/([a-z]+)/"', page)
    assert listed == ["ongoing", "soon", "later"]

    clock.now = now + timedelta(days=10)
    page = client.get("/").get_data(as_text=True)
    assert re.findall(r'href="/events/([a-z]+)/"', page) == ["later"]


def test_empty_index_says_so(client) -> None:
    assert "Er zijn op dit moment geen komende evenementen." in client.get("/").get_data(
        as_text=True
    )


@pytest.fixture
def roses(load_example, db) -> Event:
    load_example("7roses-symposium.toml")
    return db.session.scalars(select(Event).where(Event.slug == "7roses-2027")).one()


def test_event_page_shows_rounds_side_by_side(client, roses) -> None:
    response = client.get("/events/7roses-2027/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<script" not in page  # works without JavaScript
    for round_ in roses.rounds:
        assert round_.title in page
    parallel = re.findall(r'<section class="slot slot-parallel">(.*?)</section>', page, re.S)
    assert [block.count('class="session-card') for block in parallel[:2]] == [4, 4]
    assert roses.objectives[0] in page
    assert "Doelgroep" in page or "Voor wie" in page
    restricted = next(s for r in roses.rounds for s in r.sessions if s.professions)
    assert restricted.professions[0].name_nl in page


def test_places_left_are_shown(client, roses) -> None:
    small = min(
        (s for r in roses.rounds for s in r.sessions if s.capacity), key=lambda s: s.capacity
    )
    page = client.get(f"/events/7roses-2027/sessions/{small.id}").get_data(as_text=True)
    assert f"{small.capacity} plaatsen over" in page


def test_filter_by_profession_hides_sessions_it_may_not_join(client, roses) -> None:
    restricted = next(
        s for r in roses.rounds for s in r.sessions
        if s.professions and "huisarts" not in {p.code for p in s.professions}
    )  # fmt: skip
    page = client.get("/events/7roses-2027/?profession=huisarts").get_data(as_text=True)
    assert f'/sessions/{restricted.id}"' not in page
    allowed = next(s for r in roses.rounds for s in r.sessions if not s.professions)
    assert f'/sessions/{allowed.id}"' in page
    assert '<option selected value="huisarts">' in page


def test_filter_by_theme(client, roses) -> None:
    themed = next(s for s in roses.sessions if s.themes)
    theme = themed.themes[0]
    page = client.get(f"/events/7roses-2027/?theme={theme.code}").get_data(as_text=True)
    shown = {int(i) for i in re.findall(r'/sessions/(\d+)"', page)}
    assert shown == {s.id for s in roses.sessions if theme in s.themes}


def test_unknown_filter_value_is_explained_not_a_crash(client, roses) -> None:
    response = client.get("/events/7roses-2027/?profession=astronaut")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'class="error"' in page
    assert page.count('class="session-card') >= 8  # unfiltered


def test_group_session_page_lists_all_meetings(client, load_example, db) -> None:
    load_example("welzijn-op-recept.toml")
    group = db.session.scalars(select(Session).where(Session.kind == "group")).first()
    page = client.get(f"/events/{group.event.slug}/sessions/{group.id}").get_data(as_text=True)
    meetings = re.search(r'<ol class="meetings">(.*?)</ol>', page, re.S).group(1)
    assert meetings.count("<li>") == 6


def test_not_found_pages_are_friendly(client, roses, db) -> None:
    for url in ["/events/nope/", "/events/7roses-2027/sessions/999999"]:
        response = client.get(url)
        assert response.status_code == 404
        assert "Pagina niet gevonden" in response.get_data(as_text=True)
    other = add_event(db, "other", datetime(2027, 5, 1, 9, tzinfo=UTC), EventStatus.PUBLISHED)
    db.session.add(Session(event=other, key="x", title="X"))
    db.session.commit()
    other_session = db.session.scalars(select(Session).where(Session.key == "x")).one()
    assert client.get(f"/events/7roses-2027/sessions/{other_session.id}").status_code == 404


def test_draft_event_is_not_public(client, db) -> None:
    add_event(db, "concept", datetime(2027, 5, 1, 9, tzinfo=UTC), EventStatus.DRAFT)
    assert client.get("/events/concept/").status_code == 404


def test_dutch_by_default_english_by_switch_and_header(client, roses) -> None:
    page = client.get("/events/7roses-2027/").get_data(as_text=True)
    assert '<html lang="nl">' in page and "Programma" in page

    response = client.get("/events/7roses-2027/?lang=en")
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page and "Programme" in page
    assert "lang=en" in response.headers["Set-Cookie"]
    # The choice is remembered by cookie on the next page.
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)

    fresh = client.application.test_client()
    page = fresh.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(as_text=True)
    assert '<html lang="en">' in page
