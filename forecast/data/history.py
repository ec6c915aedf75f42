"""User-supplied recent prices (API bodies, pyfunc inputs) -> a validated price frame."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.data.errors import PriceDataError
from forecast.data.frame import complete_columns, validate_prices


def prices_from_rows(rows: pd.DataFrame, feature_set: str, ticker: str = "HISTORY") -> pd.DataFrame:
    """Rows with `date` and `close` (or `adj_close`), plus the columns `feature_set` reads.

    Missing price columns the features do not read are filled from close (volume from 0), so a
    `close`-only model needs only dates and closes. Raises PriceDataError naming what is wrong.
    """
    frame = rows.rename(columns=lambda c: str(c).strip().lower().replace(" ", "_"))
    if "date" not in frame.columns:
        raise PriceDataError(f"history needs a 'date' column; got {list(frame.columns)}")
    frame = complete_columns(frame, feature_set, "history")
    dates = pd.to_datetime(frame["date"], errors="coerce")
    if dates.isna().any():
        bad = frame.loc[dates.isna(), "date"].head(3).tolist()
        raise PriceDataError(f"history has unreadable dates {bad}; use YYYY-MM-DD")
    frame.index = pd.DatetimeIndex(dates, name="date")
    for column in ("open", "high", "low", "close", "adj_close", "volume"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    columns = ["open", "high", "low", "close", "adj_close", "volume"]
    bad_rows = ~np.isfinite(frame[columns].to_numpy(dtype=np.float64)).all(axis=1)
    if bad_rows.any():
        dates_bad = [f"{d:%Y-%m-%d}" for d in frame.index[bad_rows][:3]]
        raise PriceDataError(
            f"history has {int(bad_rows.sum())} rows with missing, non-numeric or infinite prices "
            f"(dates {dates_bad})"
        )
    return validate_prices(frame.drop(columns="date"), ticker, "history")
