"""The ticket (services/checkin/tickets.py, ticket_pdf.py): a random check-in code per
registration, unique per event, shown as a QR code on the manage page, in the confirmation
mail and on a printable PDF."""

from __future__ import annotations

import io
import math
import re
from collections import Counter
from email import message_from_bytes, policy

import pytest
from flask_migrate import downgrade, upgrade
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from symposium.models import OutboxMessage, Registration, Session
from symposium.services.checkin import ticket_pdf, tickets
from symposium.services.mail import delivery, render
from symposium.services.privacy import anonymise, export
from symposium.services.registration import lifecycle

LOOK_ALIKES = set("OILU")  # Crockford leaves them out: O/0, I/L/1, and U


# --------------------------------------------------------------------------- the code


def test_the_alphabet_has_no_look_alikes_and_the_code_carries_at_least_64_bits() -> None:
    assert len(set(tickets.ALPHABET)) == len(tickets.ALPHABET) == 32
    assert not LOOK_ALIKES & set(tickets.ALPHABET)
    assert tickets.LENGTH >= 10
    assert tickets.LENGTH * math.log2(len(tickets.ALPHABET)) >= 64


def test_codes_are_random_over_the_whole_alphabet() -> None:
    codes = [tickets.new_code() for _ in range(2000)]
    assert len(set(codes)) == len(codes)
    assert all(len(c) == tickets.LENGTH and set(c) <= set(tickets.ALPHABET) for c in codes)
    counts = Counter("".join(codes))
    assert set(counts) == set(tickets.ALPHABET)
    # 26,000 characters: each of 32 expected 812 times; a biased generator is far off.
    assert all(600 < n < 1050 for n in counts.values()), counts


def test_codes_come_from_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tickets.secrets, "choice", lambda alphabet: alphabet[7])
    assert tickets.new_code() == "7" * tickets.LENGTH


def test_the_code_is_shown_in_groups() -> None:
    assert tickets.format_code("ABCDEFGHJKMNP") == "ABCD-EFGH-JKMNP"
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{5}", tickets.format_code("0" * 13))


@pytest.mark.parametrize(
    "typed",
    [
        "ABCD-EFGH-JK1N0",
        "abcd-efgh-jk1n0",
        "abcd efgh jk1n0",
        " AbCd–EfGh–JkIno ",  # en dashes, I for 1, o for 0
        "ABCDEFGHJKLNO",  # L for 1, O for 0
        "abcd-efgh-jkln-o",
    ],
)
def test_parsing_ignores_case_spaces_and_dashes_and_reads_look_alikes(typed: str) -> None:
    assert tickets.parse_code(typed) == "ABCDEFGHJK1N0"


@pytest.mark.parametrize(
    "typed", ["", "ABCD-EFGH-JK1N", "ABCD-EFGH-JK1N00", "ABCD-EFGH-JK1NU", "€"]
)
def test_what_cannot_be_a_code_is_none(typed: str) -> None:
    assert tickets.parse_code(typed) is None


# --------------------------------------------------------------------------- registration


def test_every_registration_gets_its_own_code(db, register, event) -> None:
    first, second = register(1, "klein"), register(2, "groot")
    codes = [first.registration.checkin_code, second.registration.checkin_code]
    assert codes[0] != codes[1]
    assert all(tickets.parse_code(c) == c for c in codes)
    # Not derived from the manage link (or the id).
    assert codes[0] not in first.token and str(first.registration.id) != codes[0]
    typed = tickets.format_code(codes[1]).lower().replace("0", "o")
    assert tickets.find_by_code(db.session, event, typed).id == second.registration.id
    assert tickets.find_by_code(db.session, event, "0000-0000-00000") is None
    assert tickets.find_by_code(db.session, event, "not a code") is None


def test_a_code_taken_in_the_event_is_drawn_again(db, register, monkeypatch) -> None:
    taken = register(1, "klein").registration.checkin_code
    drawn = iter([taken, taken, "ZZZZZZZZZZZZZ"])
    monkeypatch.setattr(tickets, "new_code", lambda: next(drawn))
    outcome = register(2, "groot")
    assert outcome.created and outcome.registration.checkin_code == "ZZZZZZZZZZZZZ"
    assert next(drawn, None) is None  # both collisions cost a draw, nothing else
    assert len(outcome.registration.enrolments) == 1


def test_the_database_refuses_a_code_twice_in_one_event(db, register) -> None:
    first, second = register(1).registration, register(2).registration
    second.checkin_code = first.checkin_code
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_an_address_registered_again_is_still_the_address_rule(db, register) -> None:
    """A duplicate address is not mistaken for a code collision (no retry, no new row)."""
    first = register(1, "klein")
    again = register(1, "groot")
    assert not again.created and again.registration.id == first.registration.id
    assert db.session.scalar(select(Registration.checkin_code)) == first.registration.checkin_code


def test_the_migration_gives_existing_registrations_a_code(db, register) -> None:
    ids = [register(n).registration.id for n in range(3)]
    db.session.remove()
    downgrade(revision="a7c41e0d9b21")
    upgrade()
    codes = db.session.scalars(select(Registration.checkin_code).order_by(Registration.id)).all()
    assert len(codes) == len(ids) == len(set(codes))
    assert all(tickets.parse_code(c) == c for c in codes)


# --------------------------------------------------------------------------- manage page, mail


def test_the_manage_page_shows_the_qr_code_and_the_code(client, register) -> None:
    outcome = register(1, "klein")
    page = client.get(f"/r/{outcome.token}").get_data(as_text=True)
    code = outcome.registration.checkin_code
    svg = re.search(r"<svg\b.*?</svg>", page, re.S)
    assert svg is not None and 'class="ticket-qr"' in svg.group(0)
    assert "style=" not in svg.group(0) and "<title>" in svg.group(0)
    # The QR holds the code only: the same drawing as the code's own, no link in it.
    assert svg.group(0) == tickets.qr_svg(code, "QR-code van uw aanmeldcode")
    assert tickets.format_code(code) in page
    assert f"/r/{outcome.token}/ticket.pdf" in page


def test_the_confirmation_mail_has_the_code_as_text_and_the_qr_as_an_inline_image(
    db, register
) -> None:
    outcome = register(1, "klein")
    render.render_pending(db.session)
    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "registered")
    ).one()
    raw = delivery.build_message(message, "Symposium <noreply@symposium.localhost>").as_bytes()
    mime = message_from_bytes(raw, policy=policy.default)
    code = tickets.format_code(outcome.registration.checkin_code)

    text = mime.get_body(("plain",)).get_content()
    assert code in text and f"/r/{outcome.token}/ticket.pdf" in text
    assert f"/r/{outcome.token}" in text  # the text part is complete: the manage link too

    (related,) = [p for p in mime.walk() if p.get_content_type() == "multipart/related"]
    html_part, image = related.iter_parts()
    html = html_part.get_content()
    cid = re.search(r'src="cid:([^"]+)"', html).group(1)
    assert image.get_content_type() == "image/png"
    assert image["Content-ID"] == f"<{cid}>"
    assert image.get_content() == tickets.qr_png(outcome.registration.checkin_code)
    assert code in html
    assert mime.get_body(("html",)) is html_part


def test_other_mail_carries_no_ticket(db, register, small_event, clock) -> None:
    outcome = register(1, "klein")
    lifecycle.change_session(db.session, outcome.registration, small_event["groot"], clock.now)
    db.session.commit()
    render.render_pending(db.session)
    changed = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "changed"))
    for message in changed:
        assert message.qr_code is None
        mime = delivery.build_message(message, "S <s@example.org>")
        assert not [p for p in mime.walk() if p.get_content_type() == "image/png"]


# --------------------------------------------------------------------------- the PDF


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_ticket_pdf_holds_name_event_confirmed_sessions_rooms_and_code(
    client, db, register, small_event
) -> None:
    db.session.get(Session, small_event["klein"]).room = "Zaal Ågård 3"
    db.session.commit()
    register(0, "ook-r2")  # the one place of "ook-r2"
    outcome = register(1, "klein", "ook-r2", name="Zoë Çelik-Ångström")
    response = client.get(f"/r/{outcome.token}/ticket.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    text = pdf_text(response.data)
    assert "Zoë Çelik-Ångström" in text
    assert "Klein symposium" in text
    assert "Kleine workshop" in text and "Zaal Ågård 3" in text
    assert "Opening" in text  # the plenary: everyone attends
    assert tickets.format_code(outcome.registration.checkin_code) in text
    assert "TOEGANGSBEWIJS" in text  # Dutch: the registrant's language
    # The waitlisted workshop is named under the waiting list, not as a confirmed session.
    confirmed, waiting = text.split("WACHTLIJST (NIET OP DIT TOEGANGSBEWIJS)")
    assert "Andere workshop ronde 2" not in confirmed
    assert "Andere workshop ronde 2" in waiting and "plaats 1" in waiting
    assert outcome.token not in text


def test_a_cyrillic_and_a_greek_name_print_and_english_follows_the_registrant(
    client, register
) -> None:
    outcome = register(1, "klein", name="Анна Петрова-Σοφία", language="en")
    text = pdf_text(client.get(f"/r/{outcome.token}/ticket.pdf").data)
    assert "Анна Петрова-Σοφία" in text
    assert "Your programme" in text and "WAITING LIST" not in text


def test_a_cancelled_place_is_not_on_the_ticket(client, db, register, clock) -> None:
    outcome = register(1, "klein", "groot")
    (klein, _) = outcome.registration.enrolments
    lifecycle.cancel_enrolment(db.session, outcome.registration, klein.id, clock.now)
    db.session.commit()
    text = pdf_text(client.get(f"/r/{outcome.token}/ticket.pdf").data)
    assert "Grote workshop" in text and "Kleine workshop" not in text


def test_a_cancelled_registration_gets_no_ticket(client, db, register, clock) -> None:
    outcome = register(1, "klein")
    lifecycle.cancel_registration(db.session, outcome.registration, clock.now)
    db.session.commit()
    response = client.get(f"/r/{outcome.token}/ticket.pdf")
    assert response.status_code == 410
    assert response.mimetype == "text/html"
    assert "geannuleerd" in response.get_data(as_text=True)
    with pytest.raises(ticket_pdf.NoTicket):
        ticket_pdf.ticket_pdf(outcome.registration, clock.now)


def test_an_unknown_link_has_no_ticket(client, small_event) -> None:
    assert client.get("/r/nonsense/ticket.pdf").status_code == 404


# --------------------------------------------------------------------------- privacy


def test_the_code_is_in_the_download_and_anonymising_replaces_it(db, register, event, clock):
    outcome = register(1, "klein")
    registration = outcome.registration
    code = registration.checkin_code
    assert export.personal_data(db.session, registration)["registration"]["checkin_code"] == code
    render.render_pending(db.session)
    message = db.session.scalars(select(OutboxMessage)).first()
    message.status = "sent"
    anonymise.anonymise(db.session, registration, clock.now, keep_accreditation=False)
    db.session.commit()
    assert registration.checkin_code != code and tickets.parse_code(registration.checkin_code)
    assert tickets.find_by_code(db.session, event, code) is None
    assert db.session.get(OutboxMessage, message.id).qr_code is None
