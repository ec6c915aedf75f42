"""User CSV files in Yahoo's format (Date, Open, ..., Adj Close, Volume) or our lower-case names."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from forecast.data.errors import PriceDataError
from forecast.data.frame import COLUMNS, column_name, complete_columns

log = logging.getLogger(__name__)


def read_price_csv(path: str | Path, ticker: str, feature_set: str | None = None) -> pd.DataFrame:
    """The CSV as a raw price frame (validated by the caller); errors name the file and cells.
    Only `date`, a close and the columns `feature_set` reads must be there (all when None)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise PriceDataError(f"{ticker}: CSV file {str(path)!r} does not exist")
    try:
        raw = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except pd.errors.EmptyDataError as err:
        raise PriceDataError(f"{ticker}: CSV file {str(path)!r} is empty") from err
    except (UnicodeDecodeError, pd.errors.ParserError) as err:
        raise PriceDataError(
            f"{ticker}: CSV file {str(path)!r} is not a readable CSV: {err}"
        ) from err
    raw.columns = [column_name(c) for c in raw.columns]
    if "adj_close" not in raw.columns and "close" in raw.columns:
        log.warning("%s: %s has no 'Adj Close' column; using 'Close' for it", ticker, path)
        raw["adj_close"] = raw["close"]
    if "date" not in raw.columns:
        raise PriceDataError(
            f"{ticker}: CSV file {str(path)!r} has no 'Date' column; found {list(raw.columns)}"
        )
    # fail on what the features need before anything else, naming every missing column
    complete_columns(raw.head(0), feature_set, f"{ticker}: CSV file {str(path)!r}")
    if raw.empty:
        raise PriceDataError(f"{ticker}: CSV file {str(path)!r} has a header but no rows")

    dates = pd.to_datetime(raw["date"], errors="coerce", format="mixed")
    bad = raw.loc[dates.isna(), "date"]
    if len(bad):
        raise PriceDataError(
            f"{ticker}: CSV file {str(path)!r} has unreadable dates in column 'Date' on lines "
            f"{_lines(bad.index)}: {list(bad.head(3))}"
        )
    frame = pd.DataFrame(index=pd.DatetimeIndex(dates, name="date"))
    for column in [c for c in COLUMNS if c in raw.columns]:
        text = raw[column].str.replace(",", "", regex=False)
        numbers = pd.to_numeric(text, errors="coerce")
        not_numbers = raw.loc[numbers.isna() & text.notna() & (text.str.strip() != ""), column]
        if len(not_numbers):
            raise PriceDataError(
                f"{ticker}: CSV file {str(path)!r} has non-numeric values in column {column!r} "
                f"on lines {_lines(not_numbers.index)}: {list(not_numbers.head(3))}"
            )
        frame[column] = numbers.to_numpy(dtype="float64")
    if len(frame) > 1 and frame.index.is_monotonic_decreasing and frame.index.is_unique:
        # many exports list the newest day first
        frame = frame.iloc[::-1]
    return complete_columns(frame, feature_set, f"{ticker}: CSV file {str(path)!r}")


def _lines(index: pd.Index, limit: int = 5) -> str:
    # +2: one for the header, one because file lines count from 1
    lines = [str(int(i) + 2) for i in index[:limit]]
    return ", ".join(lines) + (f" and {len(index) - limit} more" if len(index) > limit else "")
