"""The catering summary: free-text needs counted as the caterer needs them (the same need
typed differently counts once, "geen" is none), active registrations of this event only, on
the exports page and as CSV and XLSX."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from symposium.models import Event, Role
from symposium.services.accounts import access
from symposium.services.backoffice import catering
from symposium.services.registration import lifecycle, validation
from tests.backoffice.test_admin import PASSWORD, login
from tests.conftest import registration_data

# What people typed, as the registration form stores it (trimmed); cancelled: "Piet".
NEEDS = [
    "Vegetarisch",
    "vegetarisch",
    "VEGETARISCH.",
    "Vegetarisch",
    "Rolstoel\nGlutenvrij",
    "rolstoel   glutenvrij",
    "Glutenvrij",
    "geen",
    "N.v.t.",
    "",
]


@pytest.fixture
def needs(db, small_event, load_example, clock):  # type: ignore[no-untyped-def]
    """NEEDS at "klein", a cancelled vegetarian there, and a vegan at another event."""
    load_example("7roses-symposium.toml")
    klein = db.session.get(Event, small_event["event"])
    other = db.session.scalars(select(Event).where(Event.slug == "7roses-2027")).one()

    def register(event: Event, n: int, text: str):  # type: ignore[no-untyped-def]
        data = validation.RegistrationInput(**registration_data(n, needs=text), sessions=[])
        return lifecycle.register(db.session, event, data, clock.now, "test").registration

    for n, text in enumerate(NEEDS):
        register(klein, n, text)
    gone = register(klein, 99, "Vegetarisch")
    lifecycle.cancel_registration(db.session, gone, clock.now)
    clock.now = other.registration_opens_at or clock.now
    register(other, 1, "Veganistisch")
    access.create_user(db.session, "organiser@example.org", Role.ORGANISER, clock.now,
                       event=klein, password=PASSWORD)  # fmt: skip
    db.session.commit()
    return klein


def test_needs_typed_differently_count_once(db, needs) -> None:
    summary = catering.catering_summary(db.session, needs)
    assert [(n.text, n.count) for n in summary.needs] == [
        ("Vegetarisch", 4),  # as most wrote it; the cancelled one eats nothing
        ("Rolstoel Glutenvrij", 2),  # one lunch with both needs, not one of each
        ("Glutenvrij", 1),
    ]
    assert summary.without == 3  # "geen", "N.v.t." and nothing at all
    assert summary.total == len(NEEDS)  # the other event's vegan is not here


def test_normalise() -> None:
    assert catering.normalise("  Vegetarisch,\n\t zonder  VIS. ") == "vegetarisch, zonder vis"
    assert catering.tidy("Rolstoel\r\n  Glutenvrij ") == "Rolstoel Glutenvrij"
    assert {catering.normalise(t) for t in ("Geen.", "nvt", "n.v.t.", "-", "NEE")} <= (
        catering.NO_NEEDS
    )


def test_an_event_without_registrations(db, small_event) -> None:
    event = db.session.get(Event, small_event["event"])
    assert catering.catering_summary(db.session, event) == catering.Catering([], 0)


@pytest.fixture
def organiser(client, needs):  # type: ignore[no-untyped-def]
    assert login(client, "organiser@example.org").status_code == 303
    return client


def test_the_exports_page_shows_the_counts(organiser) -> None:
    page = organiser.get("/admin/events/klein/exports?lang=en").get_data(as_text=True)
    table = page[page.index('<table class="overview catering">') : page.index("</table>")]
    cells = re.findall(r'<tr><th scope="row">([^<]*)</th><td>(\d+)</td></tr>', table)
    assert cells == [
        ("Vegetarisch", "4"),
        ("Rolstoel Glutenvrij", "2"),
        ("Glutenvrij", "1"),
        ("No needs given", "3"),
        ("Total active registrations", "10"),
    ]
    assert "Veganistisch" not in page


def test_catering_csv_and_xlsx(organiser) -> None:
    response = organiser.get("/admin/events/klein/catering.csv?delimiter=semicolon&lang=en")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=klein-catering.csv"
    text = response.data.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text, newline=""), delimiter=";")) == [
        ["Need", "Registrations"],
        ["Vegetarisch", "4"],
        ["Rolstoel Glutenvrij", "2"],
        ["Glutenvrij", "1"],
        ["No needs given", "3"],
        ["Total active registrations", "10"],
    ]

    response = organiser.get("/admin/events/klein/catering.xlsx?lang=en")
    assert response.headers["Content-Disposition"] == "attachment; filename=klein-catering.xlsx"
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet.title == "Catering"
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["Event", "Klein symposium"]
    assert rows[1] == ["Date", "Thursday, February 4, 2027"]
    assert rows[3:] == [
        ["Need", "Registrations"],
        ["Vegetarisch", 4],  # a number, to add up in the sheet
        ["Rolstoel Glutenvrij", 2],
        ["Glutenvrij", 1],
        ["No needs given", 3],
        ["Total active registrations", 10],
    ]
    assert sheet.freeze_panes == "A5"
