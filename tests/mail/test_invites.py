"""Calendar invitations as they travel: in the outbox, over SMTP, and as downloads."""

import base64
import email
import re
from datetime import timedelta
from email import policy

import pytest
from icalendar import Calendar
from sqlalchemy import select

from symposium.models import Event, OutboxMessage, OutboxStatus, Registration, Session
from symposium.services.mail import delivery, outbox, render
from symposium.services.registration import lifecycle, validation
from tests.conftest import SMALL_EVENT, registration_data
from tests.mail.test_delivery import Recorder, free_port
from tests.programme import ical_check
from tests.programme.test_calendar import expand


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


def test_confirmation_invites_to_the_whole_day(app, db, small_event, clock) -> None:
    """Issue 16 point 8: the plenary opening and the start of the day are in the invitation,
    the waitlisted workshop is not."""
    register(db, small_event, clock, "holder", "ook-r2")  # takes the single place
    me = register(db, small_event, clock, "me", "klein", "ook-r2").registration
    (mail,) = [m for m in mails(db, "registered") if m.to_address.startswith("deelnemerme")]
    assert mail.calendar_method == "REQUEST"
    (vevent,) = events_of(mail.calendar)
    assert str(vevent["UID"]) == f"r{me.id}@symposium.localhost"
    assert vevent["SEQUENCE"] == 0
    assert str(vevent["ORGANIZER"]) == "mailto:noreply@symposium.localhost"
    assert vevent["ORGANIZER"].params["CN"] == "Testorganisatie"
    assert str(vevent["ATTENDEE"]) == "mailto:deelnemerme@example.org"
    assert vevent["DTSTART"].params["TZID"] == "Europe/Amsterdam"
    # From the event's start (09:00, before the opening at 09:30) to the end of the workshop.
    assert (vevent.DTSTART.hour, vevent.DTEND.hour, vevent.DTEND.minute) == (9, 14, 30)
    description = str(vevent["DESCRIPTION"])
    assert "09:30–10:30 Opening" in description
    assert "13:00–14:30 Kleine workshop" in description
    assert "Andere workshop" not in description  # on the waiting list: not on the calendar


def test_cancel_and_promotion_follow_with_the_same_uid(app, db, small_event, clock) -> None:
    holder = register(db, small_event, clock, "holder", "ook-r2").registration
    waiting = register(db, small_event, clock, "waiting", "ook-r2").registration
    held = next(e for e in holder.enrolments if e.is_live)
    lifecycle.cancel_enrolment(db.session, holder, held.id, clock.now)
    db.session.commit()

    # Giving up the workshop updates the one invitation: the opening stays, the workshop goes.
    (cancel,) = mails(db, "enrolment_cancelled")
    assert cancel.calendar_method == "REQUEST"
    (vevent,) = events_of(cancel.calendar)
    assert str(vevent["UID"]) == f"r{holder.id}@symposium.localhost"
    assert vevent["SEQUENCE"] == 1
    assert "Andere workshop" not in str(vevent["DESCRIPTION"])

    (promoted,) = mails(db, "promoted")
    assert promoted.to_address == waiting.email and promoted.calendar_method == "REQUEST"
    (vevent,) = events_of(promoted.calendar)
    assert str(vevent["UID"]) == f"r{waiting.id}@symposium.localhost"
    assert vevent["SEQUENCE"] == 1  # their confirmation carried 0
    assert "Andere workshop ronde 2" in str(vevent["DESCRIPTION"])

    # Every later change goes on with the same UID and the next SEQUENCE.
    lifecycle.change_session(db.session, holder, small_event["groot"], clock.now)
    db.session.commit()
    lifecycle.cancel_registration(db.session, waiting, clock.now)
    db.session.commit()
    lifecycle.change_session(db.session, holder, small_event["ook-r2"], clock.now)
    db.session.commit()
    added, switched = mails(db, "changed")
    assert [events_of(m.calendar)[0]["SEQUENCE"] for m in (added, switched)] == [2, 3]
    (vevent,) = events_of(switched.calendar)
    assert str(vevent["UID"]) == f"r{holder.id}@symposium.localhost"
    assert "Andere workshop ronde 2" in str(vevent["DESCRIPTION"])
    assert "Grote workshop" not in str(vevent["DESCRIPTION"])  # left: gone with the update
    assert mails(db, "calendar_cancelled") == []
    (withdrawn,) = mails(db, "registration_cancelled")
    assert withdrawn.calendar_method == "CANCEL"
    assert events_of(withdrawn.calendar)[0]["SEQUENCE"] == 2


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
    # Two days now (the opening in February, the workshop in October): one series.
    master, october = events_of(update.calendar)
    uid = f"r{me.id}@symposium.localhost"
    assert {str(master["UID"]), str(october["UID"])} == {uid}
    assert master["SEQUENCE"] == october["SEQUENCE"] == 1
    assert master["DTSTAMP"].dt == clock.now
    assert master["RRULE"]["COUNT"] == [2]
    assert october["RECURRENCE-ID"].dt.date() == october.DTSTART.date()  # on its own day
    start = october["DTSTART"].dt
    assert (start.day, start.hour, start.minute) == (31, 15, 0)  # local wall time
    assert start.utcoffset() == timedelta(hours=1)  # CET: 14:00 UTC
    assert expand(Calendar.from_ical(update.calendar), uid)[1][0] == start
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
    # One mail each, its one CANCEL withdrawing their whole invitation, however many places.
    first, second = mails(db, "event_cancelled")
    assert "geannuleerd" in first.body_text
    for notice in (first, second):
        (vevent,) = events_of(notice.calendar)
        assert notice.calendar_method == "CANCEL" and str(vevent["STATUS"]) == "CANCELLED"
        assert vevent["SEQUENCE"] == 1 and "RECURRENCE-ID" not in vevent
    assert mails(db, "invitation_cancelled") == []


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
    # The organiser's name at our own address (DMARC), answers to the organiser.
    assert message["From"] == "Testorganisatie <noreply@symposium.localhost>"
    assert message["Reply-To"] == "info@example.org"
    assert message["Auto-Submitted"] == "auto-generated"


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


def test_a_waiting_list_alone_is_invited_to_the_plenary_session(app, db, small_event, clock):
    register(db, small_event, clock, "holder", "ook-r2")
    late = register(db, small_event, clock, "late", "ook-r2").registration
    assert [e.waitlist_position for e in late.enrolments] == [1]
    (mail,) = [m for m in mails(db, "registered") if m.to_address == late.email]
    (vevent,) = events_of(mail.calendar)
    assert "Opening" in str(vevent["DESCRIPTION"])
    assert "Andere workshop" not in str(vevent["DESCRIPTION"])


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


def test_several_places_are_one_invitation_in_one_mail(
    app, db, client, four_places, clock, radicale
):  # type: ignore[no-untyped-def]
    outcome, data, ids = four_places
    registration = outcome.registration
    (confirmation,) = mails(db, "registered")
    assert mails(db, "invitation") == []  # one change, one mail
    # The text says everything, the group's four dates included.
    for title in ("Kleine workshop", "Grote workshop", "Middagsessie", "Vervolggroep", "Opening"):
        assert title in confirmation.body_text
    for day in ("11 februari 2027", "18 februari 2027", "25 februari 2027", "4 maart 2027"):
        assert day in confirmation.body_text

    # Its one calendar: the symposium day and the group's evenings, one UID.
    uid = f"r{registration.id}@symposium.localhost"
    assert uid_of(confirmation) == uid and confirmation.calendar_method == "REQUEST"
    cal = Calendar.from_ical(confirmation.calendar)
    master = next(v for v in cal.walk("VEVENT") if "RECURRENCE-ID" not in v)
    assert master["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=5;INTERVAL=1;BYDAY=TH"
    days = expand(cal, uid)
    assert [(s.day, s.hour, e.hour, e.minute) for s, e in days] == [
        (4, 9, 17, 0), (11, 19, 20, 30), (18, 19, 20, 30), (25, 19, 20, 30), (4, 19, 20, 30),
    ]  # fmt: skip
    description = str(master["DESCRIPTION"])
    for line in ("09:30–10:30 Opening", "13:00–14:30 Kleine workshop",
                 "15:00–16:30 Grote workshop", "16:35–17:00 Middagsessie"):  # fmt: skip
        assert line in description

    # A calendar object a CalDAV server files, and one iTIP part (inline and invite.ics).
    assert radicale.store(confirmation.calendar.encode()) == []
    status, stored = radicale.get(uid)
    assert status == 200 and uid in stored and "METHOD" not in stored
    mime = delivery.build_message(confirmation, "Symposium <noreply@symposium.localhost>")
    parts = [p for p in mime.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 2
    assert {base64.b64decode(p.get_payload()) for p in parts} == {confirmation.calendar.encode()}

    # The download and feed keep one UID per session: a schedule, not an invitation.
    feed = Calendar.from_ical(client.get(f"/r/{outcome.token}/calendar.ics").data)
    feed_uids = {str(v["UID"]) for v in feed.walk("VEVENT")}
    assert feed_uids == {
        f"r{registration.id}-s{ids[k]}@symposium.localhost"
        for k in ("opening", "klein", "groot", "middag", "groep")
    }

    # A double submit of the same form sends nothing again.
    event = db.session.get(Event, registration.event_id)
    again = lifecycle.register(db.session, event, data, clock.now, "test")
    db.session.commit()
    assert again.resubmitted and len(mails(db, "registered")) == 1


def test_moved_meeting_and_cancellation_are_filed(app, db, four_places, clock, radicale):  # type: ignore[no-untyped-def]
    outcome, _, _ = four_places
    registration = outcome.registration
    (confirmation,) = mails(db, "registered")
    uid = uid_of(confirmation)
    assert radicale.store(confirmation.calendar.encode()) == []

    # The organiser moves the group's second meeting a day on: one update, days kept apart.
    group = db.session.get(Event, registration.event_id).sessions
    group = next(s for s in group if s.key == "groep")
    second = group.meetings[1]
    second.starts_at += timedelta(days=1)
    second.ends_at += timedelta(days=1)
    clock.now += timedelta(hours=1)
    assert lifecycle.sessions_rescheduled(db.session, [group.id], clock.now) == 1
    db.session.commit()
    (update,) = mails(db, "session_changed")
    vevents = events_of(update.calendar)
    assert {str(v["UID"]) for v in vevents} == {uid}
    assert {v["SEQUENCE"] for v in vevents} == {1}
    master = next(v for v in vevents if "RECURRENCE-ID" not in v)
    assert "EXDATE" in master  # daily now: the days between are skipped, none moved
    moved = next(v for v in vevents if v.DTSTART.day == 19)
    assert moved["RECURRENCE-ID"].dt.date() == second.starts_at.date()
    assert radicale.store(update.calendar.encode()) == []
    status, stored = radicale.get(uid)
    assert status == 200 and "RECURRENCE-ID" in stored and "EXDATE" in stored

    # Cancelling the registration withdraws the whole invitation: one CANCEL in one mail.
    lifecycle.cancel_registration(db.session, registration, clock.now)
    db.session.commit()
    (notice,) = mails(db, "registration_cancelled")
    assert mails(db, "invitation_cancelled") == []
    (vevent,) = events_of(notice.calendar)
    assert (str(vevent["UID"]), vevent["SEQUENCE"]) == (uid, 2)
    assert str(vevent["STATUS"]) == "CANCELLED" and "RECURRENCE-ID" not in vevent
    assert radicale.store(notice.calendar.encode()) == []
    status, stored = radicale.get(uid)
    assert status == 200 and "STATUS:CANCELLED" in stored  # the server keeps it cancelled


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
    untimed = db.session.get(Session, small_event["klein"])
    untimed.round = None
    untimed.starts_at = untimed.ends_at = None
    db.session.commit()
    me = register(db, small_event, clock, "me", "klein", "groot").registration
    (mail,) = mails(db, "registered")
    (vevent,) = events_of(mail.calendar)
    assert str(vevent["UID"]) == f"r{me.id}@symposium.localhost"
    assert "Grote workshop" in str(vevent["DESCRIPTION"])
    assert "Kleine workshop" not in str(vevent["DESCRIPTION"])
    # Times that are gone before the CANCEL is written: it still names the UID, no failure.
    lifecycle.cancel_registration(db.session, me, clock.now)
    db.session.commit()
    for session in db.session.get(Event, small_event["event"]).sessions:
        session.round = None
        session.starts_at = session.ends_at = None
    db.session.commit()
    (cancelled,) = mails(db, "registration_cancelled")
    assert cancelled.calendar_method == "CANCEL" and cancelled.status is OutboxStatus.QUEUED
    assert events_of(cancelled.calendar)[0]["DTSTART"].to_ical() == b"20270204T090000"


def test_nothing_left_with_times_withdraws_the_invitation(app, db, small_event, clock) -> None:
    """A REQUEST with nothing to put on a calendar becomes a CANCEL of the invitation sent
    before; never sent one, there is no calendar at all."""
    opening = db.session.get(Session, small_event["opening"])
    opening.starts_at = opening.ends_at = None  # no plenary session with times
    db.session.commit()
    me = register(db, small_event, clock, "me", "klein").registration
    nothing = register(db, small_event, clock, "nothing").registration
    place = next(e for e in me.enrolments if e.is_live)
    lifecycle.cancel_enrolment(db.session, me, place.id, clock.now)
    db.session.commit()
    (left,) = mails(db, "enrolment_cancelled")
    assert left.calendar_method == "CANCEL"
    (vevent,) = events_of(left.calendar)
    assert (str(vevent["UID"]), vevent["SEQUENCE"]) == (f"r{me.id}@symposium.localhost", 1)
    (empty,) = [m for m in mails(db, "registered") if m.to_address == nothing.email]
    assert empty.calendar is None and empty.calendar_method is None


# --------------------------------------------------------------------------- one change, one mail


def outbox_rows(db) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    render.render_pending(db.session)
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_switch_is_one_mail_whose_invitation_replaces_the_old_place(  # type: ignore[no-untyped-def]
    app, db, small_event, clock, radicale
) -> None:
    """Issue 16 point 7: the switch was two mails (the new place's REQUEST, the old one's
    CANCEL); one UID for the whole day makes it one, and the server keeps only the new."""
    me = register(db, small_event, clock, "me", "groot").registration
    (confirmation,) = outbox_rows(db)
    assert radicale.store(confirmation.calendar.encode()) == []

    lifecycle.change_session(db.session, me, small_event["ook-r2"], clock.now)
    db.session.commit()
    (switch,) = outbox_rows(db)[1:]  # exactly one message
    assert switch.kind == "changed" and switch.calendar_method == "REQUEST"
    assert "Andere workshop ronde 2" in switch.body_text and "Grote workshop" in switch.body_text
    (vevent,) = events_of(switch.calendar)
    assert str(vevent["UID"]) == uid_of(confirmation) and vevent["SEQUENCE"] == 1
    description = str(vevent["DESCRIPTION"])
    assert "Andere workshop ronde 2" in description and "Grote workshop" not in description
    assert "Opening" in description  # the plenary session stays
    assert radicale.store(switch.calendar.encode()) == []
    status, stored = radicale.get(uid_of(confirmation))
    stored = stored.replace("\r\n ", "")
    assert status == 200 and "SEQUENCE:1" in stored
    assert "Andere workshop ronde 2" in stored and "Grote workshop" not in stored


def test_a_switch_to_a_waiting_list_is_one_mail_and_leaves_the_calendar(
    app, db, small_event, clock
) -> None:
    register(db, small_event, clock, "holder", "ook-r2")
    me = register(db, small_event, clock, "me", "groot").registration
    before = len(outbox_rows(db))
    lifecycle.change_session(db.session, me, small_event["ook-r2"], clock.now)
    db.session.commit()
    (switch,) = outbox_rows(db)[before:]
    assert switch.kind == "changed" and switch.calendar is None  # groot is kept meanwhile
    assert "wachtlijst op plaats 1" in switch.body_text
    assert db.session.get(Registration, me.id).ical_sequence == 1  # nothing taken


def test_a_promoted_switch_is_one_mail(app, db, small_event, clock) -> None:
    """A waiting switch that gets its place releases the old one: still one mail."""
    holder = register(db, small_event, clock, "holder", "ook-r2").registration
    me = register(db, small_event, clock, "me", "groot").registration
    lifecycle.change_session(db.session, me, small_event["ook-r2"], clock.now)
    db.session.commit()
    before = len(outbox_rows(db))
    lifecycle.cancel_registration(db.session, holder, clock.now)
    db.session.commit()
    mine = [m for m in outbox_rows(db)[before:] if m.to_address == me.email]
    (promoted,) = mine
    assert promoted.kind == "promoted" and promoted.calendar_method == "REQUEST"
    assert "Your earlier choice" in promoted.body_text or "eerdere keuze" in promoted.body_text
    programme = promoted.body_text.split("\n\n")[3]  # the places as they are now
    assert "Andere workshop ronde 2" in programme and "Grote workshop" not in programme
    (vevent,) = events_of(promoted.calendar)
    assert vevent["SEQUENCE"] == 1  # registered 0; the waiting switch carried no calendar
    assert "Grote workshop" not in str(vevent["DESCRIPTION"])


def test_a_moved_plenary_session_updates_everyone(app, db, small_event, clock) -> None:
    """Everyone attends it, so everyone's invitation holds it: each gets its update."""
    first = register(db, small_event, clock, 1, "klein").registration
    second = register(db, small_event, clock, 2).registration
    gone = register(db, small_event, clock, 3).registration
    lifecycle.cancel_registration(db.session, gone, clock.now)
    opening = db.session.get(Session, small_event["opening"])
    opening.starts_at += timedelta(minutes=30)
    opening.ends_at += timedelta(minutes=30)
    assert (
        lifecycle.sessions_rescheduled(db.session, [opening.id, small_event["klein"]], clock.now)
        == 2
    )
    db.session.commit()
    updates = mails(db, "session_changed")
    assert [m.to_address for m in updates] == [first.email, second.email]
    for update in updates:
        (vevent,) = events_of(update.calendar)
        assert "10:00–11:00 Opening" in str(vevent["DESCRIPTION"]) and vevent["SEQUENCE"] == 1
    # Two of the first one's sessions moved: one mail naming both.
    assert "Opening" in updates[0].body_text and "Kleine workshop" in updates[0].body_text
    assert updates[0].subject == "Uw programma voor Klein symposium is gewijzigd"
    assert "Kleine workshop" not in updates[1].body_text


def test_a_cancelled_plenary_session_leaves_everyones_invitation(app, db, small_event, clock):
    first = register(db, small_event, clock, 1, "klein").registration
    second = register(db, small_event, clock, 2).registration
    opening = db.session.get(Session, small_event["opening"])
    assert lifecycle.cancel_session(db.session, None, opening, clock.now) == 2
    db.session.commit()
    notices = mails(db, "session_cancelled")
    assert [m.to_address for m in notices] == [first.email, second.email]
    (vevent,) = events_of(notices[0].calendar)
    assert "Opening" not in str(vevent["DESCRIPTION"])
    assert "Kleine workshop" in str(vevent["DESCRIPTION"]) and vevent["SEQUENCE"] == 1
    # Nothing with times left for the second: their invitation is withdrawn.
    assert notices[1].calendar_method == "CANCEL"


def test_a_message_queued_before_one_uid_still_gets_its_one_place_calendar(
    app, db, small_event, clock
) -> None:
    """Rows queued by the earlier release (one UID per place) are written as they were."""
    me = register(db, small_event, clock, "me", "klein").registration
    place = next(e for e in me.enrolments if e.is_live)
    outbox.queue(db.session, me, "invitation", clock.now, enrolment=place)
    db.session.commit()
    row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "invitation")).one()
    row.render_context = {
        **row.render_context,
        "invite": {"method": "REQUEST", "sequences": {str(place.id): 0}},
    }
    db.session.commit()
    (written,) = mails(db, "invitation")
    (vevent,) = events_of(written.calendar)
    assert str(vevent["UID"]) == f"r{me.id}-s{small_event['klein']}@symposium.localhost"
    assert written.calendar_method == "REQUEST"


def test_a_cancelled_registration_withdraws_the_plenary_session_too(  # type: ignore[no-untyped-def]
    app, db, small_event, clock, radicale
) -> None:
    """Issue 16 point 8: the plenary opening was on their calendar with their workshop; the
    cancellation takes both off, by one CANCEL of the same UID."""
    me = register(db, small_event, clock, "me", "klein").registration
    (confirmation,) = mails(db, "registered")
    assert "09:30–10:30 Opening" in str(events_of(confirmation.calendar)[0]["DESCRIPTION"])
    assert radicale.store(confirmation.calendar.encode()) == []
    lifecycle.cancel_registration(db.session, me, clock.now)
    db.session.commit()
    (notice,) = mails(db, "registration_cancelled")
    (cancel,) = events_of(notice.calendar)
    assert notice.calendar_method == "CANCEL" and uid_of(notice) == uid_of(confirmation)
    assert (cancel["SEQUENCE"], str(cancel["STATUS"])) == (1, "CANCELLED")
    assert radicale.store(notice.calendar.encode()) == []
    status, stored = radicale.get(uid_of(confirmation))
    assert status == 200 and "STATUS:CANCELLED" in stored and "SEQUENCE:1" in stored
