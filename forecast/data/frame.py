"""The price frame contract: names, ticker rules and validation shared by every source."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from forecast.config import REQUIRED_COLUMNS
from forecast.data.errors import PriceDataError

log = logging.getLogger(__name__)

PRICE_COLUMNS = ("open", "high", "low", "close", "adj_close")
COLUMNS = (*PRICE_COLUMNS, "volume")


def column_name(raw: object) -> str:
    """A source's column name as the contract spells it: `Adj Close` is adj_close."""
    return str(raw).strip().lower().replace(" ", "_")


def complete_columns(frame: pd.DataFrame, feature_set: str | None, what: str) -> pd.DataFrame:
    """`frame` (lower-case column names) with every contract column: those `feature_set` reads
    must be there (all of them when it is None), the rest are filled from the close (volume
    from 0) so a `close` model needs only dates and closes. PriceDataError names what lacks."""
    found = [str(c) for c in frame.columns]
    if "close" not in found and "adj_close" not in found:
        raise PriceDataError(f"{what} needs a 'close' (or 'adj_close') column; found {found}")
    needed = COLUMNS if feature_set is None else REQUIRED_COLUMNS[feature_set]
    missing = [c for c in needed if c not in found and c not in ("close", "adj_close")]
    if missing:
        reader = "a price frame" if feature_set is None else f"features {feature_set!r}"
        raise PriceDataError(f"{what} lacks columns {missing}, which {reader} read; found {found}")
    out = frame.copy()
    if "close" not in found:
        out["close"] = out["adj_close"]
    if "adj_close" not in found:
        out["adj_close"] = out["close"]
    for column in ("open", "high", "low"):
        if column not in found:
            out[column] = out["close"]
    if "volume" not in found:
        out["volume"] = 0.0
    return out


def _dates(index: pd.Index | np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(pd.Timestamp(d).strftime("%Y-%m-%d") for d in index[:limit])
    more = f" and {len(index) - limit} more" if len(index) > limit else ""
    return shown + more


def validate_prices(frame: pd.DataFrame, ticker: str, source: str) -> pd.DataFrame:
    """Return the frame in the contract's shape, or raise PriceDataError naming what is wrong.

    Contract: tz-naive DatetimeIndex `date`, strictly increasing and unique; float64 columns
    open high low close adj_close volume; prices > 0, volume >= 0, high >= low;
    attrs ticker and source. Rows with missing values are dropped with a warning.
    """
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise PriceDataError(
            f"{ticker} ({source}): missing columns {missing}; need {list(COLUMNS)}"
        )
    out = frame.loc[:, list(COLUMNS)].astype("float64")
    index = pd.DatetimeIndex(out.index)
    if index.tz is not None:
        index = index.tz_localize(None)
    out.index = index.normalize().as_unit("ns").rename("date")

    values = out.to_numpy()  # (T, 6) in COLUMNS order: one pass of array checks
    bad_rows = ~np.isfinite(values).all(axis=1)
    if bad_rows.any():
        log.warning(
            "%s (%s): dropped %d rows with missing or infinite values (%s)",
            ticker,
            source,
            int(bad_rows.sum()),
            _dates(out.index[bad_rows]),
        )
        out = out.loc[~bad_rows]
        values = values[~bad_rows]
    if out.empty:
        raise PriceDataError(f"{ticker} ({source}): no price rows")
    _check_dates(out.index, ticker, source)
    check_values(out.index, {c: values[:, i] for i, c in enumerate(COLUMNS)}, ticker, source)
    out.attrs = {"ticker": ticker, "source": source}
    return out


def _check_dates(index: pd.Index, ticker: str, source: str) -> None:
    steps = np.diff(index.to_numpy().astype("int64"))
    if (steps > 0).all():
        return
    duplicated = index[index.duplicated()]
    if len(duplicated):
        raise PriceDataError(f"{ticker} ({source}): duplicate dates {_dates(duplicated.unique())}")
    raise PriceDataError(
        f"{ticker} ({source}): dates must be strictly increasing; out of order at "
        f"{_dates(index[1:][steps <= 0])}"
    )


def check_values(
    dates: pd.Index | np.ndarray, columns: dict[str, np.ndarray], ticker: str, source: str
) -> None:
    """The contract's value rules on whichever of the COLUMNS `columns` holds (finite float
    arrays, one value per date): prices > 0, volume >= 0, high >= low; PriceDataError naming
    the column and the dates."""
    for name in PRICE_COLUMNS:
        if name in columns and (columns[name] <= 0).any():
            raise PriceDataError(
                f"{ticker} ({source}): column {name!r} must be positive; "
                f"got non-positive values on {_dates(dates[columns[name] <= 0])}"
            )
    if "volume" in columns and (columns["volume"] < 0).any():
        raise PriceDataError(
            f"{ticker} ({source}): column 'volume' must be >= 0; negative on "
            f"{_dates(dates[columns['volume'] < 0])}"
        )
    if "high" in columns and "low" in columns:
        inverted = columns["high"] < columns["low"]
        if inverted.any():
            raise PriceDataError(
                f"{ticker} ({source}): 'high' is below 'low' on {_dates(dates[inverted])}"
            )


def clip_dates(
    frame: pd.DataFrame, start: pd.Timestamp | None, end: pd.Timestamp | None
) -> pd.DataFrame:
    """Rows with start <= date <= end (both inclusive), keeping attrs."""
    mask = np.ones(len(frame), dtype=bool)
    if start is not None:
        mask &= frame.index >= start
    if end is not None:
        mask &= frame.index <= end
    out = frame.loc[mask]
    out.attrs = dict(frame.attrs)
    return out


def parse_date(value: str | pd.Timestamp | None, name: str) -> pd.Timestamp | None:
    """A tz-naive day, or None; errors name the argument and the value."""
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as err:
        raise PriceDataError(f"{name}={value!r} is not a date; use YYYY-MM-DD") from err
    if pd.isna(stamp):
        raise PriceDataError(f"{name}={value!r} is not a date; use YYYY-MM-DD")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp.normalize()
