"""The public programme page is rendered once per programme stamp, language and filter."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event as sa_event
from sqlalchemy import select

from symposium.models import Event, Session
from symposium.services.registration import lifecycle
from symposium.services.registration.validation import RegistrationInput
from tests.conftest import registration_data

URL = "/events/klein/"


def take_place(db, small_event, clock, n: int) -> None:
    data = RegistrationInput(**registration_data(n))
    data.sessions = [small_event["ook-r2"]]
    event = db.session.get(Event, small_event["event"])
    lifecycle.register(db.session, event, data, clock.now, "test")
    db.session.commit()


class Statements:
    """Counts the queries (SELECTs) the app sends while in a ``with`` block."""

    def __init__(self, db) -> None:  # type: ignore[no-untyped-def]
        self.engine, self.count = db.engine, 0

    def _count(self, conn, cursor, statement: str, *args) -> None:  # type: ignore[no-untyped-def]
        self.count += statement.lstrip().upper().startswith("SELECT")

    def __enter__(self) -> Statements:
        sa_event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
        sa_event.remove(self.engine, "before_cursor_execute", self._count)


def test_a_cached_page_costs_one_query_and_lags_places_left_a_few_seconds(
    client, db, small_event, clock
) -> None:
    first = client.get(URL)
    assert first.status_code == 200 and first.headers["ETag"]
    assert "1 plaats over" in first.get_data(as_text=True)
    assert "public" in first.headers["Cache-Control"]

    take_place(db, small_event, clock, 1)  # places change, the programme does not
    with Statements(db) as statements:
        again = client.get(URL)
    assert statements.count == 1  # the event's stamp; nothing rendered
    assert again.get_data() == first.get_data()

    clock.now += timedelta(seconds=5)
    later = client.get(URL).get_data(as_text=True)
    assert "Vol" in later and "1 plaats over" not in later


def test_a_programme_change_shows_at_once(client, db, small_event) -> None:
    assert "Kleine workshop" in client.get(URL).get_data(as_text=True)
    db.session.get(Session, small_event["klein"]).title = "Verhuisde workshop"
    db.session.commit()
    page = client.get(URL).get_data(as_text=True)
    assert "Verhuisde workshop" in page and "Kleine workshop" not in page


def test_language_and_filters_each_have_their_page(client, small_event) -> None:
    dutch = client.get(URL).get_data(as_text=True)
    english = client.get(URL, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Kleine workshop" in dutch and "Places" in english and "Places" not in dutch
    chosen = client.get(URL + "?lang=en")
    assert "Places" in chosen.get_data(as_text=True) and "lang=en" in chosen.headers["Set-Cookie"]
    assert "private" in chosen.headers["Cache-Control"]  # it sets a cookie: no shared caches
    filtered = client.get(URL + "?profession=huisarts").get_data(as_text=True)
    assert "Alleen psy" in dutch and "Alleen psy" not in filtered


def test_a_matching_etag_gets_304(client, small_event) -> None:
    etag = client.get(URL).headers["ETag"]
    response = client.get(URL, headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.get_data() == b""


def test_signed_in_and_odd_requests_are_rendered_fresh(app, client, db, small_event) -> None:
    client.get(URL)
    db.session.execute(
        Session.__table__.update()
        .where(Session.id == small_event["klein"])
        .values(title="Achter de cache om")  # a write that bypasses the stamp
    )
    db.session.commit()
    assert "Achter de cache om" not in client.get(URL).get_data(as_text=True)
    unknown = client.get(URL + "?utm_source=x")
    assert "Achter de cache om" in unknown.get_data(as_text=True)
    assert "private" in unknown.headers["Cache-Control"]
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], "someone")
    assert "Achter de cache om" in client.get(URL).get_data(as_text=True)


def test_unknown_and_draft_events_are_404(client, db, small_event) -> None:
    assert client.get("/events/bestaat-niet/").status_code == 404
    event = db.session.scalars(select(Event).where(Event.slug == "klein")).one()
    event.status = "draft"
    db.session.commit()
    assert client.get(URL).status_code == 404
