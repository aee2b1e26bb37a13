"""The retention rule and the purge, as services with an injected clock."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from symposium.models import (
    AuditEntry,
    Enrolment,
    EnrolmentStatus,
    OutboxMessage,
    Registration,
    Session,
    User,
)
from symposium.services.privacy import retention
from symposium.services.registration import lifecycle, links, places
from tests.privacy.conftest import RETENTION, after_event


def snapshot(db) -> list[tuple]:  # type: ignore[no-untyped-def]
    """Every value the purge may touch, to compare two runs."""
    db.session.expire_all()
    rows = [
        tuple(getattr(r, c) for c in Registration.__table__.columns.keys())  # noqa: SIM118
        for r in db.session.scalars(select(Registration).order_by(Registration.id))
    ]
    rows += [
        (m.id, m.to_address, m.body_text, m.body_html, m.calendar, m.subject)
        for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    ]
    rows += [
        (a.id, a.target, a.note, repr(a.before), repr(a.after))
        for a in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
    ]
    return rows


def test_nothing_is_purged_before_the_retention_period(db, event, register, clock) -> None:
    register(1, event.sessions[1].id)
    clock.now = after_event(event, 89.9)
    (plan,) = retention.purge(db.session, clock.now, RETENTION)
    assert plan.anonymise == [] and not plan.changes
    assert db.session.scalar(select(Registration.name)) == "Deelnemer 1"


def test_purge_anonymises_and_keeps_what_accreditation_needs(
    db, event, register, deliver, clock, small_event
) -> None:
    attendee = register(1, small_event["klein"])
    absent = register(2)  # no workshop: nothing to accredit
    third = register(3, small_event["ook-r2"])
    fourth = register(4, small_event["ook-r2"])  # waitlisted, then promoted
    # Organiser actions that name addresses in the audit trail (target, and a JSON list).
    admin = User(email="admin@example.org", name="A", password_hash="x", created_at=clock.now)
    db.session.add(admin)
    db.session.flush()
    lifecycle.move(db.session, admin, attendee.registration, small_event["psy"], clock.now)
    ook = db.session.get(Session, small_event["ook-r2"])
    assert places.change_capacity(db.session, admin, ook, 2, clock.now)
    db.session.commit()
    deliver()
    assert "deelnemer4@example.org" in repr(db.session.scalars(select(AuditEntry.after)).all())

    clock.now = after_event(event, 90)
    (plan,) = retention.purge(db.session, clock.now, RETENTION)
    db.session.commit()
    everyone = (attendee, absent, third, fourth)
    assert [r.id for r in plan.anonymise] == [o.registration.id for o in everyone]
    assert plan.kept_for_accreditation == 3

    db.session.expire_all()
    a = db.session.get(Registration, attendee.registration.id)
    b = db.session.get(Registration, absent.registration.id)
    for r in (a, b):
        assert (r.name, r.phone, r.organisation, r.needs) == ("", "", "", "")
        assert r.email == f"{r.id}@anonymised.invalid"
        assert r.anonymised_at == clock.now and r.deletion_requested_at is None
        assert r.submission_key is None
    assert a.identifiers == {"NIP": "NIP-00012345"}  # attended: kept for the registers
    assert b.identifiers == {}
    # The old links no longer work.
    for o in everyone:
        assert links.find_by_token(db.session, o.token) is None
    # Mail: subject and dates stay, address and text go.
    for m in db.session.scalars(select(OutboxMessage)):
        assert (m.to_address, m.body_text, m.body_html, m.calendar) == ("", "", "", None)
        assert m.subject and m.sent_at is not None
    # Counts for reports stay: the place, its profession.
    enrolment = db.session.scalars(
        select(Enrolment).where(
            Enrolment.registration_id == a.id, Enrolment.status != EnrolmentStatus.CANCELLED
        )
    ).one()
    assert enrolment.status is EnrolmentStatus.CONFIRMED and a.profession.code == "gz-psycholoog"
    # The audit trail no longer names anyone.
    text = repr(
        [(e.target, e.note, e.before, e.after) for e in db.session.scalars(select(AuditEntry))]
    )
    assert "deelnemer" not in text
    purged = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "personal_data_purged")
    ).one()
    assert purged.after["anonymised"] == 4


def test_register_numbers_go_after_the_accreditation_deadline(
    db, event, register, clock, small_event
) -> None:
    outcome = register(1, small_event["klein"])
    clock.now = after_event(event, 100)
    retention.purge(db.session, clock.now, RETENTION)
    db.session.commit()
    clock.now = after_event(event, 119.9)
    (plan,) = retention.purge(db.session, clock.now, RETENTION)
    assert not plan.changes
    clock.now = after_event(event, 120)
    (plan,) = retention.purge(db.session, clock.now, RETENTION)
    db.session.commit()
    assert [r.id for r in plan.drop_accreditation] == [outcome.registration.id]
    db.session.expire_all()
    assert db.session.get(Registration, outcome.registration.id).identifiers == {}


def test_purge_twice_changes_nothing_more(db, event, register, deliver, clock, small_event):
    register(1, small_event["klein"])
    register(2)
    deliver()
    clock.now = after_event(event, 150)
    retention.purge(db.session, clock.now, RETENTION)
    db.session.commit()
    first = snapshot(db)
    clock.now += timedelta(days=1)
    (plan,) = retention.purge(db.session, clock.now, RETENTION)
    db.session.commit()
    assert not plan.changes
    assert snapshot(db) == first


def test_dry_run_changes_nothing(db, event, register, deliver, clock, small_event) -> None:
    register(1, small_event["klein"])
    deliver()
    before = snapshot(db)
    clock.now = after_event(event, 150)
    (plan,) = retention.purge(db.session, clock.now, RETENTION, dry_run=True)
    assert len(plan.anonymise) == 1 and plan.mail == 1
    db.session.commit()
    assert snapshot(db) == before


def test_the_periods_come_from_the_settings(db, event, register, clock) -> None:
    register(1)
    short = retention.Retention(personal_days=10, accreditation_days=5)
    clock.now = after_event(event, 10)
    (plan,) = retention.purge(db.session, clock.now, short)
    assert len(plan.anonymise) == 1
    assert plan.personal_until == event.ends_at + timedelta(days=10)
    # Register numbers never outlive the personal data: the later date is what is shown.
    assert plan.accreditation_until == event.ends_at + timedelta(days=10)
    assert retention.Retention.from_config(
        {"RETENTION_DAYS": 3, "ACCREDITATION_RETENTION_DAYS": 4, "CERTIFICATE_RETENTION_DAYS": 5}
    ) == retention.Retention(3, 4, 5)


def test_queued_mail_of_an_anonymised_registration_is_not_sent(
    db, event, register, deliver, clock
) -> None:
    outcome = register(1)
    clock.now = after_event(event, 90)
    retention.purge(db.session, clock.now, RETENTION)
    db.session.commit()
    assert db.session.scalars(select(OutboxMessage)).all() == []
    assert deliver().sent == []
    assert outcome.registration.id
