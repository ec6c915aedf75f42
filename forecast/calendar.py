"""NYSE trading days, for dating forecasts: weekends and exchange holidays are skipped."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from pandas.tseries.holiday import (
    AbstractHolidayCalendar,
    GoodFriday,
    Holiday,
    USLaborDay,
    USMartinLutherKingJr,
    USMemorialDay,
    USPresidentsDay,
    USThanksgivingDay,
    nearest_workday,
    sunday_to_monday,
)
from pandas.tseries.offsets import CustomBusinessDay


class NYSEHolidayCalendar(AbstractHolidayCalendar):
    """Full-day NYSE closures (regular holidays; one-off closures such as 2012's hurricane are not
    included)."""

    rules = [  # noqa: RUF012 - pandas reads this class attribute
        # NYSE does not close the Friday before a Saturday New Year's Day
        Holiday("New Year's Day", month=1, day=1, observance=sunday_to_monday),
        USMartinLutherKingJr,
        USPresidentsDay,
        GoodFriday,
        USMemorialDay,
        Holiday("Juneteenth", month=6, day=19, start_date="2022-01-01", observance=nearest_workday),
        Holiday("Independence Day", month=7, day=4, observance=nearest_workday),
        USLaborDay,
        USThanksgivingDay,
        Holiday("Christmas Day", month=12, day=25, observance=nearest_workday),
    ]


TRADING_DAY = CustomBusinessDay(calendar=NYSEHolidayCalendar())


_TABLE_START, _TABLE_END = "1980-01-01", "2100-12-31"


@lru_cache(maxsize=1)
def _trading_days() -> np.ndarray:
    # built once (~0.1 s): a lookup is then a binary search, not a calendar walk per request
    days = pd.date_range(_TABLE_START, _TABLE_END, freq=TRADING_DAY)
    return days.to_numpy(dtype="datetime64[ns]")


def next_trading_days(last: pd.Timestamp, count: int) -> pd.DatetimeIndex:
    """The `count` NYSE trading days after `last`."""
    if count < 1:
        raise ValueError(f"count must be >= 1; got {count}")
    day = pd.Timestamp(last).normalize()
    table = _trading_days()
    first = int(np.searchsorted(table, day.to_datetime64(), side="right"))
    if first + count <= len(table) and day >= pd.Timestamp(_TABLE_START):
        return pd.DatetimeIndex(table[first : first + count], name="date")
    return pd.date_range(day + TRADING_DAY, periods=count, freq=TRADING_DAY, name="date")
