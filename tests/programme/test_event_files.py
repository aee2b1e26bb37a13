"""Loading event definition files: create, update in place, refuse bad files whole."""

import shutil
import tomllib
from pathlib import Path

import tomli_w
from sqlalchemy import select

from symposium.models import Base, Event, Meeting, Session
from tests.conftest import EXAMPLES

SERIES_EVENT = """
slug = "groepen"
title = "Groepen"
status = "published"
starts_at = 2027-03-01T09:00:00
ends_at = 2027-04-30T22:00:00

[[sessions]]
key = "eenzaamheid"
kind = "group"
title = "Eenzaamheid"
capacity = 12
themes = ["eenzaamheid"]
series = { first_starts_at = 2027-03-16T19:00:00, count = 6, duration_minutes = 90 }
"""


def snapshot(db) -> dict[str, list[tuple]]:
    """Every row of every table, to prove what a load did or did not touch.

    Events' programme stamps are left out: they change with every change to a programme
    (that is their job; ``programme_stamps`` shows them).
    """
    return {
        table.name: sorted(
            map(
                tuple,
                db.session.execute(
                    select(*(c for c in table.c if c.name != "programme_stamp"))
                ).all(),
            ),
            key=repr,
        )
        for table in Base.metadata.sorted_tables
    }


def programme_stamps(db) -> dict[str, str]:
    return dict(db.session.execute(select(Event.slug, Event.programme_stamp)).all())


def run(app, path: Path):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["load-event", str(path)])


def write(tmp_path: Path, name: str, data: dict | str) -> Path:
    """The file in ``tmp_path``, with the examples' logos beside it (their [branding])."""
    for logo in EXAMPLES.glob("*.png"):
        shutil.copy(logo, tmp_path)
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else tomli_w.dumps(data))
    return path


def test_examples_load_and_reload_without_changes(app, db, load_example) -> None:
    for name in ("7roses-symposium.toml", "welzijn-op-recept.toml"):
        assert "created event 1" in load_example(name)
    before, stamps = snapshot(db), programme_stamps(db)
    assert load_example("7roses-symposium.toml").strip() == "7roses-2027: no changes"
    assert load_example("welzijn-op-recept.toml").strip() == "welzijn-op-recept-2027: no changes"
    db.session.expire_all()
    assert snapshot(db) == before
    assert programme_stamps(db) == stamps  # nothing changed, so every cache stays valid


def test_7roses_example_has_two_rounds_of_four_workshops(db, load_example) -> None:
    load_example("7roses-symposium.toml")
    event = db.session.scalars(select(Event).where(Event.slug == "7roses-2027")).one()
    assert len(event.rounds) == 2
    assert [len(r.sessions) for r in event.rounds] == [4, 4]
    workshops = [s for r in event.rounds for s in r.sessions]
    assert any(s.professions for s in workshops), "some workshops are restricted"
    assert any(s.quotas for s in workshops), "some workshops have a profession quota"
    assert any(s.kind == "plenary" for s in event.sessions)


def test_welzijn_example_groups_meet_six_times(db, load_example) -> None:
    load_example("welzijn-op-recept.toml")
    event = db.session.scalars(select(Event).where(Event.slug == "welzijn-op-recept-2027")).one()
    groups = [s for s in event.sessions if s.kind == "group"]
    assert groups and all(len(g.meetings) == 6 for g in groups)
    themes = {t.code for g in groups for t in g.themes}
    assert len([t for t in themes if t]) >= 16


def test_edited_file_updates_in_place_and_keeps_other_rows(app, db, load_example, tmp_path):
    load_example("7roses-symposium.toml")
    data = tomllib.loads((EXAMPLES / "7roses-symposium.toml").read_text())
    target = next(s for s in data["sessions"] if s.get("round"))
    key = target["key"]
    before, stamps = snapshot(db), programme_stamps(db)
    session_before = db.session.scalars(select(Session).where(Session.key == key)).one()
    session_id = session_before.id
    target["room"] = "Zaal Nieuw"
    target["capacity"] = 99

    result = run(app, write(tmp_path, "edited.toml", data))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "7roses-2027: updated sessions 1"

    db.session.expire_all()
    after = snapshot(db)
    session = db.session.get(Session, session_id)
    assert (session.room, session.capacity) == ("Zaal Nieuw", 99)
    # Only that one row of sessions differs; every other table is identical but for the
    # audit trail, which records the load.
    for table in before:
        if table not in ("sessions", "audit_entries"):
            assert after[table] == before[table], table
    (entry,) = [row for row in after["audit_entries"] if row not in before["audit_entries"]]
    assert "event_file_loaded" in entry
    changed = [r for r in after["sessions"] if r not in before["sessions"]]
    changed += [r for r in before["sessions"] if r not in after["sessions"]]
    assert {row[0] for row in changed} == {session_id}
    assert programme_stamps(db)["7roses-2027"] != stamps["7roses-2027"]  # caches are stale now


def test_removed_session_is_deleted_and_others_keep_their_ids(app, db, load_example, tmp_path):
    load_example("7roses-symposium.toml")
    ids = dict(db.session.execute(select(Session.key, Session.id)).all())
    data = tomllib.loads((EXAMPLES / "7roses-symposium.toml").read_text())
    removed = data["sessions"].pop()["key"]
    result = run(app, write(tmp_path, "fewer.toml", data))
    assert result.exit_code == 0, result.output
    assert "deleted sessions 1" in result.output
    db.session.expire_all()
    now = dict(db.session.execute(select(Session.key, Session.id)).all())
    assert removed not in now
    assert now == {k: v for k, v in ids.items() if k != removed}


def test_series_repeats_on_the_wall_clock_across_dst(db, load_example, tmp_path) -> None:
    load_example(write(tmp_path, "groepen.toml", SERIES_EVENT))
    meetings = db.session.scalars(select(Meeting).order_by(Meeting.starts_at)).all()
    assert [m.key for m in meetings] == ["1", "2", "3", "4", "5", "6"]
    local = [m.starts_at.astimezone(Event(timezone="Europe/Amsterdam").tz) for m in meetings]
    assert {(t.hour, t.minute) for t in local} == {(19, 0)}
    assert [m.starts_at.hour for m in meetings] == [18, 18, 17, 17, 17, 17]  # UTC: CET, then CEST


INVALID = """
slug = "Bad Slug"
title = "Kapot"
starts_at = 2027-03-18T09:00:00
ends_at = 2027-03-18T08:00:00
status = "open"
colour = "red"

[organiser]
email = "not-an-address"

[[rounds]]
key = "r1"
title = "Ronde 1"
starts_at = 2027-03-18T13:30:00
ends_at = 2027-03-18T13:00:00

[[sessions]]
key = "w1"
title = "Workshop"
round = "r9"
capacity = -1
professions = ["huisarts", "astronaut"]
quotas = { psychiater = 2 }
themes = ["hope", "nonsense"]
hours = "veel"

[[sessions]]
key = "w1"
title = "Duplicate"
starts_at = 2027-03-28T02:30:00
"""


def test_invalid_file_lists_every_problem_and_writes_nothing(app, db, load_example, tmp_path):
    load_example("7roses-symposium.toml")
    before = snapshot(db)
    result = run(app, write(tmp_path, "invalid.toml", INVALID))
    assert result.exit_code == 1
    out = result.output
    for expected in [
        "slug: use lower-case letters",
        "ends_at: must be after the start",
        "status: must be one of: draft, published, cancelled",
        "colour: unknown key",
        "organiser.email: is not an e-mail address",
        "rounds.r1.ends_at: must be after the start",
        "sessions.w1.round: no round with key 'r9'",
        "sessions.w1.capacity: must be at least 0",
        "sessions.w1.professions: unknown profession 'astronaut'",
        "sessions.w1.quotas.psychiater: this profession may not join the session",
        "sessions.w1.themes: unknown theme 'nonsense'",
        "sessions.w1.hours: must be a number of hours",
        "sessions.w1.key: key 'w1' is used twice",
        "sessions.w1.starts_at: 2027-03-28 02:30 does not exist in Europe/Amsterdam",
    ]:
        assert expected in out, f"missing {expected!r} in:\n{out}"
    db.session.expire_all()
    assert snapshot(db) == before


def test_invalid_update_of_existing_event_changes_nothing(app, db, load_example, tmp_path):
    load_example("7roses-symposium.toml")
    before = snapshot(db)
    data = tomllib.loads((EXAMPLES / "7roses-symposium.toml").read_text())
    data["title"] = "Nieuwe titel"
    data["sessions"][-1]["professions"] = ["astronaut"]
    result = run(app, write(tmp_path, "half.toml", data))
    assert result.exit_code == 1
    assert "unknown profession 'astronaut'" in result.output
    db.session.expire_all()
    assert snapshot(db) == before


def test_syntax_error_and_missing_file(app, tmp_path) -> None:
    result = run(app, write(tmp_path, "broken.toml", 'slug = "x"\ntitle = \n'))
    assert result.exit_code == 1
    assert "not valid TOML" in result.output and "line 2" in result.output
    result = run(app, tmp_path / "absent.toml")
    assert result.exit_code != 0
    assert "absent.toml" in result.output


def test_quota_respects_event_professions_and_hours_must_be_finite(app, tmp_path) -> None:
    data = tomllib.loads(SERIES_EVENT)
    data["professions"] = ["huisarts"]
    data["sessions"][0]["quotas"] = {"psychiater": 2}
    data["sessions"][0]["hours"] = float("nan")
    data["languages"] = ["nl", "fr"]
    result = run(app, write(tmp_path, "q.toml", data))
    assert result.exit_code == 1
    assert "sessions.eenzaamheid.quotas.psychiater: this profession may not join" in result.output
    assert "sessions.eenzaamheid.hours: must be a number of hours" in result.output
    assert "languages[2]: must be one of: nl, en" in result.output


def _register(db, clock, event_slug: str, session_key: str, n: int):  # type: ignore[no-untyped-def]
    from symposium.services.registration import lifecycle, validation
    from tests.conftest import registration_data

    event = db.session.scalars(select(Event).where(Event.slug == event_slug)).one()
    session = next(s for s in event.sessions if s.key == session_key)
    data = validation.RegistrationInput(**registration_data(n), sessions=[session.id])
    lifecycle.register(db.session, event, data, clock.now, "test")
    db.session.commit()


def test_reload_raising_capacity_promotes_and_lowering_below_confirmed_is_refused(
    app, db, clock, tmp_path
) -> None:
    from symposium.models import Enrolment

    data = tomllib.loads(SERIES_EVENT)
    data["registration_opens_at"] = data["starts_at"].replace(month=1)
    data["sessions"][0]["capacity"] = 2
    run(app, write(tmp_path, "g.toml", data))
    clock.now = clock.now.replace(year=2027, month=1, day=15)
    for n in range(4):
        _register(db, clock, "groepen", "eenzaamheid", n)
    waiting = lambda: db.session.scalars(  # noqa: E731
        select(Enrolment.waitlist_position).where(Enrolment.status == "waitlisted")
    ).all()
    assert sorted(waiting()) == [1, 2]

    data["sessions"][0]["capacity"] = 1
    result = run(app, write(tmp_path, "g.toml", data))
    assert result.exit_code == 1
    assert "sessions.eenzaamheid.capacity: 2 places are already confirmed" in result.output

    data["sessions"][0]["capacity"] = 3
    result = run(app, write(tmp_path, "g.toml", data))
    assert result.exit_code == 0, result.output
    assert "promoted from waiting list 1" in result.output
    db.session.expire_all()
    assert waiting() == [1]

    del data["sessions"][0]
    data["sessions"] = [{"key": "ander", "title": "Ander", "starts_at": data["starts_at"],
                         "ends_at": data["ends_at"]}]  # fmt: skip
    result = run(app, write(tmp_path, "g.toml", data))
    assert result.exit_code == 1
    assert "sessions.eenzaamheid: has 4 registration(s)" in result.output
