"""Request rows (API bodies, pyfunc inputs, the logged input example) -> a validated price frame.

The one rule for prices a user sends: dates oldest first and not in the future; a `close` on
every row (or an `adj_close` on every row); `adj_close` on every row or on none, so a forecast
never mixes split-adjusted and raw prices; the columns the model's features read; finite
numbers. The columns the features do not read are filled from the close (volume from 0), so a
`close` model needs only dates and closes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from forecast.config import REQUIRED_COLUMNS
from forecast.data.errors import PriceDataError
from forecast.data.frame import COLUMNS, check_values, column_name

Rows = pd.DataFrame | Mapping[str, Sequence[Any]]  # columns of rows, oldest first


class HistoryError(PriceDataError):
    """Rows the rule refuses; `row` (from 0, oldest first) and `column` say where, when one
    row or column is to blame."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.row, self.column = row, column


def row_count(rows: Rows) -> int:
    """How many rows `rows` holds (its longest column)."""
    if isinstance(rows, pd.DataFrame):
        return len(rows)
    return max((len(values) for values in rows.values()), default=0)


def _columns(rows: Rows) -> dict[str, Any]:
    if isinstance(rows, pd.DataFrame):
        return {column_name(c): rows[c].to_numpy() for c in rows}
    return {column_name(c): v for c, v in rows.items()}


_EPOCH = dt.date(1970, 1, 1).toordinal()


def _dates(values: Any) -> np.ndarray:
    """(T,) datetime64[D] from text, dates or datetime64; HistoryError naming the first bad."""
    if isinstance(values, list):  # API rows: dates (datetimes count by their day)
        try:
            ordinals = np.fromiter((v.toordinal() for v in values), np.int64, len(values))
            return (ordinals - _EPOCH).astype("datetime64[D]")
        except AttributeError:  # text: parsed below
            pass
    try:
        days = np.asarray(values).astype("datetime64[D]")
    except (ValueError, TypeError):
        days = pd.to_datetime(pd.Series(values), errors="coerce").to_numpy()
        days = days.astype("datetime64[D]")
    bad = np.flatnonzero(np.isnat(days))
    if len(bad):
        shown = [str(v) for v in np.asarray(values, dtype=object)[bad[:3]]]
        raise HistoryError(f"history has unreadable dates {shown}; use YYYY-MM-DD", bad[0], "date")
    return days


def _numbers(name: str, values: Any) -> np.ndarray:
    """(T,) float64, NaN where a row has none; HistoryError naming the first non-number."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError):
        numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
        first = int(np.flatnonzero(np.isnan(numbers))[0])
        raise HistoryError(
            f"history row {first}: {name}={values[first]!r} is not a number", first, name
        ) from None


def _check_order(days: np.ndarray, today: dt.date | None) -> None:
    steps = np.diff(days.view(np.int64))
    if (steps <= 0).any():
        i = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise HistoryError(
            f"dates must be strictly increasing (oldest first); {days[i]} follows {days[i - 1]}",
            i,
            "date",
        )
    latest = (today or dt.date.today()).toordinal() - _EPOCH + 1  # a time zone ahead: tomorrow
    if len(days) and days[-1].view(np.int64) > latest:
        raise HistoryError(f"date {days[-1]} is in the future", len(days) - 1, "date")


def _all_or_none(name: str, values: np.ndarray, days: np.ndarray) -> bool:
    """Whether `name` is given: on every row (True), on none (False); HistoryError otherwise."""
    missing = np.isnan(values)
    if missing.all():
        return False
    if missing.any():
        rows = np.flatnonzero(missing)
        raise HistoryError(
            f"history has {name} on some rows only ({len(rows)} rows without it: dates "
            f"{[str(d) for d in days[rows[:3]]]}{' ...' if len(rows) > 3 else ''}); give it on "
            "every row or on none, so adjusted and raw prices never mix",
            int(rows[0]),
            name,
        )
    return True


def prices_from_rows(
    rows: Rows, feature_set: str, ticker: str = "HISTORY", *, today: dt.date | None = None
) -> pd.DataFrame:
    """The validated price frame of request rows (a frame or columns: `date`, `close` or
    `adj_close`, plus the columns `feature_set` reads), by the rule in this module's docstring.
    `today` is for tests. Raises HistoryError naming the row and column to blame."""
    days, columns = price_columns(rows, feature_set, ticker, today=today)
    index = pd.DatetimeIndex(days.astype("datetime64[ns]"), name="date")
    frame = pd.DataFrame(columns, index=index)[list(COLUMNS)]
    frame.attrs = {"ticker": ticker, "source": "history"}
    return frame


def price_columns(
    rows: Rows,
    feature_set: str,
    ticker: str = "HISTORY",
    *,
    today: dt.date | None = None,
    also: tuple[str, ...] = (),
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """prices_from_rows without the frame: the days (datetime64[D]) and each contract column
    as float64 (what the features are built from, without pandas on a request's path). The
    rows must hold the columns `feature_set` and the feature sets `also` read."""
    columns = _columns(rows)
    if "date" not in columns:
        raise HistoryError(f"history needs a 'date' column; got {list(columns)}")
    days = _dates(columns["date"])
    _check_order(days, today)
    prices = {name: _numbers(name, columns[name]) for name in COLUMNS if name in columns}
    given = {name for name, values in prices.items() if _all_or_none(name, values, days)}
    if not given & {"close", "adj_close"}:
        raise HistoryError(
            f"history needs a 'close' (or 'adj_close') column; found {list(columns)}"
        )
    for reader in (feature_set, *also):
        lacking = [c for c in REQUIRED_COLUMNS[reader] if c not in given | {"close"}]
        if lacking:
            what = (
                f"features {reader!r} read"
                if reader == feature_set
                else f"this model's interval rule reads ({reader!r} features)"
            )
            raise HistoryError(
                f"history lacks columns {lacking}, which {what}; found {sorted(given)}"
            )
    for name in sorted(given):  # missing values are refused above; infinite ones here
        bad = np.flatnonzero(~np.isfinite(prices[name]))
        if len(bad):
            raise HistoryError(
                f"history has {len(bad)} rows with infinite prices (dates "
                f"{[str(d) for d in days[bad[:3]]]})",
                int(bad[0]),
                name,
            )
    # the contract (frame.validate_prices) in array passes: the rows are finite, in order and
    # tz-naive days; what remains is the value rules, on the columns given
    check_values(days, {name: prices[name] for name in given}, ticker, "history")
    close = prices["close"] if "close" in given else prices["adj_close"]
    filled = {
        "close": close,
        "adj_close": prices["adj_close"] if "adj_close" in given else close,
        **{c: prices[c] if c in given else close for c in ("open", "high", "low")},
        "volume": prices["volume"] if "volume" in given else np.zeros(len(days)),
    }
    return days, filled


def rows_of(prices: pd.DataFrame, feature_set: str, target: str) -> pd.DataFrame:
    """The request rows a model of `feature_set` and `target` reads, from a price frame: `date`
    as text and `close` (the target's prices) for the close set; every column otherwise. What
    the rule above turns back into the frame's prices."""
    dates = pd.DatetimeIndex(prices.index).strftime("%Y-%m-%d")
    if feature_set == "close":
        return pd.DataFrame({"date": dates, "close": prices[target].to_numpy()})
    return pd.DataFrame({"date": dates, **{c: prices[c].to_numpy() for c in COLUMNS}})
