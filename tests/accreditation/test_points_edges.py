"""The points rules at their edges: doubles in a round, whole-event registers with a workshop
swapped or a day missed, per-date lists, caps per day, overrides on a date's list."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import force_locale

from symposium.models import AccreditedSession, Scope, Session, SessionKind
from symposium.services.accreditation import lists, overrides, points
from tests.accreditation.conftest import full_day, local
from tests.accreditation.test_points import reasons, result


def test_two_sessions_of_one_round_count_once(db, register, present) -> None:
    doctor = register(1, "klein", profession="psychiater").registration
    present(doctor, "opening", local(9, 30))
    present(doctor, "klein", local(13, 0))
    present(doctor, "psy", local(13, 5))  # scanned at the wrong door as well
    found = result(db, doctor)
    assert found.points == Decimal("2.50")  # the opening and one workshop
    assert "Alleen psy: at the same time as Kleine workshop, which counts instead." in reasons(
        found
    )


def test_a_whole_event_register_refuses_a_workshop_it_did_not_accredit(
    db, register, present, accredited, sessions
) -> None:
    gaia = accredited["GAIA"]
    gaia.scope = Scope.EVENT
    gaia.sessions = [r for r in gaia.sessions if r.session_id != sessions["ook-r2"].id]
    db.session.commit()
    gp = register(1, "klein", "groot", profession="huisarts").registration
    present(gp, "opening", local(9, 30))
    present(gp, "klein", local(13, 0))
    present(gp, "ook-r2", local(15, 0), local(16, 30))  # sat elsewhere, not accredited
    found = result(db, gp)
    assert found.points == 0
    assert reasons(found)[0] == "No accredited session in Ronde 2."


def test_a_double_in_a_round_does_not_cost_a_whole_event_register_its_points(
    db, register, present, accredited
) -> None:
    accredited["GAIA"].scope = Scope.EVENT
    db.session.commit()
    doctor = register(1, "klein", "groot", profession="psychiater").registration
    full_day(present, doctor, "klein", "groot")
    present(doctor, "psy", local(13, 0), local(13, 5))  # the wrong door, left at once
    found = result(db, doctor)
    assert found.points == Decimal("4.00")
    assert not any("early" in r for r in reasons(found))


def test_a_refused_whole_event_register_counts_no_contact_hours(
    db, register, present, accredited
) -> None:
    accredited["GAIA"].scope = Scope.EVENT
    db.session.commit()
    gp = register(1, "klein", "groot", profession="huisarts").registration
    full_day(present, gp, "klein")  # round 2 missed
    assert points.total_hours(result(db, gp).lines) == 0


def second_day(db, event, accredited) -> Session:  # type: ignore[no-untyped-def]
    """A plenary on 5 February, accredited by GAIA for 2 points."""
    event.ends_at = local(17, 0, day=5)
    day_two = Session(
        event=event, key="dag-2", kind=SessionKind.PLENARY, title="Tweede dag",
        starts_at=local(10, 0, day=5), ends_at=local(12, 0, day=5), hours=Decimal("2"),
        position=99,
    )  # fmt: skip
    db.session.add(day_two)
    db.session.flush()
    db.session.add(AccreditedSession(accreditation_id=accredited["GAIA"].id,
                                     session_id=day_two.id, points=Decimal("2")))  # fmt: skip
    db.session.commit()
    return day_two


def test_the_daily_cap_is_per_day_also_for_the_whole_event(
    db, event, register, present, accredited
) -> None:
    day_two = second_day(db, event, accredited)
    gaia = accredited["GAIA"]
    gaia.scope, gaia.daily_cap = Scope.EVENT, Decimal("3")
    db.session.commit()
    gp = register(1, "klein", "groot", profession="huisarts").registration
    full_day(present, gp, "klein", "groot")  # 4 points on day one
    present(gp, day_two, local(10, 0, day=5))  # 2 on day two
    assert result(db, gp).points == Decimal("5")  # 3 + 2


def test_a_dates_list_keeps_the_whole_event_rule_and_leaves_overrides_out(
    db, event, register, present, accredited, clock
) -> None:
    second = second_day(db, event, accredited)
    gaia = accredited["GAIA"]
    gp = register(1, "klein", "groot", profession="huisarts").registration
    full_day(present, gp, "klein", "groot")  # day two missed
    day_one, day_two = date(2027, 2, 4), date(2027, 2, 5)
    with force_locale("en"):
        one = lists.attendance_list(db.session, event, gaia, day_one)
        assert [r.result.points for r in one.rows] == [Decimal("4.00")]
        assert lists.attendance_list(db.session, event, gaia, day_two).rows == []  # not there
        gaia.scope = Scope.EVENT
        db.session.commit()
        assert lists.paste(lists.attendance_list(db.session, event, gaia, day_one)) == ""
        overrides.set_points(db.session, None, gp, gaia, Decimal("6"), "Akkoord ABC1", clock.now)
        db.session.commit()
        day_two_only = register(2, "groot", profession="huisarts").registration
        present(day_two_only, second, local(10, 0, day=5))
        assert "Deelnemer 2" not in [r.name for r in lists.attendance_list(
            db.session, event, gaia, day_one).rows]  # fmt: skip
        whole = lists.attendance_list(db.session, event, gaia)
        assert whole.rows[0].result.points == Decimal("6")
        dated = lists.attendance_list(db.session, event, gaia, day_one).rows[0].result
        assert dated.points == 0 and dated.override is not None
        assert "for the whole event" in str(dated.reasons[-1])
        overrides.set_points(db.session, None, gp, gaia, Decimal("0"), "Fraude", clock.now)
        db.session.commit()
        gaia.scope = Scope.SESSION
        db.session.commit()
        assert lists.paste(lists.attendance_list(db.session, event, gaia, day_one)) == ""
        assert lists.header(whole)[2] == ("Date", "04-02-2027 – 05-02-2027")


def test_someone_with_points_set_but_no_check_in_is_on_the_list(
    db, event, register, accredited, clock
) -> None:
    gp = register(1, "klein", profession="huisarts").registration  # the scans were lost
    gaia = accredited["GAIA"]
    assert lists.attendance_list(db.session, event, gaia).rows == []
    overrides.set_points(db.session, None, gp, gaia, Decimal("2.5"), "Tekenlijst", clock.now)
    db.session.commit()
    found = lists.attendance_list(db.session, event, gaia)
    assert [r.name for r in found.rows] == ["Deelnemer 1"]
    assert lists.paste(found) == "12345678901\n"


def test_the_contact_hours_are_those_the_register_counted(
    db, register, present, accredited, sessions
) -> None:
    nip = accredited["NIP"]
    nip.sessions = [r for r in nip.sessions if r.session_id != sessions["psy"].id]
    db.session.commit()
    psychologist = register(1, "psy", identifiers={"NIP": "NIP-00012345"}).registration
    full_day(present, psychologist, "psy")
    found = result(db, psychologist, "NIP")
    assert points.total_hours(found.lines) == Decimal("1.00")  # the opening only
