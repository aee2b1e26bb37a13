"""Calendar invitations as they travel: in the outbox, over SMTP, and as downloads."""

import base64
import email
import re
from datetime import timedelta
from email import policy

import pytest
from icalendar import Calendar
from sqlalchemy import select

from symposium.models import Event, OutboxMessage, Registration
from symposium.services.mail import delivery, render
from symposium.services.registration import lifecycle, validation
from tests.conftest import SMALL_EVENT, registration_data
from tests.mail.test_delivery import Recorder, free_port
from tests.programme import ical_check


def register(db, small_event, clock, n, *keys):  # type: ignore[no-untyped-def]
    event = db.session.get(Event, small_event["event"])
    data = validation.RegistrationInput(**registration_data(n))
    data.sessions = [small_event[k] for k in keys]
    outcome = lifecycle.register(db.session, event, data, clock.now, "test")
    db.session.commit()
    return outcome


def mails(db, kind: str) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    render.render_pending(db.session)  # written when sent; write them now to read them
    return db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
    ).all()


def events_of(ical: str) -> list:  # type: ignore[type-arg]
    assert ical_check.errors(ical) == [], ical
    return Calendar.from_ical(ical).walk("VEVENT")


def test_confirmation_invites_confirmed_places_only(app, db, small_event, clock) -> None:
    register(db, small_event, clock, "holder", "ook-r2")  # takes the single place
    me = register(db, small_event, clock, "me", "klein", "ook-r2").registration
    (mail,) = [m for m in mails(db, "registered") if m.to_address.startswith("deelnemerme")]
    assert mail.calendar_method == "REQUEST"
    (vevent,) = events_of(mail.calendar)  # the waitlisted workshop gets no invitation
    assert str(vevent["UID"]) == f"r{me.id}-s{small_event['klein']}@symposium.localhost"
    assert vevent["SEQUENCE"] == 0
    assert str(vevent["ORGANIZER"]) == "mailto:noreply@symposium.localhost"
    assert str(vevent["ATTENDEE"]) == "mailto:deelnemerme@example.org"
    assert vevent["DTSTART"].params["TZID"] == "Europe/Amsterdam"
    assert vevent["DTSTART"].dt.hour == 13  # 13:00 in Amsterdam (12:00 UTC)


def test_cancel_and_promotion_follow_with_the_same_uid(app, db, small_event, clock) -> None:
    holder = register(db, small_event, clock, "holder", "ook-r2").registration
    waiting = register(db, small_event, clock, "waiting", "ook-r2").registration
    held = next(e for e in holder.enrolments if e.is_live)
    lifecycle.cancel_enrolment(db.session, holder, held.id, clock.now)
    db.session.commit()

    (cancel,) = mails(db, "enrolment_cancelled")
    assert cancel.calendar_method == "CANCEL"
    (vevent,) = events_of(cancel.calendar)
    assert str(vevent["UID"]) == f"r{holder.id}-s{small_event['ook-r2']}@symposium.localhost"
    assert (vevent["SEQUENCE"], str(vevent["STATUS"])) == (1, "CANCELLED")

    (promoted,) = mails(db, "promoted")
    assert promoted.to_address == waiting.email and promoted.calendar_method == "REQUEST"
    (vevent,) = events_of(promoted.calendar)
    assert str(vevent["UID"]) == f"r{waiting.id}-s{small_event['ook-r2']}@symposium.localhost"

    # Enrolling again in the same session continues the SEQUENCE of the same UID.
    lifecycle.change_session(db.session, holder, small_event["groot"], clock.now)
    db.session.commit()
    lifecycle.cancel_registration(db.session, waiting, clock.now)
    db.session.commit()
    lifecycle.change_session(db.session, holder, small_event["ook-r2"], clock.now)
    db.session.commit()
    changed = mails(db, "changed")[-1]
    (vevent,) = events_of(changed.calendar)
    assert str(vevent["UID"]).startswith(f"r{holder.id}-s{small_event['ook-r2']}@")
    assert vevent["SEQUENCE"] == 2
    (released,) = mails(db, "calendar_cancelled")
    assert events_of(released.calendar)[0]["STATUS"] == "CANCELLED"


def test_moving_a_session_sends_updates_across_dst(app, db, small_event, clock, tmp_path):
    me = register(db, small_event, clock, "me", "groot").registration
    other = register(db, small_event, clock, "other", "klein").registration  # round 1: untouched
    # The organiser moves round 2 to the last Sunday of October, after the clocks go back.
    moved = SMALL_EVENT.replace(
        "starts_at = 2027-02-04T15:00:00\nends_at = 2027-02-04T16:30:00",
        "starts_at = 2027-10-31T15:00:00\nends_at = 2027-10-31T16:30:00",
    ).replace("ends_at = 2027-02-04T17:00:00", "ends_at = 2027-10-31T17:00:00")
    path = tmp_path / "klein.toml"
    path.write_text(moved)
    result = app.test_cli_runner().invoke(args=["load-event", str(path)])
    assert result.exit_code == 0, result.output
    assert "calendar updates queued 1" in result.output

    (update,) = mails(db, "session_changed")
    assert update.to_address == me.email and update.calendar_method == "REQUEST"
    (vevent,) = events_of(update.calendar)
    assert str(vevent["UID"]) == f"r{me.id}-s{small_event['groot']}@symposium.localhost"
    assert vevent["SEQUENCE"] == 1
    assert vevent["DTSTAMP"].dt == clock.now
    start = vevent["DTSTART"].dt
    assert (start.hour, start.minute) == (15, 0)  # local wall time
    assert start.utcoffset() == timedelta(hours=1)  # CET: 14:00 UTC
    assert "16:30" in update.body_text and "31 oktober 2027" in update.body_text
    assert not [m for m in mails(db, "session_changed") if m.to_address == other.email]

    # Reloading the same file again changes nothing and sends nothing.
    result = app.test_cli_runner().invoke(args=["load-event", str(path)])
    assert result.output.strip() == "klein: no changes"
    assert len(mails(db, "session_changed")) == 1


def test_cancelling_the_event_withdraws_every_invitation(app, db, small_event, clock, tmp_path):
    register(db, small_event, clock, 1, "klein", "groot")
    register(db, small_event, clock, 2, "klein")
    path = tmp_path / "klein.toml"
    path.write_text(SMALL_EVENT.replace('status = "published"', 'status = "cancelled"'))
    result = app.test_cli_runner().invoke(args=["load-event", str(path)])
    assert "cancellation notices queued 2" in result.output
    notices = mails(db, "event_cancelled")
    assert [len(events_of(m.calendar)) for m in notices] == [2, 1]
    assert all(m.calendar_method == "CANCEL" for m in notices)


@pytest.fixture
def smtp_server():  # type: ignore[no-untyped-def]
    from aiosmtpd.controller import Controller

    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield recorder, controller.port
    controller.stop()


def test_invitation_mime_on_the_wire(app, db, small_event, clock, smtp_server) -> None:
    recorder, port = smtp_server
    register(db, small_event, clock, "me", "klein")
    config = {**app.config, "MAIL_BACKEND": "smtp", "MAIL_PORT": port}
    backend = delivery.backend_for(config, app.instance_path)
    assert delivery.drain(db.session, backend, config, clock).sent == 1
    (raw,) = recorder.received
    assert b"\n" not in raw.replace(b"\r\n", b""), "CRLF line endings on the wire"
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in alternative.get_payload()]
    assert kinds == ["text/plain", "text/html", "text/calendar"]
    inline = alternative.get_payload()[2]
    assert inline.get_param("method") == "REQUEST" and inline.get_param("charset") == "UTF-8"
    assert inline["Content-Disposition"] is None
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "invite.ics"
    for part in (inline, attachment):
        ical = base64.b64decode(part.get_payload())
        assert ical_check.line_errors(ical) == []  # CRLF and 75-octet folding
        assert ical_check.errors(ical) == []
        assert re.search(rb"^METHOD:REQUEST\r$", ical, re.M)
    assert "noreply@symposium.localhost" in message["From"]


def test_downloads_and_feed(app, db, client, small_event, clock) -> None:
    outcome = register(db, small_event, clock, "me", "klein")
    token = outcome.token
    response = client.get(f"/r/{token}/calendar.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    cal = Calendar.from_ical(response.data)
    assert str(cal["METHOD"]) == "PUBLISH"
    assert ical_check.errors(response.data) == []
    titles = sorted(str(v["SUMMARY"]).split(" – ")[0] for v in cal.walk("VEVENT"))
    assert titles == ["Kleine workshop", "Opening"]  # the plenary is in the programme too
    assert all("ATTENDEE" not in v for v in cal.walk("VEVENT"))

    page = client.get(f"/r/{token}").get_data(as_text=True)
    feed = re.search(r"<code>http://localhost(/feeds/[^<]+\.ics)</code>", page)[1]
    assert 'href="webcal://localhost/feeds/' in page
    assert client.get(feed).data == response.data
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    client.post(f"/r/{token}/feed/renew", data={"csrf_token": csrf})
    assert client.get(feed).status_code == 404  # the old address is revoked

    for url in ("/events/klein/calendar.ics", f"/events/klein/sessions/{small_event['klein']}.ics"):
        response = client.get(url)
        assert response.status_code == 200
        assert ical_check.errors(response.data) == []
        assert str(Calendar.from_ical(response.data)["METHOD"]) == "PUBLISH"
    registration = db.session.get(Registration, outcome.registration.id)
    assert registration.feed_token_hash not in page


def test_waitlisted_registrant_gets_no_invitation(app, db, small_event, clock) -> None:
    register(db, small_event, clock, "holder", "ook-r2")
    late = register(db, small_event, clock, "late", "ook-r2").registration
    assert [e.waitlist_position for e in late.enrolments] == [1]
    (mail,) = [m for m in mails(db, "registered") if m.to_address == late.email]
    assert mail.calendar is None and mail.calendar_method is None
