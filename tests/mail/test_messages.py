"""Reminders and the organiser's messages (issue 16, point 9): a reminder goes once, a few
days before, with the practical information and the ticket; an organiser's message is
previewed with its count, sent once, and carries a one-click unsubscribe that is honoured,
while transactional mail carries none."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from symposium.models import AuditEntry, Event, OutboxMessage, Registration
from symposium.services.mail import delivery, messages, reminders, render
from symposium.services.registration import links
from tests.backoffice.test_admin import login
from tests.backoffice.test_history import org, visible  # noqa: F401 (a fixture)
from tests.registration.test_registration_pages import csrf

SENDER = "Symposium <noreply@symposium.localhost>"


def mails(db, kind: str) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    query = select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
    return list(db.session.scalars(query))


def compose(client, **fields: str):  # type: ignore[no-untyped-def]
    page = client.get("/admin/events/klein/messages").get_data(as_text=True)
    body = {"action": "preview", "audience": "", "subject": "", "body": ""} | fields
    return client.post("/admin/events/klein/messages", data={"csrf_token": csrf(page), **body})


def test_an_organiser_previews_the_count_and_sends_once(
    client, db, register, small_event, org, app
) -> None:
    people = [register(n, small_event["klein"]).registration for n in range(3)]
    register("other", small_event["groot"])
    people[2].unsubscribed_at = org.starts_at - timedelta(days=30)
    db.session.commit()
    login(client, "org@example.org")

    empty = compose(client, subject="", body="Iets")
    assert empty.status_code == 422 and 'id="subject-error"' in empty.get_data(as_text=True)

    preview = compose(
        client, audience=str(small_event["klein"]), subject="Andere zaal",
        body="De workshop is verplaatst naar zaal 2.\n\nTot donderdag!",
    )  # fmt: skip
    text = visible(preview.get_data(as_text=True))
    assert "Dit bericht gaat naar 2 personen." in text
    assert "1 persoon heeft zich afgemeld voor uw berichten" in text
    assert "Klein symposium: Andere zaal" in text and "verplaatst naar zaal 2" in text
    assert mails(db, "organiser_message") == []  # a preview sends nothing

    page = preview.get_data(as_text=True)
    key = re.search(r'name="key" value="([^"]+)"', page)[1]
    send = {
        "csrf_token": csrf(page), "action": "send", "audience": str(small_event["klein"]),
        "subject": "Andere zaal", "body": "De workshop is verplaatst naar zaal 2.", "key": key,
    }  # fmt: skip
    sent = client.post("/admin/events/klein/messages", data=send)
    assert sent.status_code == 303
    assert "onderweg naar 2 personen" in client.get(sent.headers["Location"]).get_data(True)
    again = client.post("/admin/events/klein/messages", data=send)  # a double click
    assert "niet nog eens verstuurd" in client.get(again.headers["Location"]).get_data(True)
    queued = mails(db, "organiser_message")
    assert sorted(m.to_address for m in queued) == [
        "deelnemer0@example.org", "deelnemer1@example.org",
    ]  # fmt: skip
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "message_sent"))
    assert entry.one().after == {"subject": "Andere zaal", "count": 2}


def test_bulk_mail_carries_one_click_unsubscribe_and_it_is_honoured(
    client, db, register, small_event, org, app
) -> None:
    person = register("anna", small_event["klein"]).registration
    login(client, "org@example.org")
    preview = compose(client, subject="Parkeren", body="Parkeer achter het gebouw.")
    page = preview.get_data(as_text=True)
    key = re.search(r'name="key" value="([^"]+)"', page)[1]
    client.post("/admin/events/klein/messages", data={
        "csrf_token": csrf(page), "action": "send", "audience": "", "subject": "Parkeren",
        "body": "Parkeer achter het gebouw.", "key": key,
    })  # fmt: skip
    [bulk] = mails(db, "organiser_message")
    render.render(db.session, bulk)
    [confirmation] = mails(db, "registered")
    render.render(db.session, confirmation)
    mime = delivery.build_message(bulk, SENDER)
    url = mime["List-Unsubscribe"].strip("<>")
    assert mime["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in bulk.body_text and "Parkeer achter het gebouw." in bulk.body_text
    assert "List-Unsubscribe" not in delivery.build_message(confirmation, SENDER)

    path = url.split("localhost", 1)[-1]
    anonymous = app.test_client()
    assert anonymous.get(path).status_code == 200  # opening the link asks; changes nothing
    db.session.expire_all()
    assert db.session.get(Registration, person.id).unsubscribed_at is None
    # The mail provider's one click: a POST without cookies or a form token.
    done = anonymous.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "geen berichten meer" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Registration, person.id).unsubscribed_at is not None
    assert anonymous.post(path).status_code == 200  # again: harmless
    forged = path[:-3] + "AAA"
    assert anonymous.post(forged).status_code == 404

    again = visible(compose(client, subject="Nog iets", body="Tekst.").get_data(as_text=True))
    assert "Dit bericht gaat naar 0 personen." in again and "Versturen naar" not in again


def test_a_reminder_goes_once_days_before_with_what_to_know(
    db, register, small_event, clock
) -> None:
    event = db.session.get(Event, small_event["event"])
    event.address = "Voorbeeldlaan 12, Utrecht"
    event.practical_info = "Neem uw toegangsbewijs mee. Parkeren kan achter het gebouw."
    db.session.commit()
    person = register("anna", small_event["klein"]).registration
    register("bert", small_event["klein"])

    clock.now = event.starts_at - timedelta(days=3)
    assert reminders.queue_due(db.session, clock.now) == 0
    clock.now = event.starts_at - timedelta(days=2)
    assert reminders.queue_due(db.session, clock.now) == 2
    assert reminders.queue_due(db.session, clock.now + timedelta(hours=1)) == 0  # once
    first = next(m for m in mails(db, "reminder") if m.registration_id == person.id)
    render.render(db.session, first)
    assert first.subject == "Tot binnenkort: Klein symposium"
    assert "Voorbeeldlaan 12, Utrecht" in first.body_text
    assert "https://www.openstreetmap.org/search?query=" in first.body_text
    assert "Parkeren kan achter het gebouw." in first.body_text
    assert "Kleine workshop" in first.body_text  # the person's programme
    assert first.qr_code == person.checkin_code  # the ticket comes along
    assert "List-Unsubscribe" not in delivery.build_message(first, SENDER)  # transactional


def test_no_reminder_when_the_organiser_chose_none(db, register, small_event, clock) -> None:
    event = db.session.get(Event, small_event["event"])
    assert event.reminder_days == 2  # the default, also for an event file without it
    event.reminder_days = 0
    db.session.commit()
    register("anna", small_event["klein"])
    clock.now = event.starts_at - timedelta(hours=5)
    assert reminders.queue_due(db.session, clock.now) == 0


def test_an_unsubscribe_token_names_its_registration_only(db, register, small_event) -> None:
    anna = register("anna", small_event["klein"]).registration
    bert = register("bert", small_event["klein"]).registration
    token = links.unsubscribe_token("test-secret", anna)
    assert links.find_by_unsubscribe_token(db.session, "test-secret", token) == anna
    swapped = f"{bert.id}.{token.split('.')[1]}"
    assert links.find_by_unsubscribe_token(db.session, "test-secret", swapped) is None
    assert links.find_by_unsubscribe_token(db.session, "other", token) is None


def test_a_message_queued_before_an_unsubscribe_is_not_sent(db, register, small_event, org) -> None:
    person = register("anna", small_event["klein"]).registration
    event = db.session.get(Event, small_event["event"])
    messages.send(db.session, None, event, "Eén", "Tekst.", None, "key-1", org.starts_at)
    db.session.commit()
    person = db.session.get(Registration, person.id)
    person.unsubscribed_at = org.starts_at
    db.session.commit()
    [queued] = mails(db, "organiser_message")
    with pytest.raises(render.NothingToSend):
        render.rendered(db.session, queued)


def test_malformed_unsubscribe_links_are_not_found(client, register, small_event) -> None:
    register("anna", small_event["klein"])
    for token in ("%C2%B2.x", "1.%C3%A9", "1", ".", "99999999999999999999.AAAA"):
        assert client.get(f"/r/unsubscribe/{token}").status_code == 404, token
        assert client.post(f"/r/unsubscribe/{token}").status_code == 404, token


def test_paragraphs_typed_in_a_browser_stay_paragraphs(db, register, small_event, org) -> None:
    register("anna", small_event["klein"])
    event = db.session.get(Event, small_event["event"])
    message, _ = messages.send(
        db.session, None, event, "Twee alinea's", "Eerste.\r\n\r\nTweede.", None, "k",
        org.starts_at,
    )  # fmt: skip
    assert message.body == "Eerste.\n\nTweede."
