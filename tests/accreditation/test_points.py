"""Points per person per register from recorded presence (services.accreditation.points).

The small event: opening 09:30–10:30 (1 hour), round 1 13:00–14:30 and round 2 15:00–16:30
(1.5 hours per workshop); GAIA accredits doctors by BIG number, the NIP psychologists.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask_babel import force_locale

from symposium.models import AuditEntry, Rounding, Scope
from symposium.services.accreditation import overrides, points
from symposium.services.core.errors import RuleError
from tests.accreditation.conftest import full_day, local
from tests.backoffice.test_dashboard import StatementCounter


def result(db, registration, code="GAIA"):  # type: ignore[no-untyped-def]
    """The person's result with one register, its reasons in English."""
    with force_locale("en"):
        (found,) = [
            r for r in points.registration_points(db.session, registration)
            if r.accreditation.register.code == code
        ]  # fmt: skip
        found.reasons = [str(r) for r in found.reasons]
    return found


def reasons(found) -> list[str]:  # type: ignore[no-untyped-def]
    return found.reasons


def test_full_attendance_earns_every_accredited_session(db, register, present) -> None:
    gp = register(1, "klein", "groot", profession="huisarts").registration
    full_day(present, gp, "klein", "groot")
    found = result(db, gp)
    assert found.points == Decimal("4.00") and found.earned and not found.reduced
    assert found.number == "12345678901"
    assert [line.title for line in found.lines] == ["Opening", "Kleine workshop", "Grote workshop"]
    assert all(line.in_full for line in found.lines)
    assert points.total_hours(found.lines) == Decimal("4.00")


def test_within_the_tolerance_is_in_full_and_beyond_it_is_late(db, register, present) -> None:
    on_time = register(1, "klein", profession="huisarts").registration
    present(on_time, "opening", local(9, 40))  # 10 minutes: the default tolerance
    present(on_time, "klein", local(13, 0))
    late = register(2, "klein", profession="huisarts").registration
    present(late, "opening", local(9, 30))
    present(late, "klein", local(13, 35), local(14, 30))
    assert result(db, on_time).points == Decimal("2.50")
    found = result(db, late)
    assert found.points == Decimal("1.00")
    assert reasons(found) == ["Kleine workshop: arrived 13:35, 35 minutes late."]


def test_the_event_sets_its_own_tolerance(db, event, register, present) -> None:
    gp = register(1, profession="huisarts").registration
    present(gp, "opening", local(9, 40))
    event.late_tolerance_minutes = 5
    db.session.commit()
    assert result(db, gp).points == 0
    assert reasons(result(db, gp)) == ["Opening: arrived 09:40, 10 minutes late."]


def test_leaving_early_loses_that_session(db, register, present) -> None:
    gp = register(1, "klein", "groot", profession="huisarts").registration
    present(gp, "opening", local(9, 30), local(10, 30))
    present(gp, "klein", local(13, 0), local(14, 30))
    present(gp, "groot", local(15, 0), local(15, 50))
    found = result(db, gp)
    assert found.points == Decimal("2.50")
    assert reasons(found) == ["Grote workshop: left 15:50, 40 minutes early."]


def test_no_check_in_means_no_points_for_that_session(db, register, present) -> None:
    gp = register(1, "klein", "groot", profession="huisarts").registration
    full_day(present, gp, "klein")
    found = result(db, gp)
    assert found.points == Decimal("2.50")
    assert reasons(found) == ["No check-in for Ronde 2."]
    nobody = register(2, "klein", profession="huisarts").registration
    assert result(db, nobody).points == 0 and not result(db, nobody).earned


def test_a_whole_event_register_gives_nothing_when_one_session_is_missed(
    db, register, present, accredited
) -> None:
    accredited["GAIA"].scope = Scope.EVENT
    db.session.commit()
    everything = register(1, "klein", "groot", profession="huisarts").registration
    full_day(present, everything, "klein", "groot")
    missed = register(2, "klein", "groot", profession="huisarts").registration
    full_day(present, missed, "klein")
    no_round_two = register(3, "klein", profession="huisarts").registration
    full_day(present, no_round_two, "klein")
    assert result(db, everything).points == Decimal("4.00")
    assert result(db, missed).points == 0
    assert reasons(result(db, missed)) == [
        "No check-in for Ronde 2.",
        "GAIA accredits the whole event only: no points.",
    ]
    assert reasons(result(db, no_round_two)) == [
        "No accredited session in Ronde 2.",
        "GAIA accredits the whole event only: no points.",
    ]


def test_the_daily_cap_comes_last(db, register, present, accredited) -> None:
    accredited["GAIA"].daily_cap = Decimal("3")
    db.session.commit()
    gp = register(1, "klein", "groot", profession="huisarts").registration
    full_day(present, gp, "klein", "groot")
    found = result(db, gp)
    assert (found.computed, found.points) == (Decimal("3"), Decimal("3"))
    assert reasons(found) == ["Cap of 3 points per day reached."]


def test_half_point_rounding_rounds_down(db, register, present, accredited) -> None:
    gaia = accredited["GAIA"]
    gaia.rounding = Rounding.HALF
    next(row for row in gaia.sessions if row.session.key == "opening").points = Decimal("1.25")
    db.session.commit()
    gp = register(1, "klein", profession="huisarts").registration
    full_day(present, gp, "klein")
    found = result(db, gp)
    assert found.points == Decimal("2.5")  # 1.25 + 1.5 = 2.75
    assert reasons(found) == ["Rounded down from 2.75 to half points."]
    gaia.rounding = Rounding.WHOLE
    db.session.commit()
    assert result(db, gp).points == Decimal("2")


def test_a_session_accredited_by_one_register_and_not_another(
    db, register, present, accredited
) -> None:
    nip = accredited["NIP"]
    nip.sessions = [row for row in nip.sessions if row.session.key != "psy"]
    db.session.commit()
    psychologist = register(1, "psy", profession="gz-psycholoog",
                            identifiers={"NIP": "123456"}).registration  # fmt: skip
    psychiatrist = register(2, "psy", profession="psychiater").registration
    full_day(present, psychologist, "psy")
    full_day(present, psychiatrist, "psy")
    found = result(db, psychologist, "NIP")
    assert found.points == Decimal("1.00") and found.number == "NIP-00123456"
    assert [line.accredited for line in found.lines] == [Decimal("1.00"), None]
    assert not found.reduced  # a session the register did not accredit is no reduction
    assert result(db, psychiatrist, "GAIA").points == Decimal("2.50")
    # Each person gets results only from their own profession's registers.
    assert [r.accreditation.register.code for r in points.registration_points(
        db.session, psychiatrist)] == ["GAIA"]  # fmt: skip


def test_an_override_replaces_the_result_with_its_reason_and_is_audited(
    db, register, present, accredited, clock
) -> None:
    gp = register(1, "klein", profession="huisarts").registration
    present(gp, "opening", local(9, 30))
    present(gp, "klein", local(13, 40))  # late: the train was stuck, the organiser agrees
    assert result(db, gp).points == Decimal("1.00")
    gaia = accredited["GAIA"]
    overrides.set_points(db.session, None, gp, gaia, Decimal("2.5"), "Trein gestrand", clock.now)
    overrides.set_points(db.session, None, gp, gaia, Decimal("2.5"), "Trein gestrand", clock.now)
    db.session.commit()
    found = result(db, gp)
    assert (found.computed, found.points) == (Decimal("1.00"), Decimal("2.50"))
    assert reasons(found)[-1] == "Set by the organiser: Trein gestrand"
    entries = db.session.query(AuditEntry).filter_by(action="points_overridden").all()
    assert len(entries) == 1 and entries[0].after == {"points": "2.50", "reason": "Trein gestrand"}
    with pytest.raises(RuleError) as refused:
        overrides.set_points(db.session, None, gp, gaia, Decimal("3"), "  ", clock.now)
    assert refused.value.code == "reason_required"
    overrides.set_points(db.session, None, gp, gaia, None, "", clock.now)
    db.session.commit()
    assert result(db, gp).points == Decimal("1.00")


def test_the_whole_event_is_computed_in_a_few_queries(db, event, register, present) -> None:
    for n in range(6):
        gp = register(n, "klein", profession="huisarts").registration
        full_day(present, gp, "klein")
    db.session.expire_all()
    with StatementCounter(db.engine) as counter:
        found = points.event_points(db.session, event)
    assert len(found.results) == 6
    assert all(r.points == Decimal("2.50") for rs in found.results.values() for r in rs)
    # A fixed number, however many attend: accreditations, sessions, people, places,
    # presences, overrides, professions (each with what they load alongside).
    assert len(counter.statements) <= 14, [s[:60] for s in counter.statements]
