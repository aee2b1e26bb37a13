"""The rule for a group's meetings: as few overrides as the dates allow."""

from datetime import date, datetime, timedelta

import pytest

from symposium.services.programme.recurrence import series, through


def meetings(*days: int, hour: int = 19, minutes: int = 120) -> list[tuple[datetime, datetime]]:
    starts = [datetime(2027, 3, 1, hour) + timedelta(days=d) for d in days]
    return [(s, s + timedelta(minutes=minutes)) for s in starts]


def overrides(found: list[tuple[datetime, datetime]]) -> list[int]:
    rule = series(found)
    return [k for k, (start, end) in enumerate(found) if not rule.placed(k, start, end)]


def test_weekly_is_one_rule_without_overrides() -> None:
    found = meetings(0, 7, 14, 21)
    rule = series(found)
    assert rule.rrule == {"FREQ": "WEEKLY", "INTERVAL": 1, "BYDAY": "MO", "COUNT": 4}
    assert overrides(found) == []


def test_fortnightly_and_daily() -> None:
    assert series(meetings(0, 14, 28)).rrule["INTERVAL"] == 2
    assert series(meetings(0, 3, 6)).rrule == {"FREQ": "DAILY", "INTERVAL": 3, "COUNT": 3}


@pytest.mark.parametrize(
    ("days", "moved"),
    [
        ((0, 8, 14, 21), [1]),  # one meeting moved a day: still weekly
        ((0, 7, 14, 28, 35, 42), [3, 4, 5]),  # a week skipped (Easter Monday)
    ],
)
def test_irregular_meetings_become_overrides(days: tuple[int, ...], moved: list[int]) -> None:
    found = meetings(*days)
    assert series(found).rrule["FREQ"] == "WEEKLY"
    assert overrides(found) == moved


def test_other_length_or_hour_is_an_override_and_one_day_needs_a_step() -> None:
    found = meetings(0, 7, 14)
    found[2] = (found[2][0], found[2][1] + timedelta(minutes=30))
    assert overrides(found) == [2]
    same_day = meetings(0, 0, hour=10)
    assert series(same_day).rrule == {"FREQ": "DAILY", "INTERVAL": 1, "COUNT": 2}
    assert overrides(same_day) == [1]
    with pytest.raises(ValueError, match="at least one"):
        series([])


def test_a_rule_through_days_skips_the_days_between_and_moves_none() -> None:
    """The invitation's days: the gcd of their distances as the step, the rest EXDATE."""
    weekly = through([date(2027, 2, 4), date(2027, 2, 11), date(2027, 2, 25)])
    assert weekly.rrule == {"FREQ": "WEEKLY", "INTERVAL": 1, "BYDAY": "TH", "COUNT": 4}
    assert weekly.skipped == (date(2027, 2, 18),)
    # Mondays and Wednesdays: daily, every other day skipped; no day lands elsewhere.
    two = through([date(2027, 3, 8), date(2027, 3, 10), date(2027, 3, 15), date(2027, 3, 17)])
    assert two.rrule == {"FREQ": "DAILY", "INTERVAL": 1, "COUNT": 10}
    assert len(two.skipped) == 6 and date(2027, 3, 9) in two.skipped
    assert through([date(2027, 3, 1), date(2027, 3, 4)]).rrule["INTERVAL"] == 3
    with pytest.raises(ValueError, match="at least two"):
        through([date(2027, 3, 1)])
