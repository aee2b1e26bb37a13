"""Paper at the door (services/checkin/sheets.py, blueprints/admin/paper.py): the sign-in
sheet lists everyone expected by surname with their register numbers, and its ticks are
entered back once, "from paper", by the organiser who entered them."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from symposium.models import AuditEntry, Presence, Role, Via
from symposium.services.accounts import access
from symposium.services.checkin import sheets
from symposium.services.core.errors import RuleError
from tests.checkin.conftest import local
from tests.checkin.test_door_pages import (  # noqa: F401  (fixtures)
    live_presences,
    quick_hashes,
    register,
    sign_in,
)

PASSWORD = "organiser-password"


@pytest.fixture
def organiser(db, event, clock):  # type: ignore[no-untyped-def]
    user, _ = access.create_user(
        db.session, "org@example.org", Role.ORGANISER, clock.now, event=event, password=PASSWORD
    )
    db.session.commit()
    return user


@pytest.fixture
def people(register):  # type: ignore[no-untyped-def]
    """Four people in "klein" (one with diacritics and a particle), one elsewhere."""
    made = {}
    for n, name in enumerate(["Zoë Çelik-Öztürk", "Jan van der Berg", "Anna Aalders",
                              "Bram de Wit"], start=1):  # fmt: skip
        made[name] = register(n, "klein", name=name).registration
    made["Elders"] = register(9, "psy", name="Eva Elders").registration
    return made


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]  # type: ignore[index]


def pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_the_sheet_lists_everyone_expected_by_surname_with_register_numbers(
    app, db, sessions, people, clock
) -> None:
    clock.now = local(12, 0)
    with app.test_request_context():
        body = sheets.sign_in_sheet(db.session, sessions["klein"], clock.now, "nl")
    assert body.startswith(b"%PDF")
    text = pdf_text(body)
    for name in ("Anna Aalders", "Jan van der Berg", "Zoë Çelik-Öztürk", "Bram de Wit"):
        assert name in text
    assert "Eva Elders" not in text  # expected elsewhere
    order = [text.index(n) for n in ("Aalders", "van der Berg", "Çelik", "de Wit")]
    assert order == sorted(order)  # by surname, the particles aside
    assert text.count("NIP-00012345") == 4
    assert "Kleine workshop" in text and "Klein symposium" in text
    assert "Handtekening" in text and "Aanwezig" in text
    assert "4 verwacht" in text
    assert re.search(r"Pagina 1 van \d", text)


def test_an_organiser_downloads_the_sheet_and_enters_the_ticks_once(
    client, db, sessions, people, organiser, clock
) -> None:
    clock.now = local(15, 0)
    sign_in(client, organiser.email, PASSWORD)
    klein = sessions["klein"]
    sheet = client.get(f"/admin/events/klein/sessions/{klein.id}/sign-in-sheet.pdf")
    assert sheet.status_code == 200 and sheet.mimetype == "application/pdf"
    assert "attachment" in sheet.headers["Content-Disposition"]
    assert sheet.headers["Cache-Control"] == "no-store"

    url = f"/admin/events/klein/sessions/{klein.id}/paper"
    page = client.get(url).get_data(as_text=True)
    assert "Zoë Çelik-Öztürk" in page and "Eva Elders" not in page
    ticked = [people["Anna Aalders"].id, people["Zoë Çelik-Öztürk"].id]
    data = {"csrf_token": csrf_of(page), "present": ticked}
    response = client.post(url, data=data)
    assert response.status_code == 303
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 aanwezigheden ingevoerd vanaf papier." in after
    rows = live_presences(db, klein)
    assert sorted(r.registration.name for r in rows) == ["Anna Aalders", "Zoë Çelik-Öztürk"]
    assert all(r.checked_in_via is Via.PAPER for r in rows)
    assert all(r.checked_in_by_id == organiser.id for r in rows)
    assert all(r.checked_in_at == klein.effective_starts_at for r in rows)  # paper has no time
    assert all(r.recorded_at == local(15, 0) for r in rows)
    assert "van papier" in after  # the page shows them as entered

    # The same sheet sent again (a double submit) records nothing new.
    again = client.post(url, data=data)
    assert again.status_code == 422  # they are no longer to be ticked
    assert len(live_presences(db, klein)) == 2
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "paper_entered")
    ).all()
    assert len(entries) == 1 and entries[0].user_id == organiser.id


def test_entering_twice_through_the_service_is_one_presence_each(
    app, db, sessions, people, organiser, clock
) -> None:
    clock.now = local(16, 0)
    klein = sessions["klein"]
    ids = [people["Bram de Wit"].id, people["Jan van der Berg"].id]
    with app.test_request_context():
        first = sheets.enter_paper(db.session, organiser, klein, ids, clock.now)
        db.session.commit()
        second = sheets.enter_paper(db.session, organiser, klein, ids, clock.now)
        db.session.commit()
        elsewhere = sheets.enter_paper(
            db.session, organiser, klein, [people["Elders"].id], clock.now
        )
    assert len(first.recorded) == 2 and not first.already
    assert not second.recorded and len(second.already) == 2
    assert not elsewhere.recorded and elsewhere.refused[0][0].name == "Eva Elders"
    assert db.session.scalars(select(Presence)).all().__len__() == 2
    # A paper check-in taken back (the wrong line ticked), then entered again: recorded.
    from symposium.services.checkin import presence

    bram = next(p for p in live_presences(db, klein) if p.registration.name == "Bram de Wit")
    with app.test_request_context():
        presence.undo_checkin(db.session, organiser, bram, clock.now)
        db.session.commit()
        again = sheets.enter_paper(db.session, organiser, klein, ids, clock.now)
        db.session.commit()
    assert [r.name for r in again.recorded] == ["Bram de Wit"] and len(again.already) == 1
    assert len(live_presences(db, klein)) == 2


def test_a_door_account_may_not_enter_paper(app, client, db, door, sessions, people, clock) -> None:
    clock.now = local(15, 0)
    with app.test_request_context(), pytest.raises(RuleError) as refused:
        sheets.enter_paper(db.session, door, sessions["klein"], [1], clock.now)
    assert refused.value.status == 403
    sign_in(client, door.email)
    klein = sessions["klein"]
    assert client.get(f"/admin/events/klein/sessions/{klein.id}/paper").status_code == 403
    sheet = client.get(f"/admin/events/klein/sessions/{klein.id}/sign-in-sheet.pdf")
    assert sheet.status_code == 403


def test_someone_not_expected_cannot_be_ticked(
    client, db, sessions, people, organiser, clock
) -> None:
    clock.now = local(15, 0)
    sign_in(client, organiser.email, PASSWORD)
    url = f"/admin/events/klein/sessions/{sessions['klein'].id}/paper"
    page = client.get(url).get_data(as_text=True)
    response = client.post(
        url, data={"csrf_token": csrf_of(page), "present": [people["Elders"].id]}
    )
    assert response.status_code == 422
    assert "wordt hier niet verwacht" in response.get_data(as_text=True)
    assert live_presences(db, sessions["klein"]) == []


# --------------------------------------------------------------------------- name badges


def test_badges_for_one_letter_range_by_surname_with_their_qr_codes(
    client, db, people, organiser, clock
) -> None:
    clock.now = local(8, 0)
    sign_in(client, organiser.email, PASSWORD)
    form = client.get("/admin/events/klein/badges")
    assert form.status_code == 200 and "Naambadges" in form.get_data(as_text=True)
    cards = client.get("/admin/events/klein/badges.pdf?layout=a6&first=A&last=C")
    assert cards.status_code == 200 and cards.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(cards.data))
    texts = [page.extract_text() for page in reader.pages]
    # A–C: Aalders, van der Berg, Çelik-Öztürk (not de Wit, not Elders), one card each.
    assert len(texts) == 3
    assert ["Anna Aalders" in texts[0], "Jan van der Berg" in texts[1]] == [True, True]
    assert "Zoë Çelik-Öztürk" in texts[2]
    assert "GZ-psycholoog" in texts[0] and "Klein symposium" in texts[0]
    from symposium.services.checkin import tickets

    code = tickets.format_code(people["Anna Aalders"].checkin_code)
    assert code in texts[0]

    labels = client.get("/admin/events/klein/badges.pdf?layout=a4-8&first=A&last=Z")
    pages = PdfReader(io.BytesIO(labels.data)).pages
    assert len(pages) == 1  # five people, eight labels to a sheet
    text = pages[0].extract_text()
    order = [text.index(n) for n in ("Aalders", "van der Berg", "Çelik", "Elders", "de Wit")]
    assert order == sorted(order)  # two to a row, read row by row


def test_badge_choices_that_make_no_sense_come_back_with_a_message(
    client, db, people, organiser, clock
) -> None:
    sign_in(client, organiser.email, PASSWORD)
    backwards = client.get("/admin/events/klein/badges.pdf?layout=a6&first=M&last=C")
    assert backwards.status_code == 422
    assert "komt vóór de eerste" in backwards.get_data(as_text=True)
    empty = client.get("/admin/events/klein/badges.pdf?layout=a6&first=X&last=Y")
    assert empty.status_code == 422 and "Niemand" in empty.get_data(as_text=True)
    wrong = client.get("/admin/events/klein/badges.pdf?layout=a3&first=A&last=Z")
    assert wrong.status_code == 422
