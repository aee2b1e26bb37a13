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
    # One CANCEL per place: two places get their own messages, a single one rides along.
    first, second = mails(db, "event_cancelled")
    assert first.calendar is None and "geannuleerd" in first.body_text
    assert len(events_of(second.calendar)) == 1 and second.calendar_method == "CANCEL"
    own = mails(db, "invitation_cancelled")
    assert [m.to_address for m in own] == [first.to_address] * 2
    assert all(m.calendar_method == "CANCEL" for m in own)
    assert len({str(events_of(m.calendar)[0]["UID"]) for m in own}) == 2


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
    # The HTML is multipart/related with the ticket's QR image (tests/checkin/).
    assert kinds == ["text/plain", "multipart/related", "text/calendar"]
    assert [p.get_content_type() for p in alternative.get_payload()[1].get_payload()] == [
        "text/html",
        "image/png",
    ]
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


# --------------------------------------------------------------------------- several places

# SMALL_EVENT plus a workshop of its own and a weekly group: four places for one registrant.
WITH_GROUP = (
    SMALL_EVENT.replace("ends_at = 2027-02-04T17:00:00", "ends_at = 2027-03-05T17:00:00", 1)
    + """
[[sessions]]
key = "middag"
title = "Middagsessie"
starts_at = 2027-02-04T16:35:00
ends_at = 2027-02-04T17:00:00

[[sessions]]
key = "groep"
kind = "group"
title = "Vervolggroep"
room = "Zaal 4"
series = { first_starts_at = 2027-02-11T19:00:00, count = 4, duration_minutes = 90, \
interval_days = 7 }
"""
)


@pytest.fixture
def four_places(app, db, small_event, clock, tmp_path):  # type: ignore[no-untyped-def]
    """A registrant with three workshops and a group; their outbox read and emptied."""
    path = tmp_path / "groep.toml"
    path.write_text(WITH_GROUP)
    result = app.test_cli_runner().invoke(args=["load-event", str(path)])
    assert result.exit_code == 0, result.output
    keys = ("klein", "groot", "middag", "groep")
    ids = {s.key: s.id for s in db.session.get(Event, small_event["event"]).sessions}
    event = db.session.get(Event, small_event["event"])
    data = validation.RegistrationInput(**registration_data("four"), submission_key="k" * 20)
    data.sessions = [ids[k] for k in keys]
    outcome = lifecycle.register(db.session, event, data, clock.now, "test")
    db.session.commit()
    return outcome, data, ids


def uid_of(message: OutboxMessage) -> str:
    (uid,) = {str(v["UID"]) for v in events_of(message.calendar)}
    return uid


def test_several_places_get_one_invitation_each(app, db, client, four_places, clock, radicale):  # type: ignore[no-untyped-def]
    outcome, data, ids = four_places
    registration = outcome.registration
    (confirmation,) = mails(db, "registered")
    assert confirmation.calendar is None and confirmation.calendar_method is None
    # The plain confirmation still says everything, the group's four dates included.
    for title in ("Kleine workshop", "Grote workshop", "Middagsessie", "Vervolggroep"):
        assert title in confirmation.body_text
    for day in ("11 februari 2027", "18 februari 2027", "25 februari 2027", "4 maart 2027"):
        assert day in confirmation.body_text

    invitations = mails(db, "invitation")
    assert [m.calendar_method for m in invitations] == ["REQUEST"] * 4
    expected = [
        f"r{registration.id}-s{ids[k]}@symposium.localhost"
        for k in ("klein", "groot", "middag", "groep")
    ]
    assert sorted(uid_of(m) for m in invitations) == sorted(expected)
    group = next(m for m in invitations if uid_of(m) == expected[-1])
    (series,) = events_of(group.calendar)
    assert series["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=4;INTERVAL=1;BYDAY=TH"
    assert "Vervolggroep" in group.subject and "4 maart 2027" in group.body_text

    for message in invitations:
        # Each is a calendar object a CalDAV server files, and one iTIP part per mail.
        assert radicale.store(message.calendar.encode()) == []
        status, stored = radicale.get(uid_of(message))
        assert status == 200 and uid_of(message) in stored and "METHOD" not in stored
        mime = delivery.build_message(message, "Symposium <noreply@symposium.localhost>")
        parts = [p for p in mime.walk() if p.get_content_type() == "text/calendar"]
        assert len(parts) == 2  # inline and invite.ics: the same object
        assert {base64.b64decode(p.get_payload()) for p in parts} == {message.calendar.encode()}

    # The registrant's download (and feed: the same body) has the same UIDs, the group one.
    feed = Calendar.from_ical(client.get(f"/r/{outcome.token}/calendar.ics").data)
    feed_uids = [str(v["UID"]) for v in feed.walk("VEVENT")]
    opening = f"r{registration.id}-s{ids['opening']}@symposium.localhost"
    assert sorted(set(feed_uids)) == sorted([*expected, opening])
    assert [v["RRULE"].to_ical() for v in feed.walk("VEVENT") if "RRULE" in v] == [
        series["RRULE"].to_ical()
    ]

    # A double submit of the same form sends nothing again.
    event = db.session.get(Event, registration.event_id)
    again = lifecycle.register(db.session, event, data, clock.now, "test")
    db.session.commit()
    assert again.resubmitted and len(mails(db, "invitation")) == 4


def test_moved_meeting_and_cancellation_are_filed(app, db, four_places, clock, radicale):  # type: ignore[no-untyped-def]
    outcome, _, ids = four_places
    registration = outcome.registration
    invitation = next(m for m in mails(db, "invitation") if f"-s{ids['groep']}@" in uid_of(m))
    assert radicale.store(invitation.calendar.encode()) == []

    # The organiser moves the group's second meeting a day on: an update with one override.
    group = db.session.get(Event, registration.event_id).sessions
    group = next(s for s in group if s.key == "groep")
    second = group.meetings[1]
    planned = second.starts_at
    second.starts_at += timedelta(days=1)
    second.ends_at += timedelta(days=1)
    clock.now += timedelta(hours=1)
    assert lifecycle.sessions_rescheduled(db.session, [group.id], clock.now) == 1
    db.session.commit()
    (update,) = mails(db, "session_changed")
    master, override = events_of(update.calendar)
    assert {str(master["UID"]), str(override["UID"])} == {uid_of(invitation)}
    assert master["SEQUENCE"] == override["SEQUENCE"] == 1
    assert override["RECURRENCE-ID"].dt == planned and second.starts_at == override.DTSTART
    assert radicale.store(update.calendar.encode()) == []
    status, stored = radicale.get(uid_of(invitation))
    assert status == 200 and "RECURRENCE-ID" in stored

    # Cancelling the registration withdraws each place by its own CANCEL.
    lifecycle.cancel_registration(db.session, registration, clock.now)
    db.session.commit()
    (notice,) = mails(db, "registration_cancelled")
    assert notice.calendar is None
    cancels = mails(db, "invitation_cancelled")
    assert [m.calendar_method for m in cancels] == ["CANCEL"] * 4
    assert {uid_of(m) for m in cancels} == {uid_of(m) for m in mails(db, "invitation")}
    for message in cancels:
        (vevent,) = events_of(message.calendar)
        assert str(vevent["STATUS"]) == "CANCELLED"
        assert radicale.store(message.calendar.encode()) == []
    group_cancel = next(m for m in cancels if uid_of(m) == uid_of(invitation))
    assert events_of(group_cancel.calendar)[0]["SEQUENCE"] == 2


def test_radicale_refuses_several_uids_in_one_object(radicale) -> None:  # type: ignore[no-untyped-def]
    """The check is real: the old multi-UID invitation is what the server turns down."""
    event = (
        "BEGIN:VEVENT\r\nUID:{}\r\nDTSTAMP:20270101T000000Z\r\n"
        "DTSTART:20270204T120000Z\r\nEND:VEVENT\r\n"
    )
    two = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//NL\r\nMETHOD:REQUEST\r\n"
        + event.format("a@t")
        + event.format("b@t")
        + "END:VCALENDAR\r\n"
    ).encode()
    (problem,) = radicale.store(two)
    assert "Multiple VEVENT components with different UIDs" in problem


def test_a_place_without_times_gets_no_invitation_and_breaks_nothing(
    app, db, small_event, clock
) -> None:
    """An organiser may clear a session's times (no round): its place then has nothing to
    put on a calendar. Its mail goes without one; the timed place keeps its invitation."""
    from symposium.models import OutboxStatus, Session

    untimed = db.session.get(Session, small_event["klein"])
    untimed.round = None
    untimed.starts_at = untimed.ends_at = None
    db.session.commit()
    me = register(db, small_event, clock, "me", "klein", "groot").registration
    (mail,) = mails(db, "registered")
    assert [str(e["UID"]) for e in events_of(mail.calendar)] == [
        f"r{me.id}-s{small_event['groot']}@symposium.localhost"
    ]
    assert mails(db, "invitation") == []
    # A place queued with times that lost them before it was sent: no calendar, no failure.
    lifecycle.cancel_registration(db.session, me, clock.now)
    db.session.commit()
    groot = db.session.get(Session, small_event["groot"])
    groot.round = None
    groot.starts_at = groot.ends_at = None
    db.session.commit()
    (cancelled,) = mails(db, "registration_cancelled")
    assert cancelled.calendar is None and cancelled.status is OutboxStatus.QUEUED
