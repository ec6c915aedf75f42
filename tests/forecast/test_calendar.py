import pandas as pd
import pytest

from forecast.calendar import next_trading_days


def after(day: str, count: int = 1) -> list[str]:
    return [f"{d:%Y-%m-%d}" for d in next_trading_days(pd.Timestamp(day), count)]


def test_weekends_and_regular_holidays_are_skipped():
    assert after("2026-11-25", 3) == ["2026-11-27", "2026-11-30", "2026-12-01"]  # Thanksgiving
    assert after("2026-04-02") == ["2026-04-06"]  # Good Friday, weekend
    assert after("2027-12-30") == ["2027-12-31"]  # New Year's Day on a Saturday: NYSE stays open
    assert after("2026-06-18") == ["2026-06-22"]  # Juneteenth, weekend
    assert after("2012-12-21", 2) == ["2012-12-24", "2012-12-26"]  # Christmas


@pytest.mark.parametrize(
    "last,expected",
    [
        ("2012-10-26", ["2012-10-31", "2012-11-01"]),  # Hurricane Sandy closed Oct 29 and 30
        ("2018-12-04", ["2018-12-06", "2018-12-07"]),  # mourning for President G. H. W. Bush
        ("2025-01-08", ["2025-01-10", "2025-01-13"]),  # mourning for President Carter
        ("2001-09-10", ["2001-09-17", "2001-09-18"]),  # closed after the September 11 attacks
    ],
)
def test_one_off_closures_are_skipped(last, expected):
    assert after(last, 2) == expected


def test_early_closes_are_trading_days():
    assert after("2026-11-25", 1) == ["2026-11-27"]  # the day after Thanksgiving closes at 1 pm
    assert after("2026-12-23", 1) == ["2026-12-24"]  # Christmas Eve closes early


def test_dates_outside_the_calendar_and_bad_counts_are_errors():
    with pytest.raises(ValueError, match=r"count must be >= 1; got 0"):
        next_trading_days(pd.Timestamp("2020-01-02"), 0)
    with pytest.raises(ValueError, match=r"fall outside the NYSE calendar \(1980-01-01 to "):
        next_trading_days(pd.Timestamp("1970-01-02"), 1)
    with pytest.raises(ValueError, match=r"outside the NYSE calendar"):
        next_trading_days(pd.Timestamp("2200-01-02"), 1)
