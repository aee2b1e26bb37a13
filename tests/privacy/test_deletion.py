"""Deletion on request, as a service: places freed through the lifecycle, data gone at once."""

from __future__ import annotations

from sqlalchemy import func, select

from symposium.models import (
    AuditEntry,
    Enrolment,
    EnrolmentStatus,
    IdempotencyKey,
    OutboxMessage,
    OutboxStatus,
    Registration,
)
from symposium.services.privacy import deletion, retention
from symposium.services.registration import lifecycle, links
from tests.conftest import registration_data
from tests.privacy.conftest import RETENTION, after_event


def test_deletion_frees_the_places_and_anonymises_at_once(
    db, register, deliver, clock, small_event
) -> None:
    leaving = register(1, small_event["ook-r2"])
    waiting = register(2, small_event["ook-r2"])
    deliver()
    assert waiting.registration.enrolments[0].status is EnrolmentStatus.WAITLISTED

    assert deletion.request_deletion(db.session, leaving.registration, clock.now, RETENTION)
    db.session.commit()
    db.session.expire_all()

    gone = db.session.get(Registration, leaving.registration.id)
    assert gone.status.value == "cancelled" and gone.deletion_requested_at == clock.now
    assert (gone.name, gone.phone, gone.organisation, gone.needs) == ("", "", "", "")
    assert gone.email == f"{gone.id}@anonymised.invalid"
    assert gone.identifiers == {}  # not attended: nothing to keep for accreditation
    assert links.find_by_token(db.session, leaving.token) is None
    # The waiting list moved up through the usual promotion.
    promoted = db.session.get(Registration, waiting.registration.id).enrolments[0]
    assert promoted.status is EnrolmentStatus.CONFIRMED
    # Earlier mail is blanked; the one cancellation is written and keeps its address until sent.
    mine = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.registration_id == gone.id)
        .order_by(OutboxMessage.id)
    ).all()
    assert [(m.kind, m.status.value) for m in mine] == [
        ("registered", "sent"),
        ("registration_cancelled", "queued"),
    ]
    assert mine[0].to_address == "" and mine[0].body_text == ""
    final = mine[1]
    assert final.to_address == "deelnemer1@example.org" and "Deelnemer 1" in final.body_text
    assert final.calendar_method == "CANCEL" and final.render_context is None
    # The audit entry says what happened, without whom.
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "personal_data_deleted")
    ).one()
    assert entry.target == f"registration {gone.id}" and entry.user_id is None
    assert "deelnemer" not in repr((entry.target, entry.note, entry.before, entry.after))

    # Once sent, the purge blanks the final message too.
    deliver()
    clock.now = after_event(gone.event, 1)
    retention.purge(db.session, clock.now, RETENTION)
    db.session.commit()
    db.session.refresh(final)
    assert final.status is OutboxStatus.SENT and final.to_address == "" and final.body_text == ""


def test_deletion_withdraws_the_invitation_of_several_places(
    db, register, deliver, clock, small_event
) -> None:
    """Their places and the plenary session are one invitation (one UID): its one CANCEL
    rides on the final notice, still sent; nothing else waits."""
    outcome = register(1, small_event["klein"], small_event["ook-r2"])
    deliver()
    assert deletion.request_deletion(db.session, outcome.registration, clock.now, RETENTION)
    db.session.commit()
    (final,) = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.registration_id == outcome.registration.id)
        .where(OutboxMessage.status == OutboxStatus.QUEUED)
    ).all()
    assert final.kind == "registration_cancelled" and final.calendar_method == "CANCEL"
    assert final.render_context is None and final.to_address == "deelnemer1@example.org"
    assert f"UID:r{outcome.registration.id}@" in final.calendar


def test_asking_twice_changes_nothing_more(db, register, clock, small_event) -> None:
    outcome = register(1, small_event["klein"])
    assert deletion.request_deletion(db.session, outcome.registration, clock.now, RETENTION)
    db.session.commit()
    first = clock.now
    clock.now = after_event(outcome.registration.event, -10)
    assert not deletion.request_deletion(db.session, outcome.registration, clock.now, RETENTION)
    db.session.commit()
    db.session.expire_all()
    registration = db.session.get(Registration, outcome.registration.id)
    assert registration.deletion_requested_at == first == registration.anonymised_at
    assert db.session.scalar(
        select(AuditEntry.id).where(AuditEntry.action == "personal_data_deleted")
    )
    kinds = db.session.scalars(select(OutboxMessage.kind)).all()
    assert kinds.count("registration_cancelled") == 1


def test_after_the_event_attendees_keep_their_register_numbers_until_the_deadline(
    db, register, clock, small_event
) -> None:
    outcome = register(1, small_event["klein"])
    event = outcome.registration.event
    clock.now = after_event(event, 3)
    assert deletion.request_deletion(db.session, outcome.registration, clock.now, RETENTION)
    db.session.commit()
    db.session.expire_all()
    registration = db.session.get(Registration, outcome.registration.id)
    assert registration.name == "" and registration.identifiers == {"NIP": "NIP-00012345"}
    # Attendance is not rewritten: the place stays confirmed for the counts.
    assert db.session.scalar(select(Enrolment.status)) == EnrolmentStatus.CONFIRMED
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "personal_data_deleted")
    ).one()
    assert entry.after == {"kept_for_accreditation": ["NIP"], "certificates_deleted": 0}

    clock.now = RETENTION.accreditation_until(event)
    (plan,) = retention.purge(db.session, clock.now, RETENTION)
    db.session.commit()
    assert [r.id for r in plan.drop_accreditation] == [registration.id]
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).identifiers == {}


def test_the_address_can_register_again_after_deletion(db, register, clock, small_event):
    first = register(1, small_event["klein"])
    deletion.request_deletion(db.session, first.registration, clock.now, RETENTION)
    db.session.commit()
    again = register(1, small_event["klein"])
    assert again.created and again.registration.id != first.registration.id


def test_no_mail_is_queued_for_an_anonymised_registration(db, register, clock, small_event):
    outcome = register(1, small_event["klein"])
    clock.now = after_event(outcome.registration.event, 1)
    deletion.request_deletion(db.session, outcome.registration, clock.now, RETENTION)
    db.session.commit()
    before = db.session.scalars(select(OutboxMessage.id)).all()
    lifecycle.resend_link(db.session, outcome.registration, clock.now)
    assert lifecycle.sessions_rescheduled(db.session, [small_event["klein"]], clock.now) == 1
    db.session.commit()
    assert db.session.scalars(select(OutboxMessage.id)).all() == before


def test_stored_api_answers_naming_the_registration_go(client, db, clock, small_event):
    """The stored answer (manage link, details) goes; a replay of the request is a 410 and
    registers nobody again."""
    bodies = {n: registration_data(n, sessions=[small_event["klein"]]) for n in (1, 2)}
    for n, body in bodies.items():
        response = client.post(
            "/api/v1/events/klein/registrations",
            json=body,
            headers={"Idempotency-Key": f"key-{n}"},
        )
        assert response.status_code == 201
    first = db.session.scalars(select(Registration).order_by(Registration.id)).first()
    deletion.request_deletion(db.session, first, clock.now, RETENTION)
    db.session.commit()
    stored = {k.key: k for k in db.session.scalars(select(IdempotencyKey))}
    assert stored["key-1"].status_code == 410
    assert "Deelnemer" not in repr(stored["key-1"].response)
    assert "registration" in stored["key-2"].response

    replay = client.post(
        "/api/v1/events/klein/registrations",
        json=bodies[1],
        headers={"Idempotency-Key": "key-1"},
    )
    assert replay.status_code == 410
    assert replay.json["error"]["code"] == "registration_deleted"
    names = db.session.scalars(select(Registration.name)).all()
    assert sorted(names) == ["", "Deelnemer 2"]


def test_a_waiting_switch_is_overtaken_by_the_cancel_of_the_whole_invitation(
    db, register, deliver, clock, small_event
) -> None:
    """Switched away from "groot", then deleted before that mail went: the waiting update
    goes (it would carry a dead link); the CANCEL of their one invitation, with a higher
    SEQUENCE, takes groot off their calendar with everything else."""
    outcome = register(1, small_event["groot"])
    deliver()
    lifecycle.change_session(db.session, outcome.registration, small_event["ook-r2"], clock.now)
    db.session.commit()
    assert deletion.request_deletion(db.session, outcome.registration, clock.now, RETENTION)
    db.session.commit()
    (queued,) = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.QUEUED)
    ).all()
    assert queued.kind == "registration_cancelled" and "METHOD:CANCEL" in queued.calendar
    assert f"UID:r{outcome.registration.id}@" in queued.calendar
    assert "SEQUENCE:2" in queued.calendar  # registered 0, switched 1, cancelled 2


def test_the_last_mails_are_blanked_once_sent(db, register, deliver, clock, small_event) -> None:
    """Long before the event (no purge due yet), the final mails keep the address only until
    the worker has sent them."""
    leaving = register(1, small_event["ook-r2"])
    deliver()
    assert deletion.request_deletion(db.session, leaving.registration, clock.now, RETENTION)
    db.session.commit()
    deliver()
    mine = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.registration_id == leaving.registration.id)
    ).all()
    assert mine and all(m.status is OutboxStatus.SENT for m in mine)
    assert all(m.to_address == "" and m.body_text == "" for m in mine)


def test_a_deletion_while_the_worker_sends_does_not_stop_it(
    app, db, register, clock, small_event
) -> None:
    from sqlalchemy.orm import Session as OrmSession

    from symposium.services.mail import delivery

    first = register(1, small_event["ook-r2"])
    register(2, small_event["klein"])
    sent = []

    class DeletingWhileSending:
        def send(self, message, sender, recipient):  # type: ignore[no-untyped-def]
            sent.append(recipient)
            if len(sent) == 1:
                with OrmSession(db.engine) as other:
                    registration = other.get(Registration, first.registration.id)
                    deletion.request_deletion(other, registration, clock.now, RETENTION)
                    other.commit()

        def close(self) -> None:
            pass

    delivery.drain(db.session, DeletingWhileSending(), app.config, lambda: clock.now)
    # The worker went on: the second registrant's mail and the final cancellation went too.
    assert "deelnemer2@example.org" in sent
    assert (
        db.session.scalar(select(func.count()).where(OutboxMessage.status == OutboxStatus.QUEUED))
        == 0
    )


def test_a_long_address_leaves_no_trace_in_the_audit_trail(
    db, register, clock, small_event
) -> None:
    """Audit targets are clipped ("registration 1 <address>" of 200 characters at most): a
    long address is only partly in them, and must go all the same."""
    from symposium.models import Role
    from symposium.services.accounts import access

    address = f"{'a' * 60}.{'b' * 60}.{'c' * 60}@{'d' * 50}.example.org"
    leaving = register(1, small_event["ook-r2"], email=address)
    organiser, _ = access.create_user(db.session, "org@example.org", Role.ADMIN, clock.now)
    lifecycle.resend_link(db.session, leaving.registration, clock.now, actor=organiser)
    db.session.commit()
    assert deletion.request_deletion(db.session, leaving.registration, clock.now, RETENTION)
    db.session.commit()
    targets = db.session.scalars(select(AuditEntry.target)).all()
    assert not any("aaaaaaaaaa" in t for t in targets), targets
