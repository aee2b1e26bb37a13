"""Referrals are anonymised the series' retention period after they close, keeping the counts;
and the event file and privacy statement say what a series is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from symposium.models import (
    AuditEntry,
    Event,
    OutboxMessage,
    OutboxStatus,
    Referral,
    ReferralState,
)
from symposium.services.mail import render
from symposium.services.programme.event_files import EventFileError, parse_data
from symposium.services.referrals import inbox, retention
from tests.conftest import EXAMPLES
from tests.referrals.conftest import SLUG, make_referral

S = ReferralState
REFERRED = datetime(2027, 1, 18, 9, 0, tzinfo=UTC)
CLOSED = datetime(2027, 3, 31, 15, 0, tzinfo=UTC)


def _closed(db, series, coordinator, steps=(S.DECLINED, S.CLOSED)):  # type: ignore[no-untyped-def]
    referral = make_referral(db, series, REFERRED)
    for step in steps:
        inbox.change_state(db.session, coordinator, referral, step, CLOSED,
                           note="Wil liever individuele hulp.")  # fmt: skip
    db.session.commit()
    return referral


def test_purge_anonymises_closed_referrals_after_the_retention_and_keeps_the_counts(
    app, db, series, people, clock
) -> None:
    coordinator = people["coordinator"]
    old = _closed(db, series, coordinator)
    still_open = make_referral(db, series, REFERRED)  # never closed: kept however old
    render.render_pending(db.session)
    db.session.execute(update(OutboxMessage).values(status=OutboxStatus.SENT))  # sent long ago
    db.session.commit()
    runner = app.test_cli_runner()

    clock.now = datetime(2028, 3, 31, 14, 59, tzinfo=UTC)  # a minute short of 12 months
    result = runner.invoke(args=["purge", "--dry-run"])
    assert old.reference not in result.output

    clock.now = CLOSED.replace(year=2028) + timedelta(days=1)
    result = runner.invoke(args=["purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert (
        f"{SLUG}: would anonymise 1 referral(s) closed more than 12 month(s) ago" in result.output
    )
    assert old.reference not in result.output  # it leads back to the client in the GP's file
    assert "dry run: nothing changed" in result.output
    db.session.expire_all()
    assert old.client_name == "K.L." and old.anonymised_at is None

    original = old.reference
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert f"{SLUG}: anonymised 1 referral(s)" in result.output
    db.session.expire_all()
    kept = {c: getattr(old, c) for c in ("referred_at", "referrer_profession", "themes", "state")}
    assert kept == {"referred_at": REFERRED, "referrer_profession": "huisarts",
                    "themes": ["taal"], "state": S.CLOSED}  # fmt: skip
    assert [(c.from_state, c.to_state, c.at) for c in old.changes] == [
        (S.NEW, S.DECLINED, CLOSED), (S.DECLINED, S.CLOSED, CLOSED)
    ]  # fmt: skip
    assert {c.note for c in old.changes} == {""} and {c.user_id for c in old.changes} == {None}
    gone = ("referrer_name", "referrer_organisation", "referrer_email", "referrer_phone",
            "client_name", "client_phone", "client_email", "client_language", "need")  # fmt: skip
    assert {getattr(old, c) for c in gone} == {""}
    assert old.reference == f"#{old.id}"  # no longer the one the referrer keeps
    targets = set(db.session.scalars(select(AuditEntry.target)))
    assert f"referral {old.reference}" in targets and f"referral {original}" not in targets
    assert old.anonymised_at == clock.now
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.referral_id == old.id))
    assert {(m.to_address, m.body_text) for m in mails} == {("", "")}
    assert still_open.client_name == "K.L."
    assert db.session.scalar(select(AuditEntry.after).where(
        AuditEntry.action == "referrals_purged")) == {"anonymised": 1}  # fmt: skip
    # Once is enough.
    assert "0 change(s)" in runner.invoke(args=["purge"]).output


def test_the_retention_is_the_series_own(db, series, people, clock) -> None:
    series.referral_retention_months = 3
    old = _closed(db, series, people["coordinator"])
    assert retention.kept_until(old) == CLOSED.replace(month=6, day=30)
    assert retention.plan(db.session, CLOSED + timedelta(days=91)) != []
    assert retention.add_months(datetime(2027, 1, 31, tzinfo=UTC), 1).day == 28


def _file(**extra: object) -> dict[str, object]:
    return {"slug": "reeks", "title": "Reeks", "starts_at": datetime(2027, 3, 1, 9),
            "ends_at": datetime(2027, 3, 1, 17), **extra}  # fmt: skip


def test_the_event_file_says_whether_an_event_is_a_series(db) -> None:
    assert parse_data(_file(), db.session).values["kind"] == "symposium"
    spec = parse_data(_file(kind="series", referral_retention_months=24), db.session)
    assert (spec.values["kind"], spec.values["referral_retention_months"]) == ("series", 24)
    assert parse_data(_file(kind="series"), db.session).values["referral_retention_months"] == 12
    for wrong in ({"kind": "workshop"}, {"referral_retention_months": 6},
                  {"kind": "series", "referral_retention_months": 0},
                  {"kind": "series", "referral_retention_months": 121}):  # fmt: skip
        with pytest.raises(EventFileError):
            parse_data(_file(**wrong), db.session)


def test_the_example_series_is_a_series_and_the_symposium_is_not(db, series) -> None:
    kinds = dict(db.session.execute(select(Event.slug, Event.kind)).all())
    assert kinds[SLUG] == "series" and kinds["7roses-2027"] == "symposium"


def test_the_privacy_statement_of_a_series_has_a_part_on_referrals(client, series) -> None:
    page = client.get(f"/events/{SLUG}/privacy?lang=en").get_data(as_text=True)
    assert 'id="referrals-heading"' in page and "12 months after your referral" in page
    symposium = client.get("/events/7roses-2027/privacy?lang=en").get_data(as_text=True)
    assert "referrals-heading" not in symposium


def test_no_referral_is_purged_while_open(db, series, people) -> None:
    make_referral(db, series, REFERRED)
    assert retention.plan(db.session, REFERRED.replace(year=2040)) == []
    assert db.session.scalar(select(Referral.anonymised_at)) is None


def test_a_series_with_referrals_cannot_be_reloaded_as_a_symposium(
    app, db, series, clock, tmp_path
) -> None:
    make_referral(db, series, clock.now)
    text = (EXAMPLES / "welzijn-op-recept.toml").read_text()
    assert 'kind = "series"' in text
    path = tmp_path / "welzijn.toml"
    lines = [line for line in text.splitlines() if not line.startswith(("kind =", "referral_"))]
    path.write_text("\n".join(lines))
    for logo in EXAMPLES.glob("*.png"):
        (tmp_path / logo.name).write_bytes(logo.read_bytes())
    result = app.test_cli_runner().invoke(args=["load-event", str(path)])
    assert result.exit_code == 1 and "kind: the event has referrals" in result.output
    db.session.expire_all()
    assert db.session.get(Event, series.id).is_series
