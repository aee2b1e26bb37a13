"""`flask --app symposium purge`, with and without --dry-run."""

from __future__ import annotations

from sqlalchemy import select

from symposium.models import Registration
from tests.privacy.conftest import after_event


def test_purge_command_dry_run_then_for_real_then_nothing(app, db, event, register, clock):
    register(1, event.sessions[1].id)
    register(2)
    runner = app.test_cli_runner()

    clock.now = after_event(event, 91)
    result = runner.invoke(args=["purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "klein: would anonymise 2 registration(s)" in result.output
    assert "register numbers kept for accreditation: 1" in result.output
    assert "personal data until 2027-05-05, register numbers until 2027-06-04" in result.output
    assert "dry run: nothing changed" in result.output
    db.session.expire_all()
    assert sorted(db.session.scalars(select(Registration.name))) == ["Deelnemer 1", "Deelnemer 2"]

    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "klein: anonymised 2 registration(s)" in result.output
    db.session.expire_all()
    assert db.session.scalars(select(Registration.name)).all() == ["", ""]

    result = runner.invoke(args=["purge"])
    assert "klein: anonymised 0 registration(s)" in result.output
    assert result.output.strip().endswith("0 change(s)")
