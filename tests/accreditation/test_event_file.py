"""Accreditation in event files (``[[accreditations]]``) and on the public programme."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from symposium.models import Accreditation, Event, Rounding, Scope
from symposium.services.accreditation import points
from tests.conftest import SMALL_EVENT

BAD = """
[[accreditations]]
register = "BIG"

[[accreditations]]
register = "NIP"
scope = "sometimes"
rounding = "quarter"
daily_cap = 0
deadline = "next month"
sessions = ["opening", "nowhere"]
points = { klein = 2, opening = "one" }

[[accreditations]]
register = "NIP"
"""


def load(app, tmp_path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "klein.toml"
    path.write_text(text)
    return app.test_cli_runner().invoke(args=["load-event", str(path)])


def test_the_demo_is_accredited_by_four_registers_with_their_own_points(db, load_example) -> None:
    load_example("7roses-symposium.toml")
    event = db.session.scalars(select(Event).where(Event.slug == "7roses-2027")).one()
    found = {a.register.code: a for a in points.accreditations(db.session, event)}
    assert list(found) == ["GAIA", "NIP", "REGISTERPLEIN", "VENVN"]
    gaia, nip, plein = found["GAIA"], found["NIP"], found["REGISTERPLEIN"]
    assert (gaia.activity_id, gaia.daily_cap, gaia.scope) == ("456789", Decimal("6"), Scope.SESSION)
    assert (nip.scope, nip.rounding) == (Scope.EVENT, Rounding.HALF)
    assert plein.rounding is Rounding.WHOLE and str(plein.deadline) == "2027-04-30"
    by_key = {s.id: s.key for s in event.sessions}
    assert {by_key[r.session_id]: r.points for r in gaia.sessions}["europees-onderzoek"] == Decimal(
        "1.25"
    )
    assert {by_key[r.session_id]: r.points for r in nip.sessions}["europees-onderzoek"] == 1
    assert "afsluiting" not in {by_key[r.session_id] for r in plein.sessions}
    assert "inloop" not in {by_key[r.session_id] for r in gaia.sessions}  # no contact hours


def test_reloading_an_edited_file_updates_accreditations_in_place(
    app, db, small_event, tmp_path
) -> None:
    before = {a.register.code: a.id for a in db.session.scalars(select(Accreditation))}
    edited = SMALL_EVENT.replace('activity_id = "123456"', 'activity_id = "654321"\ndaily_cap = 2')
    edited = edited.replace(
        '[[accreditations]]\nregister = "NIP"\nactivity_id = "NIP-2027-001"\n', ""
    )
    result = load(app, tmp_path, edited)
    assert result.exit_code == 0, result.output
    assert (
        "updated accreditations 1" in result.output and "deleted accreditations 1" in result.output
    )
    db.session.expire_all()
    (gaia,) = db.session.scalars(select(Accreditation)).all()
    assert gaia.id == before["GAIA"] and gaia.activity_id == "654321" and gaia.daily_cap == 2
    again = load(app, tmp_path, edited)
    assert "no changes" in again.output


def test_every_problem_in_the_accreditation_tables_is_reported(
    app, db, small_event, tmp_path
) -> None:
    programme = SMALL_EVENT.split("# Doctors' points")[0]  # without its accreditations
    result = load(app, tmp_path, "late_tolerance_minutes = 500\n" + programme + BAD)
    assert result.exit_code == 1
    for expected in [
        "late_tolerance_minutes: must be at most 120 minutes",
        "accreditations.BIG.register: unknown register 'BIG'",
        "accreditations.NIP.scope: must be one of: session, event",
        "accreditations.NIP.rounding: must be one of: none, half, whole",
        "accreditations.NIP.daily_cap: must be more than 0",
        "accreditations.NIP.deadline: must be a date",
        "accreditations.NIP.sessions: no session with key 'nowhere'",
        "accreditations.NIP.points.klein: is not among this register's sessions",
        "accreditations.NIP.points.opening: must be a number of points",
        "accreditations.NIP.register: 'NIP' is named twice",
    ]:
        assert expected in result.output, f"missing {expected!r} in:\n{result.output}"


def test_the_programme_shows_each_registers_points_per_session(client, load_example) -> None:
    load_example("7roses-symposium.toml")
    page = client.get("/events/7roses-2027/").get_data(as_text=True)
    assert "GAIA 1,25 · NIP 1 · Registerplein 1,25 · V&amp;VN 1,25" in page
    assert "GAIA 0,5 · V&amp;VN 0,5" in page  # the forum: not accredited by NIP, Registerplein
