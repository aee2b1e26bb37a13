"""The lists each register takes, after the demo's scripted day at 7ROSES (symposium/demo_day.py):
paste lists, XLSX and PDF presence lists, the missing numbers, and who may take them out.

The day: Pieter de Vries (GP, GAIA) leaves "CHIME in de praktijk" 40 minutes early; Lotte
Visser (NIP) comes to the opening 22 minutes late; Eva Smit (NIP) did not sign round 2's
paper sheet; Ömer Yılmaz (Registerplein) gave no number; Noor Hendriks walks in for one
workshop. The NIP accredits the whole day only, Registerplein rounds to whole points.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from symposium.models import Event, ListExport, OutboxMessage, Role
from symposium.services.accounts import access
from symposium.services.accreditation import list_documents, lists
from symposium.services.mail import render
from tests.accreditation.conftest import full_day
from tests.backoffice.test_admin import PASSWORD, login, token

# By surname, as PE-online gets them: the demo's numbers (demo_day._identifiers).
PASTE = {
    "GAIA": ["19004751401", "19003167601"],  # Haddad, de Vries
    "NIP": ["NIP-00209458", "NIP-00314187"],  # van der Berg, Çelik
    "REGISTERPLEIN": ["461003571", "4610353529"],  # el Amrani, Hendriks
    "VENVN": ["300259", "300185", "300407"],  # Bakker, Jansen, Rahimi
}


@pytest.fixture
def demo(app, db):  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    return db.session.scalars(select(Event).where(Event.slug == "7roses-2027")).one()


def the_list(db, event, code):  # type: ignore[no-untyped-def]
    with force_locale("en"):
        accreditation = lists.accreditation_for(db.session, event, code)
        return lists.attendance_list(db.session, event, accreditation)


@pytest.mark.parametrize("code", sorted(PASTE))
def test_each_paste_list_holds_exactly_who_earned_points_one_number_per_line(
    app, db, demo, code
) -> None:
    result = app.test_cli_runner().invoke(args=["attendance-list", demo.slug, "--register", code])
    assert result.exit_code == 0, result.output
    assert result.stdout == "".join(f"{n}\n" for n in PASTE[code])
    assert db.session.scalar(select(ListExport.people)) == len(PASTE[code])


def test_partial_attendance_costs_points_with_the_reason(db, demo) -> None:
    gaia = {row.name: row for row in the_list(db, demo, "GAIA").rows}
    assert gaia["Mohammed Haddad"].result.points == Decimal("5.75")
    pieter = gaia["Pieter de Vries"].result
    assert pieter.points == Decimal("4.25")  # CHIME's 1.5 lost
    assert [str(r) for r in pieter.reasons] == [  # reasons in the organiser's language
        "CHIME in de praktijk: vertrokken om 14:05, 40 minuten te vroeg."
    ]
    nip = {row.name: row.result for row in the_list(db, demo, "NIP").rows}
    assert nip["Jan van der Berg"].points == Decimal("5")
    assert nip["Lotte Visser"].points == 0
    assert str(nip["Lotte Visser"].reasons[0]).endswith("binnen om 09:52, 22 minuten te laat.")
    assert nip["Eva Smit"].points == 0
    assert "Niet ingecheckt bij Workshopronde 2." in [str(r) for r in nip["Eva Smit"].reasons]
    plein = the_list(db, demo, "REGISTERPLEIN")
    assert {r.name: r.result.points for r in plein.rows} == {
        "Fatima el Amrani": Decimal("5"),  # 5.25, whole points
        "Noor Hendriks": Decimal("1"),  # one workshop, 1.5
        "Ömer Yılmaz": Decimal("5"),
    }
    assert [r.name for r in plein.missing] == ["Ömer Yılmaz"]


def test_the_xlsx_has_the_registers_header_and_one_row_per_attendee(db, demo) -> None:
    with force_locale("en"):
        body, mimetype, name = list_documents.document(
            the_list(db, demo, "GAIA"), "xlsx", demo.starts_at, "en"
        )
    assert name == "7roses-2027-gaia.xlsx" and mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(body)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["Organiser", "Kenniscentrum Veerkracht na Vlucht"] + [None] * 7
    assert rows[1][:2] == ["Activity", "Symposium 7ROSES"]
    assert rows[2][:2] == ["Date", "18-03-2027"]
    assert rows[3][:2] == ["Activity ID", "456789"]
    assert rows[4][1] == "GAIA (KNMG) – accreditatie voor artsen (NVvP en ABC1)"
    assert rows[6] == ["Initials", "Surname", "Profession", "Register number", "All numbers",
                       "Sessions attended", "Contact hours", "Points", "Reason"]  # fmt: skip
    haddad, de_vries = rows[7:]
    assert haddad[:4] == ["M.", "Haddad", "Psychiatrist", "19004751401"]
    assert (haddad[7], haddad[8]) == (5.75, None)
    assert de_vries[:4] == ["P.", "de Vries", "General practitioner", "19003167601"]
    assert de_vries[7] == 4.25 and "40 minutes early" in de_vries[8]
    assert "CHIME in de praktijk (13:09–14:05)" in de_vries[5]
    assert sheet["D8"].data_type == "s"  # numbers stay text


def test_the_pdf_presence_list_names_everyone_with_a_signature_column(db, demo) -> None:
    with force_locale("en"):
        body, mimetype, _name = list_documents.document(
            the_list(db, demo, "REGISTERPLEIN"), "pdf", demo.starts_at, "en"
        )
    assert mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    for name in ("F. el Amrani", "N. Hendriks", "Ö. Yılmaz", "Signature", "118734"):
        assert name in text
    assert "Earned points, but no number for this register" in text


def test_a_name_starting_with_an_equals_sign_is_text_in_the_xlsx(
    db, event, register, present
) -> None:
    gp = register(1, "klein", profession="huisarts", name="Anna =SUM(A1)").registration
    full_day(present, gp, "klein")
    gaia = lists.accreditation_for(db.session, event, "GAIA")
    sheet = load_workbook(io.BytesIO(lists.xlsx(lists.attendance_list(db.session, event, gaia))))
    cells = [c for row in sheet.active.iter_rows(min_row=8) for c in row]
    assert "'=SUM(A1)" in [c.value for c in cells]
    assert all(c.data_type != "f" for c in cells)


@pytest.fixture
def people(db, demo, small_event, clock):  # type: ignore[no-untyped-def]
    klein = db.session.get(Event, small_event["event"])
    for email, role, event in [
        ("org@example.org", Role.ORGANISER, demo),
        ("deur2@example.org", Role.DOOR, demo),
        ("ander@example.org", Role.ORGANISER, klein),
    ]:
        access.create_user(db.session, email, role, clock.now, event=event, password=PASSWORD)
    db.session.commit()
    return demo


@pytest.mark.parametrize(
    "path",
    ["/admin/events/7roses-2027/accreditation",
     "/admin/events/7roses-2027/accreditation/GAIA",
     "/admin/events/7roses-2027/accreditation/GAIA/attendance.txt",
     "/admin/events/7roses-2027/accreditation/GAIA/attendance.xlsx",
     "/admin/events/7roses-2027/accreditation/GAIA/attendance.pdf"],
)  # fmt: skip
def test_a_door_account_and_another_events_organiser_cannot_take_lists(app, people, path) -> None:
    for email, status in [("deur2@example.org", 403), ("ander@example.org", 403),
                          ("org@example.org", 200)]:  # fmt: skip
        client = app.test_client()
        login(client, email)
        assert client.get(path).status_code == status, email


def test_the_organiser_sees_the_overview_takes_a_list_and_overrides_points(
    client, db, people
) -> None:
    login(client, "org@example.org")
    page = client.get("/admin/events/7roses-2027/accreditation?lang=en").get_data(as_text=True)
    assert "GAIA" in page and "456789" in page and "not yet" in page
    paste = client.get("/admin/events/7roses-2027/accreditation/NIP/attendance.txt")
    assert paste.data.decode() == "NIP-00209458\nNIP-00314187\n"
    assert paste.headers["Cache-Control"] == "no-store"
    page = client.get("/admin/events/7roses-2027/accreditation?lang=en").get_data(as_text=True)
    assert "org@example.org" in page and "not yet" in page  # NIP exported, the others not
    listing = client.get("/admin/events/7roses-2027/accreditation/NIP?lang=en")
    html = listing.get_data(as_text=True)
    lotte = next(r for r in the_list(db, people, "NIP").rows if r.name == "Lotte Visser")
    form = {"csrf_token": token(html), "registration_id": str(lotte.registration_id),
            "points": "", "reason": ""}  # fmt: skip
    refused = client.post("/admin/events/7roses-2027/accreditation/NIP/points?lang=en", data=form)
    assert refused.status_code == 422 and "Write down why." in refused.get_data(as_text=True)
    form |= {"points": "5", "reason": "Trein vertraagd, de NIP stemde in"}
    done = client.post("/admin/events/7roses-2027/accreditation/NIP/points", data=form)
    assert done.status_code == 303
    paste = client.get("/admin/events/7roses-2027/accreditation/NIP/attendance.txt")
    assert paste.data.decode() == "NIP-00209458\nNIP-00314187\nNIP-01047290\n"


def test_a_deadline_within_two_weeks_with_no_list_sent_shows_on_the_home_page(
    client, people, clock
) -> None:
    clock.now = datetime(2027, 5, 10, 9, 0, tzinfo=UTC)  # GAIA, NIP, V&VN due on 18 May
    login(client, "org@example.org")
    home = client.get("/admin/?lang=en").get_data(as_text=True)
    assert "Attendance lists due" in home
    for name in ("GAIA", "NIP", "V&amp;VN", "Registerplein"):
        assert f"{name} · Symposium 7ROSES" in home
    assert "in 8 days; list not exported yet" in home
    assert "passed, list not exported" in home  # Registerplein: 30 April
    client.get("/admin/events/7roses-2027/accreditation/NIP/attendance.xlsx")
    home = client.get("/admin/?lang=en").get_data(as_text=True)
    assert "NIP · Symposium 7ROSES" not in home and "GAIA · Symposium 7ROSES" in home
    page = client.get("/admin/events/7roses-2027/accreditation?lang=en").get_data(as_text=True)
    assert page.count('class="urgent"') == 3
    clock.now = datetime(2027, 3, 20, 9, 0, tzinfo=UTC)  # weeks ahead: nothing urgent
    assert "Attendance lists due" not in client.get("/admin/").get_data(as_text=True)


def test_who_lacks_a_number_is_mailed_once_and_adds_it_before_the_deadline(
    app, client, db, people
) -> None:
    login(client, "org@example.org")
    url = "/admin/events/7roses-2027/accreditation/REGISTERPLEIN"
    page = client.get(f"{url}?lang=en").get_data(as_text=True)
    assert "Ömer Yılmaz" in page[page.index('id="missing"') :]
    form = {"csrf_token": token(page)}
    for _twice in range(2):
        assert client.post(f"{url}/ask", data=form).status_code == 303
    (mail,) = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "number_missing")
    ).all()
    assert mail.to_address == "demo.deelnemer8@example.org"
    with app.test_request_context():
        written = render.rendered(db.session, mail)
    assert written["subject"] == "Uw registratienummer voor Symposium 7ROSES"
    body = written["body_text"]
    assert "5 accreditatiepunten behaald bij Registerplein" in body
    assert "Registratienummer Registerplein" in body and "30 april 2027" in body
    link = re.search(r"http://[^\s]+/r/[^\s]+", body)[0]
    own = app.test_client()
    personal = own.get(link.split("5000", 1)[-1]).get_data(as_text=True)
    saved = own.post(
        link.split("5000", 1)[-1] + "/numbers",
        data={"csrf_token": token(personal), "identifier_REGISTERPLEIN": "4610 777 77"},
    )
    assert saved.status_code == 303
    paste = client.get(f"{url}/attendance.txt").data.decode()
    assert paste.splitlines() == ["461003571", "4610353529", "461077777"]


def test_after_the_deadline_nobody_is_asked_for_a_number(client, db, people, clock) -> None:
    clock.now = datetime(2027, 5, 2, 9, 0, tzinfo=UTC)  # Registerplein's deadline: 30 April
    login(client, "org@example.org")
    url = "/admin/events/7roses-2027/accreditation/REGISTERPLEIN"
    page = client.get(url).get_data(as_text=True)
    asked = client.post(f"{url}/ask?lang=en", data={"csrf_token": token(page)})
    assert asked.status_code == 303
    shown = client.get(asked.headers["Location"].split("#")[0] + "?lang=en").get_data(as_text=True)
    assert "deadline has passed" in shown
    assert (
        db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.kind == "number_missing"))
        is None
    )
