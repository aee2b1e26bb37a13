"""Exports: CSV (BOM, diacritics, the separator to choose), XLSX (real dates, layout), phone
and needs, per-session lists, the print sheet, who may download them, and a bounded number of
queries for 5,000 registrations."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from datetime import datetime, timedelta

import pytest
from flask_babel import refresh
from openpyxl import load_workbook
from sqlalchemy import event as sa_event
from sqlalchemy import insert, select

from symposium.config import ROOT
from symposium.models import (
    Enrolment,
    EnrolmentStatus,
    Event,
    Profession,
    Registration,
    RegistrationStatus,
    Role,
    Session,
)
from symposium.services.accounts import access
from symposium.services.backoffice import exports
from symposium.services.registration import lifecycle, validation
from tests.backoffice.test_admin import PASSWORD, login
from tests.conftest import registration_data

ZOE = "Zoë de Vries-Çelik"
# Times registered at: the fixed clock, 2026-11-23 12:00 UTC, is 13:00 in Amsterdam (CET).
LOCAL_NOON = datetime(2026, 11, 23, 13, 0)


@pytest.fixture
def accounts(db, small_event, load_example, clock):  # type: ignore[no-untyped-def]
    """An organiser of "klein", its door keeper and the organiser of another event."""
    load_example("7roses-symposium.toml")
    klein = db.session.get(Event, small_event["event"])
    other = db.session.scalars(select(Event).where(Event.slug == "7roses-2027")).one()
    for email, role, event in [
        ("organiser@example.org", Role.ORGANISER, klein),
        ("door@example.org", Role.DOOR, klein),
        ("other@example.org", Role.ORGANISER, other),
    ]:
        access.create_user(db.session, email, role, clock.now, event=event, password=PASSWORD)
    db.session.commit()
    return {"klein": klein, "other": other}


def register(db, event, n, sessions, clock, **extra):  # type: ignore[no-untyped-def]
    data = validation.RegistrationInput(**registration_data(n, **extra), sessions=sessions)
    outcome = lifecycle.register(db.session, event, data, clock.now, "test")
    db.session.commit()
    return outcome.registration


def csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


@pytest.fixture
def organiser(client, accounts):  # type: ignore[no-untyped-def]
    assert login(client, "organiser@example.org").status_code == 303
    return client


# --------------------------------------------------------------------------- all registrations


def test_registrations_csv_has_bom_and_keeps_dutch_names(
    organiser, db, accounts, small_event, clock
) -> None:
    klein = accounts["klein"]
    register(
        db, klein, 1, [small_event["klein"], small_event["groot"]], clock,
        name=ZOE, organisation="GGZ Noord, Groningen", identifiers={"NIP": "00012345"},
        phone="06 1234 5678", needs="Vegetarisch, glutenvrij\nRolstoel: drempelvrije zaal",
    )  # fmt: skip
    gone = register(db, klein, 2, [small_event["psy"]], clock, name="Ærnout Ünal")
    lifecycle.cancel_registration(db.session, gone, clock.now)
    db.session.commit()

    response = organiser.get("/admin/events/klein/registrations.csv?lang=en")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=klein-registrations.csv"
    )
    assert response.headers["Cache-Control"] == "no-store"
    body = response.data
    assert body.startswith(codecs.BOM_UTF8)
    # Records end in CRLF; the line break inside the needs stays the LF Excel uses in a cell.
    assert body.count(b"\r\n") == 3 and body.count(b"\n") == 4
    assert b'"Vegetarisch, glutenvrij\nRolstoel: drempelvrije zaal"\r\n' in body

    header, zoe, cancelled = csv_rows(body)
    assert header == [
        "Registration", "Name", "E-mail address", "Profession", "Organisation", "NIP",
        "Registered at", "Status", "Ronde 1", "Ronde 2", "Checked in", "Phone number",
        "Accessibility or dietary needs",
    ]  # fmt: skip
    assert zoe[1:] == [
        ZOE, "deelnemer1@example.org", "GZ-psycholoog", "GGZ Noord, Groningen", "NIP-00012345",
        "2026-11-23 13:00", "Active", "Kleine workshop (confirmed)", "Grote workshop (confirmed)",
        "", "06 1234 5678", "Vegetarisch, glutenvrij\nRolstoel: drempelvrije zaal",
    ]  # fmt: skip
    assert cancelled[1] == "Ærnout Ünal" and cancelled[7] == "Cancelled"
    assert cancelled[8:] == [""] * 5  # no places held, no phone or needs given


def test_csv_neutralises_formulas_and_can_use_semicolons(organiser, db, accounts, clock) -> None:
    register(db, accounts["klein"], 1, [], clock, organisation='=HYPERLINK("x")')
    body = organiser.get("/admin/events/klein/registrations.csv?delimiter=semicolon").data
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].count(";") == 12 and "," not in lines[0]
    row = next(csv.reader(io.StringIO(lines[1]), delimiter=";"))
    assert row[4] == '\'=HYPERLINK("x")'


def test_semicolon_csv_is_what_dutch_excel_opens(organiser, db, accounts, small_event, clock):
    """BOM (accents), CRLF, ";" between cells, quotes only around a value holding one."""
    register(
        db, accounts["klein"], 1, [small_event["klein"]], clock, name=ZOE,
        organisation="Zorg; Welzijn", phone="+31 6 1234 5678", needs="Veganistisch, notenvrij",
    )  # fmt: skip
    response = organiser.get("/admin/events/klein/registrations.csv?delimiter=semicolon&lang=en")
    assert response.status_code == 200
    body = response.data
    assert body.startswith(codecs.BOM_UTF8) and ZOE.encode() in body
    assert body.count(b"\n") == body.count(b"\r\n") == 2
    text = body.decode("utf-8-sig")
    header, line = text.split("\r\n")[:2]
    assert header.split(";")[:3] == ["Registration", "Name", "E-mail address"]
    assert ';"Zorg; Welzijn";' in line  # the separator inside a value: quoted
    assert ";Veganistisch, notenvrij" in line  # a comma is no separator here: not quoted
    assert ";'+31 6 1234 5678;" in line  # a phone-like formula start: an apostrophe first
    (row,) = csv.reader(io.StringIO(line), delimiter=";")
    assert row[4] == "Zorg; Welzijn" and row[-2:] == ["'+31 6 1234 5678",
                                                      "Veganistisch, notenvrij"]  # fmt: skip
    comma = organiser.get("/admin/events/klein/registrations.csv?delimiter=comma").data
    assert comma == organiser.get("/admin/events/klein/registrations.csv").data  # the default
    assert b'"Veganistisch, notenvrij"' in comma and b",Zorg; Welzijn," in comma


@pytest.mark.parametrize("asked", ["tab", "", ";", "SEMICOLON"])
def test_an_unknown_separator_is_refused_with_the_form_again(organiser, small_event, asked) -> None:
    session_list = f"/admin/events/klein/sessions/{small_event['klein']}/participants.csv"
    for url in ("/admin/events/klein/registrations.csv", "/admin/events/klein/catering.csv",
                session_list):  # fmt: skip
        response = organiser.get(url, query_string={"delimiter": asked, "lang": "en"})
        assert response.status_code == 422, url
        assert response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert "Choose a comma or a semicolon as the separator." in page
        assert 'value="semicolon"' in page and "Semicolon (Dutch Excel)" in page


def test_the_exports_page_offers_the_separator(organiser, small_event) -> None:
    response = organiser.get("/admin/events/klein/exports?lang=en")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    form = re.search(r'<form method="get" action="([^"]+)".*?</form>', page, re.S)
    assert form[1] == "/admin/events/klein/registrations.csv"
    radios = re.findall(r'<input[^>]*type="radio"[^>]*>', form[0])
    assert [re.search(r'value="(\w+)"', r)[1] for r in radios] == ["comma", "semicolon"]
    assert "checked" in radios[0] and "checked" not in radios[1]
    assert "Comma (international)" in form[0] and "Semicolon (Dutch Excel)" in form[0]
    assert 'formaction="/admin/events/klein/catering.csv"' in form[0]
    assert (f'formaction="/admin/events/klein/sessions/{small_event["klein"]}/participants.csv"'
            in form[0])  # fmt: skip
    assert 'name="csrf_token"' not in form[0]  # a GET that changes nothing


# ----------------------------------------------------------------- formulas, however split

# Spreadsheets run a cell as a formula when it starts with one of these, also after spaces,
# quotes, tabs and line breaks (some programs strip them); a program may split a line on ","
# or ";" (Dutch Excel), so every piece counts.
FORMULA = tuple("=+-@")
LEADING = '"' + "".join(chr(c) for c in range(0x3001) if chr(c).isspace())


def formula_start(piece: str) -> bool:
    """Whether a piece of a line, once leading spaces, quotes and breaks are skipped, is a
    formula (a tab or CR first is one too: it is skipped by some programs)."""
    return piece.lstrip(LEADING).startswith(FORMULA)


def formula_pieces(text: str) -> list[str]:
    """Every piece of a CSV file that a spreadsheet could run: split naively on lines and on
    each separator, and read as CSV with each separator."""
    found = []
    for separator in (",", ";"):
        for line in re.split(r"\r\n|\r|\n", text):
            found += [p for p in line.split(separator) if formula_start(p)]
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator):
            found += [field for field in row if formula_start(field)]
    return found


# Short strings over the characters that matter (every one up to four long), and longer
# attacks as a probe wrote them.
ALPHABET = ["=", "+", "-", "@", ";", ",", '"', " ", "\t", "\n", "x"]
HOSTILE = [
    "".join(chars)
    for n in range(1, 5)
    for chars in itertools.product(ALPHABET, repeat=n)
] + [
    "Piet;=1+1", 'Piet,=HYPERLINK("http://evil.example","x")', "Jan; -2+3", 'Ans;"=1+1"',
    "a;  \"  @SUM(A1)", "\r=1", "\u00a0=1", "x\r\n=1", ";\"\"\"=1", "=cmd|' /C calc'!A0",
]  # fmt: skip


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_no_csv_cell_starts_a_formula_however_it_is_split(delimiter: str) -> None:
    """The writer alone, every column hostile: ``Piet;=1+1`` in a comma CSV is the probe's."""
    columns = ["=header", "Naam;=1+1", *(f"k{i}" for i in range(6))]
    rows = [HOSTILE[i : i + 8] for i in range(0, len(HOSTILE), 8)]
    rows[-1] += [""] * (8 - len(rows[-1]))
    text = exports.to_csv(columns, rows, delimiter=delimiter).decode("utf-8-sig")
    assert formula_pieces(text) == []
    # Still one table with every value in its column, readable: only apostrophes added.
    parsed = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    assert len(parsed) == len(rows) + 1 and all(len(r) == 8 for r in parsed)
    for written, value in zip(itertools.chain(*parsed[1:]), itertools.chain(*rows), strict=True):
        assert written.replace("'", "") == value.replace("'", "")


def test_no_xlsx_cell_is_or_starts_a_formula() -> None:
    rows = [HOSTILE[i : i + 8] for i in range(0, len(HOSTILE), 8)]
    body = exports.to_xlsx("x", ["=header", *(f"k{i}" for i in range(7))], rows)
    sheet = load_workbook(io.BytesIO(body)).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert len(cells) == len(HOSTILE) + 8
    assert [c.value for c in cells if c.data_type != "s" or formula_start(c.value)] == []


def test_every_export_of_hostile_registrants_is_formula_free(
    organiser, db, accounts, small_event, clock
) -> None:
    """What registrants type (name, address, organisation) in every export, both separators."""
    klein = accounts["klein"]
    people = [
        ("Piet;=1+1", "+31 6 12345678", "-12345678", "=1+1"),
        ("Ans, -2+3", 'GGZ;"@SUM(A1)', "+31 20 1234567", "vegetarisch\n@SUM(A1)"),
        ('=HYPERLINK("http://evil.example")', "Zorg, =1+1", "", 'rolstoel;"=2+2'),
    ]
    for n, (name, organisation, phone, needs) in enumerate(people):
        register(db, klein, n, [small_event["ook-r2"]], clock, name=name,
                 organisation=organisation, email=f"=1+{n}@example.org", phone=phone,
                 needs=needs)  # fmt: skip
    base = f"/admin/events/klein/sessions/{small_event['ook-r2']}/participants"
    for url in ("/admin/events/klein/registrations", base, "/admin/events/klein/catering"):
        for query in ("", "?delimiter=semicolon"):
            text = organiser.get(f"{url}.csv{query}").data.decode("utf-8-sig")
            assert "1+1" in text and "@SUM(A1)" in text and formula_pieces(text) == []
        sheet = load_workbook(io.BytesIO(organiser.get(f"{url}.xlsx").data)).active
        values = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
        assert "'=1+1" in values and [v for v in values if formula_start(v)] == []
        if url != "/admin/events/klein/catering":
            assert "'+31 6 12345678" in values  # phone-like text: an apostrophe first
            assert "'-12345678" in values and "'+31 20 1234567" in values  # the phone column


def test_registrations_xlsx_has_real_dates_and_a_usable_layout(
    organiser, db, accounts, small_event, clock
) -> None:
    klein = accounts["klein"]
    register(db, klein, 1, [small_event["klein"]], clock, name=ZOE, organisation="=1+1",
             phone="020 123 45 67", needs="Glutenvrij\nRolstoel")  # fmt: skip
    register(db, klein, 2, [small_event["klein"]], clock)
    response = organiser.get("/admin/events/klein/registrations.xlsx?lang=en")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == exports.XLSX_MIMETYPE
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=klein-registrations.xlsx"
    )
    sheet = load_workbook(io.BytesIO(response.data)).active
    header = [c.value for c in sheet[1]]
    assert header[:6] == ["Registration", "Name", "E-mail address", "Profession", "Organisation",
                          "NIP"]  # fmt: skip
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}3"
    widths = [sheet.column_dimensions[c.column_letter].width for c in sheet[1]]
    assert all(exports.XLSX_MIN_WIDTH <= w <= exports.XLSX_MAX_WIDTH for w in widths)
    assert widths[header.index("Name")] >= len(ZOE)

    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert row["Name"].value == ZOE
    assert row["Registered at"].is_date and row["Registered at"].value == LOCAL_NOON
    assert row["NIP"].value == "NIP-00012345" and row["NIP"].data_type == "s"
    assert row["Organisation"].value == "'=1+1" and row["Organisation"].data_type == "s"
    assert row["Ronde 1"].value == "Kleine workshop (confirmed)"
    assert header[-2:] == ["Phone number", "Accessibility or dietary needs"]
    assert row["Phone number"].value == "020 123 45 67" and row["Phone number"].data_type == "s"
    needs = row["Accessibility or dietary needs"]
    assert needs.value == "Glutenvrij\nRolstoel" and needs.alignment.wrap_text  # both lines show
    assert [c.value for c in sheet[3]][-2:] == [None, None]  # neither given: empty cells


def test_xlsx_writer_refuses_aware_datetimes() -> None:
    with pytest.raises(ValueError):
        exports.to_xlsx("x", ["at"], [[datetime(2027, 1, 1).astimezone()]])


def test_group_sessions_get_one_column(db, app, load_example, clock) -> None:
    load_example("welzijn-op-recept.toml")
    event = db.session.scalars(select(Event).where(Event.slug == "welzijn-op-recept-2027")).one()
    groups = [s for s in event.sessions if validation.enrollable(s)]
    clock.now = (event.registration_opens_at or clock.now) + timedelta(minutes=1)
    with app.test_request_context("/?lang=en"):
        refresh()  # the test's app context may hold the locale loading the example chose
        table = exports.registrations_table(db.session, event)
        assert table.columns[-4:-2] == ["Groups", "Checked in"] and table.rows == []
        register(db, event, 1, [groups[0].id], clock, profession="overig")
        (row,) = exports.registrations_table(db.session, event).rows
    assert row[-4:] == [f"{groups[0].title} (confirmed)", None, None, None]


# --------------------------------------------------------------------------- per session


@pytest.fixture
def lined_up(db, accounts, small_event, clock):  # type: ignore[no-untyped-def]
    """Session "ook-r2" with two places: two confirmed, a waiting list, a cancellation."""
    klein, session_id = accounts["klein"], small_event["ook-r2"]
    db.session.get(Session, session_id).capacity = 2
    db.session.commit()
    names = ["Willem", "Ägnes Ödegaard", "Zoë", "Cees", "Anna", "Bert"]
    people = {
        name: register(db, klein, n, [session_id], clock, name=name) for n, name in enumerate(names)
    }
    lifecycle.cancel_enrolment(db.session, people["Cees"], people["Cees"].enrolments[0].id,
                               clock.now)  # fmt: skip
    lifecycle.cancel_registration(db.session, people["Bert"], clock.now)
    db.session.commit()
    return session_id


def test_session_list_confirmed_by_name_then_waiting_list_by_position(
    db, accounts, lined_up
) -> None:
    session = db.session.get(Session, lined_up)
    participants = exports.session_participants(db.session, accounts["klein"], session)
    assert [(p.name, p.status, p.waitlist_position) for p in participants] == [
        ("Ägnes Ödegaard", "confirmed", None),
        ("Willem", "confirmed", None),
        ("Zoë", "waitlisted", 1),
        ("Anna", "waitlisted", 2),
    ]
    with pytest.raises(ValueError):
        exports.session_participants(db.session, accounts["other"], session)


def test_session_csv_and_xlsx(organiser, lined_up) -> None:
    base = f"/admin/events/klein/sessions/{lined_up}/participants"
    response = organiser.get(f"{base}.csv?lang=en")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=klein-ook-r2-participants.csv"
    )
    header, *rows = csv_rows(response.data)
    assert header == ["Name", "E-mail address", "Profession", "Organisation", "NIP",
                      "Status", "Waiting list position", "Registered at", "Checked in",
                      "Checked out", "Minutes late", "Minutes left early",
                      "Attended in full", "Phone number",
                      "Accessibility or dietary needs"]  # fmt: skip
    assert [(r[0], r[5], r[6]) for r in rows] == [
        ("Ägnes Ödegaard", "Confirmed", ""),
        ("Willem", "Confirmed", ""),
        ("Zoë", "Waiting list", "1"),
        ("Anna", "Waiting list", "2"),
    ]

    response = organiser.get(f"{base}.xlsx?lang=en")
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=klein-ook-r2-participants.xlsx"
    )
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet.title == "Andere workshop ronde 2"
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert [(v[0], v[6], v[7]) for v in values] == [
        ("Ägnes Ödegaard", None, LOCAL_NOON),
        ("Willem", None, LOCAL_NOON),
        ("Zoë", 1, LOCAL_NOON),
        ("Anna", 2, LOCAL_NOON),
    ]


def test_session_lists_carry_phone_and_needs_and_the_print_sheet_does_not(
    organiser, db, accounts, small_event, clock
) -> None:
    """The lists an organiser downloads have them; the signature sheet for the door has not."""
    register(db, accounts["klein"], 1, [small_event["groot"]], clock, name="Sanne",
             phone="06-12345678", needs="Doof: graag een tolk\nGeen varkensvlees")  # fmt: skip
    base = f"/admin/events/klein/sessions/{small_event['groot']}/participants"
    header, row = csv_rows(organiser.get(f"{base}.csv?lang=en").data)
    assert dict(zip(header, row, strict=True)) | {"Registered at": ""} == {
        "Name": "Sanne", "E-mail address": "deelnemer1@example.org",
        "Profession": "GZ-psycholoog", "Organisation": "",
        "NIP": "NIP-00012345", "Status": "Confirmed", "Waiting list position": "",
        "Registered at": "", "Checked in": "", "Checked out": "", "Minutes late": "",
        "Minutes left early": "", "Attended in full": "", "Phone number": "06-12345678",
        "Accessibility or dietary needs": "Doof: graag een tolk\nGeen varkensvlees",
    }  # fmt: skip
    sheet = load_workbook(io.BytesIO(organiser.get(f"{base}.xlsx?lang=en").data)).active
    assert [c.value for c in sheet[2]][-2:] == [
        "06-12345678",
        "Doof: graag een tolk\nGeen varkensvlees",
    ]
    page = organiser.get(f"{base}/print").get_data(as_text=True)
    assert "Sanne" in page and "06-12345678" not in page and "tolk" not in page


def test_print_sheet(organiser, lined_up) -> None:
    response = organiser.get(f"/admin/events/klein/sessions/{lined_up}/participants/print?lang=en")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "css/print_session.css" in page  # its print styles, a file under the CSP
    assert "@media print" in (ROOT / "static" / "css" / "print_session.css").read_text()
    assert "Andere workshop ronde 2" in page and "Klein symposium" in page
    assert "15:00–16:30" in page  # round 2 (event files give local times)
    assert "Signature" in page and "NIP-00012345" in page and "GZ-psycholoog" in page
    waiting = page.index("Waiting list")
    order = [page.index(name) for name in ("Ägnes Ödegaard", "Willem", "Zoë", "Anna")]
    assert order == sorted(order) and order[1] < waiting < order[2]
    assert "Cees" not in page and "Bert" not in page


# --------------------------------------------------------------------------- access


def export_urls(session_id: int) -> list[str]:
    base = f"/admin/events/klein/sessions/{session_id}/participants"
    return [
        "/admin/events/klein/registrations.csv",
        "/admin/events/klein/registrations.xlsx",
        f"{base}.csv",
        f"{base}.xlsx",
        f"{base}/print",
        "/admin/events/klein/exports",
        "/admin/events/klein/catering.csv",
        "/admin/events/klein/catering.xlsx",
    ]


def test_a_session_of_another_event_is_not_found(organiser, db, accounts) -> None:
    foreign = accounts["other"].sessions[0].id
    for url in export_urls(foreign)[2:5] + export_urls(10**6)[2:5]:
        assert organiser.get(url).status_code == 404, url


def test_only_organisers_of_the_event_may_export(app, accounts, small_event) -> None:
    urls = export_urls(small_event["klein"])
    for url in urls:
        response = app.test_client().get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/admin/login"), url
    for persona in ("door", "other"):
        client = app.test_client()
        assert login(client, f"{persona}@example.org").status_code == 303
        for url in urls:
            assert client.get(url).status_code == 403, (persona, url)


# --------------------------------------------------------------------------- scale


@pytest.fixture
def crowd(db, accounts, small_event, clock):  # type: ignore[no-untyped-def]
    """5,000 registrations written with core inserts: each in "klein" (10 places, the rest
    waiting) and "groot"; every 100th registration cancelled."""
    klein = accounts["klein"]
    profession = db.session.scalars(select(Profession).where(Profession.code == "gz-psycholoog"))
    profession_id = profession.one().id
    now = clock.now
    db.session.execute(
        insert(Registration.__table__),
        [
            {
                "event_id": klein.id,
                "email": f"p{i}@example.org",
                "name": f"Deelnemer {i:04d}",
                "profession_id": profession_id,
                "organisation": "GGZ",
                "identifiers": {"BIG": f"{i:011d}"} | ({"NIP": str(i)} if i % 2 else {}),
                "status": RegistrationStatus.CANCELLED if i % 100 == 99 else "active",
                "token_nonce": f"n{i}",
                "checkin_code": f"{i:013d}",
                "token_hash": f"t{i:063d}",
                "feed_nonce": f"f{i}",
                "feed_token_hash": f"f{i:063d}",
                "created_at": now + timedelta(seconds=i),
                "consent_at": now,
            }
            for i in range(5000)
        ],
    )
    ids = db.session.scalars(
        select(Registration.id).where(Registration.event_id == klein.id).order_by(Registration.id)
    ).all()
    rows = []
    waiting = 0
    for i, registration_id in enumerate(ids):
        common = {"registration_id": registration_id, "profession_id": profession_id,
                  "created_at": now, "changed_at": now}  # fmt: skip
        if i % 100 == 99:
            status, position = EnrolmentStatus.CANCELLED, None
        elif i < 10:
            status, position = EnrolmentStatus.CONFIRMED, None
        else:
            waiting += 1
            status, position = EnrolmentStatus.WAITLISTED, waiting
        rows.append({**common, "session_id": small_event["klein"], "status": status,
                     "waitlist_position": position})  # fmt: skip
        groot = EnrolmentStatus.CANCELLED if i % 100 == 99 else EnrolmentStatus.CONFIRMED
        rows.append({**common, "session_id": small_event["groot"], "status": groot,
                     "waitlist_position": None})  # fmt: skip
    db.session.execute(insert(Enrolment.__table__), rows)
    db.session.commit()
    db.session.remove()  # start the counted requests with nothing cached
    return waiting


class StatementCounter:
    def __init__(self, engine):  # type: ignore[no-untyped-def]
        self.engine, self.count = engine, 0

    def __enter__(self) -> StatementCounter:
        sa_event.listen(self.engine, "before_cursor_execute", self.hit)
        return self

    def __exit__(self, *exc: object) -> None:
        sa_event.remove(self.engine, "before_cursor_execute", self.hit)

    def hit(self, *args: object) -> None:
        self.count += 1


def test_5000_registrations_export_with_a_bounded_number_of_queries(
    organiser, db, small_event, crowd
) -> None:
    for url in ("/admin/events/klein/registrations.csv",
                "/admin/events/klein/registrations.xlsx"):  # fmt: skip
        db.session.remove()
        with StatementCounter(db.engine) as counter:
            response = organiser.get(url)
        assert response.status_code == 200
        assert counter.count < 10, (url, counter.count)
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).active
    assert sum(1 for _row in sheet.iter_rows(values_only=True)) == 5001

    db.session.remove()
    with StatementCounter(db.engine) as counter:
        response = organiser.get(
            f"/admin/events/klein/sessions/{small_event['klein']}/participants.csv?lang=en"
        )
    assert counter.count < 10, counter.count
    header, *rows = csv_rows(response.data)
    assert header[4:6] == ["BIG", "NIP"]
    assert len(rows) == 10 + crowd
    assert [r[6] for r in rows[:11]] == ["Confirmed"] * 10 + ["Waiting list"]
    assert [int(r[7]) for r in rows[10:]] == list(range(1, crowd + 1))

    event = db.session.scalars(select(Event).where(Event.slug == "klein")).one()
    with StatementCounter(db.engine) as counter:
        table = exports.registrations_table(db.session, event)
    assert counter.count <= 5 and len(table.rows) == 5000  # presences are the fifth
