"""Instants are stored in UTC and shown on the event's own wall clock."""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from symposium.clock import localise
from symposium.models import Event, Session

AMS = ZoneInfo("Europe/Amsterdam")

# 25 October 2026 is the last Sunday of October: at 03:00 CEST the clocks go back to 02:00 CET.
DST_EVENT = """
slug = "herfst"
title = "Herfstsymposium"
status = "published"
starts_at = 2026-10-24T09:00:00
ends_at = 2026-10-25T17:00:00

[[sessions]]
key = "zaterdag"
title = "Zaterdagsessie"
starts_at = 2026-10-24T10:00:00
ends_at = 2026-10-24T11:00:00

[[sessions]]
key = "zondag"
title = "Zondagsessie"
starts_at = 2026-10-25T10:00:00
ends_at = 2026-10-25T11:00:00
"""


def test_instants_round_trip_as_utc(db) -> None:
    start = datetime(2027, 3, 18, 9, 30, tzinfo=AMS)
    db.session.add(
        Event(slug="e", title="E", starts_at=start, ends_at=datetime(2027, 3, 18, 17, tzinfo=AMS))
    )
    db.session.commit()
    db.session.expunge_all()
    stored = db.session.scalars(select(Event)).one().starts_at
    assert stored == start
    assert stored.tzinfo == UTC
    assert stored.hour == 8


def test_naive_datetimes_are_refused(db) -> None:
    db.session.add(Event(slug="e", title="E", starts_at=datetime(2027, 3, 18, 9), ends_at=None))
    with pytest.raises(StatementError, match="naive datetime"):
        db.session.flush()
    db.session.rollback()


def test_session_on_last_sunday_of_october_shows_local_time(
    db, client, load_example, tmp_path
) -> None:
    path = tmp_path / "herfst.toml"
    path.write_text(DST_EVENT)
    load_example(path)
    sessions = {s.key: s for s in db.session.scalars(select(Session))}
    # Same wall-clock time, different UTC offset on either side of the change.
    assert sessions["zaterdag"].starts_at == datetime(2026, 10, 24, 8, 0, tzinfo=UTC)
    assert sessions["zondag"].starts_at == datetime(2026, 10, 25, 9, 0, tzinfo=UTC)

    page = client.get("/events/herfst/").get_data(as_text=True)
    assert '<time datetime="2026-10-25T09:00:00+00:00">10:00</time>' in page
    assert '<time datetime="2026-10-24T08:00:00+00:00">10:00</time>' in page
    assert "zondag 25 oktober 2026" in page

    page = client.get(f"/events/herfst/sessions/{sessions['zondag'].id}").get_data(as_text=True)
    shown = re.sub(r"<[^>]+>", " ", page)  # visible text only, not the UTC attributes
    assert "10:00" in shown and "11:00" in shown and "09:00" not in shown


def test_times_a_dst_change_skips_or_repeats_are_refused() -> None:
    with pytest.raises(ValueError, match="happens twice"):
        localise(datetime(2026, 10, 25, 2, 30), AMS)
    with pytest.raises(ValueError, match="does not exist"):
        localise(datetime(2027, 3, 28, 2, 30), AMS)
    assert localise(datetime(2027, 3, 28, 3, 30), AMS) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
