"""Mail that looks like the organiser's (issue 16 point 7): a designed HTML part, a text part
that reads on its own, both from one template per kind (services/mail/layout.py)."""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import quote

import pytest
from sqlalchemy import select

from symposium.models import Event, OutboxMessage, Registration, Role, Session
from symposium.services.accounts import access
from symposium.services.mail import layout, outbox, render
from symposium.services.registration import lifecycle, validation
from tests.conftest import registration_data

ADDRESS = "Voorbeeldplein 1, 3000 AA Rotterdam"
URL = re.compile(r"https?://\S+")


@pytest.fixture
def event(db, small_event) -> Event:  # type: ignore[no-untyped-def]
    event = db.session.get(Event, small_event["event"])
    event.venue = "Congrescentrum De Doelen"
    event.address = ADDRESS
    event.organiser_phone = "010 - 123 45 67"
    db.session.commit()
    return event


def enrol(db, event, clock, n, *session_ids, **extra) -> Registration:  # type: ignore[no-untyped-def]
    data = validation.RegistrationInput(**registration_data(n, **extra), language="en")
    data.sessions = list(session_ids)
    outcome = lifecycle.register(db.session, event, data, clock.now, "test")
    db.session.commit()
    return outcome.registration


def written(db, kind: str | None = None) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    render.render_pending(db.session)
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query))


def hrefs(html: str) -> list[str]:
    return [html_lib.unescape(h) for h in re.findall(r'href="([^"]+)"', html)]


def test_the_confirmation_is_laid_out_not_the_text_with_line_breaks(
    db, event, small_event, clock
) -> None:
    me = enrol(db, event, clock, 1, small_event["groot"], small_event["klein"])
    (mail,) = written(db, "registered")
    html, text = mail.body_html, mail.body_text
    manage_url = next(
        line for line in text.splitlines() if re.fullmatch(r"http://\S+/r/[^/]+", line)
    )

    # Word's engine (Outlook): tables, a fixed 600 px column, a button that is a table cell.
    assert "<br" not in html and "flex" not in html and "grid" not in html
    assert '<table role="presentation" width="600"' in html and "max-width:600px" in html
    button = re.search(
        r'<td align="center" bgcolor="(#[0-9a-f]{6})"[^>]*>\s*<a href="([^"]+)"', html
    )
    assert button and button.groups() == (layout.DEFAULT_ACCENT, manage_url)
    assert '<meta name="color-scheme" content="light dark">' in html
    preheader = re.search(r'<div style="display:none;[^"]*">([^<&]*)', html)
    assert preheader and preheader[1].startswith("Thank you for registering for Klein symposium")

    # The event, where it is and how to get there; the organiser and how to reach them.
    assert ">Klein symposium</h1>" in html
    assert "Congrescentrum De Doelen, Voorbeeldplein 1, 3000 AA Rotterdam" in html
    route = layout.ROUTE_URL + quote(ADDRESS, safe="")
    assert (
        route
        == "https://www.openstreetmap.org/search?query=Voorbeeldplein%201%2C%203000%20AA%20Rotterdam"
    )
    assert route in hrefs(html) and route in text.splitlines()
    assert "mailto:info@example.org" in hrefs(html) and "tel:0101234567" in hrefs(html)
    assert "Testorganisatie" in html and "Questions? Reply to this e-mail." in html
    # The ticket where it was: the QR image by Content-ID, the code, the printable ticket.
    assert f'src="cid:{render.qr_cid(mail.message_id)}"' in html
    assert any(h.endswith("/ticket.pdf") for h in hrefs(html))
    # Every link absolute, none made from what someone typed.
    assert all(h.startswith(("http://localhost/", layout.ROUTE_URL, "mailto:", "tel:"))
               for h in hrefs(html))  # fmt: skip

    # The programme in time order, the plenary session in it, in both parts.
    order = ["Opening", "Kleine workshop", "Grote workshop"]
    assert [html.index(f">{t}<") for t in order] == sorted(html.index(f">{t}<") for t in order)
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert [line[2:].split(" (")[0] for line in lines] == order
    assert lines[0] == "- Opening (Plenary)"
    assert lines[1] == "- Kleine workshop (Ronde 1): confirmed"
    assert me.name in text and f"Dear {me.name}," in html


def test_typed_text_is_escaped(db, event, small_event, clock) -> None:
    enrol(db, event, clock, 1, small_event["klein"], name="<b>Jan</b> & Co")
    event.title = "Zorg <script>alert(1)</script>"
    db.session.commit()
    (mail,) = written(db, "registered")
    assert "<script>" not in mail.body_html and "&lt;script&gt;" in mail.body_html
    assert (
        "<b>Jan</b>" not in mail.body_html and "&lt;b&gt;Jan&lt;/b&gt; &amp; Co" in mail.body_html
    )
    assert "<b>Jan</b> & Co" in mail.body_text  # the text part is text


def test_the_brand_is_checked_before_it_reaches_the_html(
    db, event, small_event, clock, monkeypatch
):
    assert layout.Brand.checked("red;background:url(x)", "javascript:alert(1)") == layout.Brand(
        layout.DEFAULT_ACCENT, None
    )
    assert layout.Brand.checked("#FFD700", "//cdn.example/logo.png").logo_url is None
    assert layout.Brand.checked("#1f5f8b", None).on_accent == "#ffffff"
    assert layout.Brand.checked("#ffd700", None).on_accent == "#1d2330"  # dark on yellow
    logo = "https://cdn.example.org/logo.png"
    monkeypatch.setattr(render, "_brand", lambda event: layout.Brand.checked("#8a1538", logo))
    enrol(db, event, clock, 1, small_event["klein"])
    (mail,) = written(db, "registered")
    assert f'<img src="{logo}" height="48" alt="Testorganisatie"' in mail.body_html
    assert 'bgcolor="#8a1538"' in mail.body_html and layout.DEFAULT_ACCENT not in mail.body_html


def every_kind(db, event, small_event, clock) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    """One message of every kind the system sends, written."""
    me = enrol(db, event, clock, 1, small_event["klein"], small_event["groot"])
    enrol(db, event, clock, 2, small_event["ook-r2"])
    late = enrol(db, event, clock, 3, small_event["ook-r2"])  # waitlisted
    place = next(e for e in me.enrolments if e.session_id == small_event["klein"])
    lifecycle.change_session(db.session, me, small_event["psy"], clock.now)  # changed
    lifecycle.resend_link(db.session, me, clock.now)  # manage_link
    lifecycle.sessions_rescheduled(db.session, [small_event["groot"]], clock.now)
    ook = db.session.get(Session, small_event["ook-r2"])
    lifecycle.cancel_session(db.session, None, ook, clock.now)
    outbox.queue(db.session, me, "number_missing", clock.now,
                 about={"points": "1,5", "register": "GAIA", "number": "BIG-nummer"})  # fmt: skip
    outbox.queue(db.session, me, "email_confirm", clock.now, to="nieuw@example.org",
                 about={"token": "t0ken"})  # fmt: skip
    outbox.queue(db.session, me, "email_changed", clock.now, to="oud@example.org",
                 about={"new_email": me.email})  # fmt: skip
    for kind in ("calendar_cancelled", "invitation", "invitation_cancelled"):  # queued before
        outbox.queue(db.session, me, kind, clock.now, enrolment=place)
    groot = next(e for e in me.enrolments if e.session_id == small_event["groot"])
    lifecycle.cancel_enrolment(db.session, me, groot.id, clock.now)
    lifecycle.cancel_registration(db.session, late, clock.now)
    db.session.commit()
    access.create_user(db.session, "org@example.org", Role.ADMIN, clock.now, name="Org")
    for kind in ("password_reset", "account_created"):
        access.request_password_link(db.session, "org@example.org", kind, "en", clock.now)
    db.session.commit()
    lifecycle.event_cancelled(db.session, event, clock.now)
    db.session.commit()
    return written(db)


def test_every_kind_reads_well_as_text_and_as_html(db, event, small_event, clock) -> None:
    messages = every_kind(db, event, small_event, clock)
    kinds = {m.kind for m in messages}
    assert kinds == {
        "registered", "changed", "manage_link", "session_changed", "session_cancelled",
        "number_missing", "email_confirm", "email_changed", "calendar_cancelled", "invitation",
        "invitation_cancelled", "enrolment_cancelled", "registration_cancelled",
        "password_reset", "account_created", "event_cancelled",
    }  # fmt: skip
    for mail in messages:
        text, html = mail.body_text, mail.body_html
        where = f"{mail.kind}:\n{text}"
        assert text.endswith("\n") and not text.startswith("\n"), where
        assert "\n\n\n" not in text, where
        assert all(line == line.rstrip() for line in text.splitlines()), where
        for line in text.splitlines():  # a link is a line of its own, to click or copy
            for link in URL.findall(line):
                assert line == link, where
        assert "<br" not in html, mail.kind
        assert all(h.startswith(("http://", "https://", "mailto:", "tel:")) for h in hrefs(html))
        # The kind's own words are in both parts: the text's first sentence, escaped.
        first = text.split("\n\n")[1].split("\n")[0]
        assert html_lib.escape(first, quote=False) in html, where
    manage = {m.kind for m in messages if re.search(r"/r/[^/\s]+\n", m.body_text)}
    assert "email_confirm" not in manage and "email_changed" not in manage  # other addresses
    (confirm,) = [m for m in messages if m.kind == "email_confirm"]
    assert "http://localhost/r/confirm-email/t0ken" in hrefs(confirm.body_html)
    (reset,) = [m for m in messages if m.kind == "password_reset"]
    assert reset.body_text.startswith("Hello Org,") and "<h1" not in reset.body_html


def test_rounds_are_listed_in_time_order_whatever_the_order_chosen(
    db, event, small_event, clock
) -> None:
    """Chosen in round 2 first, then round 1 (enrolment order): listed by time."""
    enrol(db, event, clock, 1, small_event["groot"])
    me = db.session.scalars(select(Registration)).one()
    lifecycle.change_session(db.session, me, small_event["klein"], clock.now)
    db.session.commit()
    changed = written(db, "changed")[0]
    titles = [
        line[2:].split(" (")[0] for line in changed.body_text.splitlines() if line.startswith("- ")
    ]
    assert titles == ["Opening", "Kleine workshop", "Grote workshop"]
