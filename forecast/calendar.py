"""NYSE trading days, for dating forecasts: exchange-calendars' XNYS (weekends, holidays and
one-off closures such as Hurricane Sandy and national days of mourning), precomputed once so a
lookup is a binary search."""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import pandas as pd

EXCHANGE = "XNYS"  # the New York Stock Exchange in exchange-calendars
FIRST_DAY = "1980-01-01"  # sessions known from here ...
YEARS_AHEAD = 10  # ... to this many years after today


@lru_cache(maxsize=1)
def _schedule() -> tuple[np.ndarray, np.ndarray]:
    """Every XNYS session from FIRST_DAY to YEARS_AHEAD years ahead and its closing time in UTC
    (early closes included), both datetime64[ns] (~0.3 s, once per process)."""
    import exchange_calendars

    end = pd.Timestamp.today().normalize() + pd.DateOffset(years=YEARS_AHEAD)
    with warnings.catch_warnings():  # exchange-calendars' own pandas 3 deprecations, not ours
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        calendar = exchange_calendars.get_calendar(EXCHANGE, start=FIRST_DAY, end=end)
    closes = calendar.closes.dt.tz_convert("UTC").dt.tz_localize(None)
    return calendar.sessions.to_numpy(dtype="datetime64[ns]"), closes.to_numpy("datetime64[ns]")


def trading_days() -> np.ndarray:
    """Every XNYS session from FIRST_DAY to YEARS_AHEAD years ahead, as datetime64[ns]."""
    return _schedule()[0]


def _utc(now: pd.Timestamp) -> np.datetime64:
    stamp = pd.Timestamp(now)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.tz_localize(None).to_datetime64()


def last_closed_session(now: pd.Timestamp) -> pd.Timestamp:
    """The latest NYSE session that had closed by `now` (naive means UTC): the newest day whose
    close a price source can have."""
    sessions, closes = _schedule()
    i = int(np.searchsorted(closes, _utc(now), side="right")) - 1
    if i < 0:
        raise ValueError(f"{now} is before the NYSE calendar's first session ({FIRST_DAY})")
    return pd.Timestamp(sessions[i])


def next_close(now: pd.Timestamp) -> pd.Timestamp:
    """The first NYSE close after `now` (naive means UTC), as a UTC timestamp."""
    _, closes = _schedule()
    i = int(np.searchsorted(closes, _utc(now), side="right"))
    if i >= len(closes):
        raise ValueError(f"{now} is past the NYSE calendar's last session")
    return pd.Timestamp(closes[i]).tz_localize("UTC")


@lru_cache(maxsize=4096)
def next_trading_days(last: pd.Timestamp, count: int) -> pd.DatetimeIndex:
    """The `count` NYSE trading days after `last`. Raises ValueError for count < 1 or a date
    outside the calendar's range. Cached: every request forecasting from the same day asks for
    the same days (an index is immutable, so sharing it is safe)."""
    if count < 1:
        raise ValueError(f"count must be >= 1; got {count}")
    day = pd.Timestamp(last).normalize()
    table = trading_days()
    first = int(np.searchsorted(table, day.to_datetime64(), side="right"))
    if day < pd.Timestamp(FIRST_DAY) or first + count > len(table):
        raise ValueError(
            f"{count} trading days after {day:%Y-%m-%d} fall outside the NYSE calendar "
            f"({FIRST_DAY} to {pd.Timestamp(table[-1]):%Y-%m-%d})"
        )
    return pd.DatetimeIndex(table[first : first + count], name="date")
