"""Real daily prices shipped with the package, so Stockcast works offline.

Quandl WIKI prices (public domain) via the `bokeh_sampledata` package, with open/high/low/close
scaled by adj_close/close (split- and dividend-adjusted). Built by scripts/build_sample_data.py.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from forecast.data.errors import DataUnavailableError

SAMPLE_TICKERS = ("AAPL", "MSFT", "IBM", "GOOG")


def read_sample(ticker: str) -> pd.DataFrame:
    """The bundled raw frame for a sample ticker (validated by the caller)."""
    if ticker not in SAMPLE_TICKERS:
        raise DataUnavailableError(
            f"no bundled sample prices for {ticker!r}; "
            f"sample tickers are {', '.join(SAMPLE_TICKERS)}"
        )
    source = resources.files("forecast.data") / "samples" / f"{ticker}.csv.gz"
    with resources.as_file(source) as path:
        return pd.read_csv(path, index_col="date", parse_dates=["date"])
