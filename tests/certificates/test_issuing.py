"""Issuing certificates: who gets one and why the others do not, once per person however
often (or however concurrently) it runs, re-issue after a correction, revoke with a reason."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from symposium.extensions import db as _db
from symposium.models import AuditEntry, Certificate, CertificateRule, Event, OutboxMessage
from symposium.services.accreditation import overrides
from symposium.services.certificates import codes, design, issuing, verification
from symposium.services.core.errors import RuleError
from tests.certificates.conftest import full_day, local


def set_rule(db, event, rule: CertificateRule) -> None:  # type: ignore[no-untyped-def]
    """The event's certificate rule, saved as the settings form saves it."""
    design.save(
        db.session, None, event, rule=rule, signatory_name="", signatory_role="",
        signature=None, remove_signature=False, now=local(16, 0),
    )  # fmt: skip


def certificate_mails(db) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).where(OutboxMessage.kind == "certificate"))


@pytest.fixture
def day(register, present):  # type: ignore[no-untyped-def]
    """A GP who attended everything booked, a psychologist 25 minutes late for everything,
    and a psychologist who never came."""
    gp = register(1, "klein", "groot", profession="huisarts").registration
    full_day(present, gp, "klein", "groot")
    late = register(2, "psy", profession="gz-psycholoog").registration
    present(late, "opening", local(9, 55), local(10, 30))
    present(late, "psy", local(13, 25), local(14, 30))
    absent = register(3, "psy", profession="gz-psycholoog").registration
    return gp, late, absent


def test_those_who_earned_points_get_one_and_the_others_are_listed_with_the_reason(
    db, event, day
) -> None:
    gp, late, absent = day
    with force_locale("en"):
        report = issuing.issue_all(db.session, None, event, local(17, 0))
        reasons = {s.registration.id: str(s.reason) for s in report.not_eligible}
    db.session.commit()
    assert [c.registration_id for c in report.issued] == [gp.id]
    assert reasons[absent.id] == "No check-in was recorded."
    assert "25 minutes late" in reasons[late.id]
    certificate = report.issued[0]
    assert certificate.number == "KLEIN-0001" and certificate.name == gp.name
    assert [r["register"] for r in certificate.content["registers"]] == ["GAIA"]
    assert certificate.content["registers"][0]["points"] == "4"
    assert certificate.content["registers"][0]["activity_id"] == "123456"
    assert certificate.content["hours"] == "4"
    assert len(certificate.code) == codes.LENGTH and codes.parse_code(certificate.code)
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "certificates_issued")
    ).one()
    assert entry.after["count"] == 1
    assert certificate_mails(db) == 1


def test_issuing_again_issues_nothing_new_and_mails_no_one_twice(db, event, day) -> None:
    issuing.issue_all(db.session, None, event, local(17, 0))
    db.session.commit()
    again = issuing.issue_all(db.session, None, event, local(18, 0))
    db.session.commit()
    assert again.issued == [] and len(again.already) == 1
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1
    assert certificate_mails(db) == 1


def test_a_dry_run_says_who_would_get_one_and_writes_nothing(db, event, day) -> None:
    report = issuing.issue_all(db.session, None, event, local(17, 0), dry_run=True)
    db.session.rollback()
    assert [s.registration.id for s in report.would_issue] == [day[0].id]
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
    assert certificate_mails(db) == 0


def test_the_attendance_rule_gives_everyone_checked_in_a_certificate(db, event, day) -> None:
    set_rule(db, event, CertificateRule.ATTENDANCE)
    with force_locale("en"):
        report = issuing.issue_all(db.session, None, event, local(17, 0))
        reasons = {s.registration.id: str(s.reason) for s in report.not_eligible}
    db.session.commit()
    gp, late, absent = day
    assert {c.registration_id for c in report.issued} == {gp.id, late.id}
    assert reasons == {absent.id: "No check-in was recorded."}
    late_one = next(c for c in report.issued if c.registration_id == late.id)
    assert late_one.content["registers"] == []  # attended, but earned no points
    assert [s["in_full"] for s in late_one.content["sessions"]] == [False, False]


def test_the_off_rule_issues_none(db, event, day) -> None:
    set_rule(db, event, CertificateRule.OFF)
    with force_locale("en"):
        report = issuing.issue_all(db.session, None, event, local(17, 0))
        assert report.issued == []
        assert {str(s.reason) for s in report.not_eligible} == {
            "This event issues no certificates."
        }


def test_reissue_after_a_correction_revokes_the_old_one_and_points_to_the_new(
    db, event, day, accredited
) -> None:
    gp = day[0]
    old = issuing.issue_all(db.session, None, event, local(17, 0)).issued[0]
    db.session.commit()
    overrides.set_points(
        db.session, None, gp, accredited["GAIA"], Decimal("3"),
        "Left the second round early, told us afterwards.", local(18, 0),
    )  # fmt: skip
    db.session.commit()
    standing = issuing.standings(db.session, event, [gp.id])[0]
    assert standing.changed
    new = issuing.reissue(db.session, None, old, local(18, 5))
    db.session.commit()
    assert new.number == "KLEIN-0002" and new.code != old.code
    assert new.content["registers"][0]["points"] == "3"
    assert old.revoked_at is not None and old.replaced_by_id == new.id
    verdict = verification.verify(db.session, codes.format_code(old.code))
    assert not verdict.valid and verdict.replacement.id == new.id
    assert certificate_mails(db) == 2
    # The form sent twice: the successor again, nothing new.
    assert issuing.reissue(db.session, None, old, local(18, 6)).id == new.id
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 2


def test_revoke_needs_a_reason_and_is_audited_once(db, event, day) -> None:
    certificate = issuing.issue_all(db.session, None, event, local(17, 0)).issued[0]
    db.session.commit()
    with pytest.raises(RuleError) as refused:
        issuing.revoke(db.session, None, certificate, "  ", local(18, 0))
    assert refused.value.field == "reason"
    issuing.revoke(db.session, None, certificate, "Issued to the wrong person.", local(18, 0))
    issuing.revoke(db.session, None, certificate, "Again.", local(18, 1))
    db.session.commit()
    assert certificate.revoke_reason == "Issued to the wrong person."
    revoked = select(func.count()).where(AuditEntry.action == "certificate_revoked")
    assert db.session.scalar(revoked) == 1
    # Issuing all again does not undo it: the person is listed with the reason.
    with force_locale("en"):
        again = issuing.issue_all(db.session, None, event, local(18, 3))
        reasons = {s.registration.id: str(s.reason) for s in again.not_eligible}
    assert again.issued == [] and reasons[certificate.registration_id] == (
        "Their certificate was revoked."
    )
    # "Issue again" on its row gives a new one, which the revoked one then points to.
    new = issuing.reissue(db.session, None, certificate, local(18, 4))
    db.session.commit()
    assert new.id != certificate.id and new.revoked_at is None
    assert certificate.replaced_by_id == new.id
    assert certificate.revoke_reason == "Issued to the wrong person."  # kept as written
    assert issuing.reissue(db.session, None, certificate, local(18, 5)).id == new.id


def test_codes_are_random_and_read_the_crockford_way() -> None:
    made = {codes.new_code() for _ in range(2000)}
    assert len(made) == 2000
    code = "K7QM3XPA9B4RT0CVW2HN"
    assert codes.format_code(code) == "K7QM3-XPA9B-4RT0C-VW2HN"
    assert codes.parse_code("k7qm3 xpa9b-4rtOc vw2hn") == code  # O read as 0
    assert codes.parse_code("K7QM3-XPA9B-4RT0C") is None
    assert codes.parse_code("U7QM3XPA9B4RT0CVW2HN") is None  # U is not in the alphabet


def _issue_in_threads(app, event_id: int, workers: int) -> list:  # type: ignore[no-untyped-def]
    start = threading.Barrier(workers, timeout=30)

    def one(_: int) -> object:
        with app.app_context():
            session = _db.session
            event = session.get(Event, event_id)
            start.wait()
            try:
                report = issuing.issue_all(session, None, event, local(17, 0))
                session.commit()
                return len(report.issued)
            except IntegrityError as exc:
                session.rollback()
                return exc
            finally:
                _db.session.remove()

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(workers)))


def test_concurrent_bulk_issues_create_one_certificate_per_person(
    app, db, event, day, register, present
) -> None:
    for n in (4, 5):  # three with points in all
        full_day(present, register(n, "klein", profession="huisarts").registration, "klein")
    outcomes = _issue_in_threads(app, event.id, 4)
    assert sorted(outcomes) == [0, 0, 0, 3]
    db.session.rollback()  # a fresh snapshot: the threads' commits
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 3
    people = select(func.count(func.distinct(Certificate.registration_id)))
    assert db.session.scalar(people) == 3
    assert certificate_mails(db) == 3


def test_without_the_event_lock_concurrent_issues_collide(app, db, event, day, monkeypatch) -> None:
    """The race the lock closes is real: with the lock left out, two runs that read before
    either writes both issue, and only the unique index stops the second (on SQLite the
    immediate write transaction already serialises them: nothing to show there)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's immediate transaction serialises writers without the row lock")
    both_read = threading.Barrier(2, timeout=30)
    read = issuing.standings

    def standings_then_wait(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = read(*args, **kwargs)
        both_read.wait()
        return found

    monkeypatch.setattr(issuing, "lock_event", lambda db, event_id: None)
    monkeypatch.setattr(issuing, "standings", standings_then_wait)
    outcomes = _issue_in_threads(app, event.id, 2)
    assert sum(isinstance(o, IntegrityError) for o in outcomes) == 1


def test_a_certificate_that_no_longer_meets_the_rule_is_flagged(db, event, day, accredited):  # type: ignore[no-untyped-def]
    gp = day[0]
    issuing.issue_all(db.session, None, event, local(17, 0))
    db.session.commit()
    overrides.set_points(
        db.session, None, gp, accredited["GAIA"], Decimal("0"),
        "Was not there after all: a colleague scanned the ticket.", local(18, 0),
    )  # fmt: skip
    db.session.commit()
    (standing,) = issuing.standings(db.session, event, [gp.id])
    assert standing.certificate is not None and standing.changed and not standing.eligible
    with pytest.raises(RuleError):  # re-issue refuses; revoke is the way
        issuing.reissue(db.session, None, standing.certificate, local(18, 1))


def test_the_purge_or_the_rule_off_flags_no_certificate(db, event, day) -> None:  # type: ignore[no-untyped-def]
    """A certificate outlives its registration's data (the purge) and a rule set to "off"
    to stop issuing: neither is a reason to revoke it, so neither flags it."""
    from datetime import timedelta

    from symposium.services.privacy import retention

    issuing.issue_all(db.session, None, event, local(17, 0))
    db.session.commit()
    retention.purge(db.session, event.ends_at + timedelta(days=91), retention.Retention(90, 120))
    db.session.commit()
    assert not [s for s in issuing.standings(db.session, event) if s.changed]
    set_rule(db, event, CertificateRule.OFF)
    assert not [s for s in issuing.standings(db.session, event) if s.changed]
