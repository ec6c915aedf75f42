"""NYSE trading days, for dating forecasts: weekends and exchange holidays are skipped."""

from __future__ import annotations

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


def next_trading_days(last: pd.Timestamp, count: int) -> pd.DatetimeIndex:
    """The `count` NYSE trading days after `last`."""
    if count < 1:
        raise ValueError(f"count must be >= 1; got {count}")
    start = pd.Timestamp(last).normalize() + TRADING_DAY
    return pd.date_range(start, periods=count, freq=TRADING_DAY, name="date")
