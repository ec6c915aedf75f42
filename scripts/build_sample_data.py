"""Build the bundled offline sample prices from the `bokeh_sampledata` package.

The source is Quandl's WIKI prices (public domain) as shipped by bokeh_sampledata: daily
unadjusted open/high/low/close/volume plus a split- and dividend-adjusted close. We scale
open/high/low/close by adj_close/close so that splits do not show up as crashes, keep volume
as reported, round to what the data can carry and write one gzip CSV per ticker.

    pip install bokeh_sampledata && python scripts/build_sample_data.py
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pandas as pd

TICKERS = ("AAPL", "MSFT", "IBM", "GOOG")
OUT_DIR = Path(__file__).resolve().parents[1] / "forecast" / "data" / "samples"
PRICE_COLUMNS = ["open", "high", "low", "close", "adj_close"]


def adjusted_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """Return the frame with open/high/low/close scaled by adj_close/close."""
    frame = raw.set_index("date").sort_index()[
        ["open", "high", "low", "close", "adj_close", "volume"]
    ]
    factor = frame["adj_close"] / frame["close"]
    for column in ("open", "high", "low", "close"):
        frame[column] = frame[column] * factor
    # 6 significant digits: split-adjusted 2000-era prices are below 1 dollar for AAPL
    frame[PRICE_COLUMNS] = frame[PRICE_COLUMNS].map(lambda v: float(f"{v:.6g}"))
    frame["volume"] = frame["volume"].round().astype("int64")
    frame.index = pd.DatetimeIndex(frame.index).strftime("%Y-%m-%d")
    frame.index.name = "date"
    return frame


def main() -> None:
    from bokeh_sampledata.stocks import data

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for ticker in TICKERS:
        frame = adjusted_frame(data[data["ticker"] == ticker].drop(columns="ticker"))
        text = frame.to_csv(lineterminator="\n")
        path = OUT_DIR / f"{ticker}.csv.gz"
        # mtime=0 keeps the file byte-identical between builds
        with (
            open(path, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
        ):
            gz.write(io.BytesIO(text.encode()).getvalue())
        print(
            f"{ticker}: {len(frame)} rows {frame.index[0]}..{frame.index[-1]} "
            f"-> {path.name} ({path.stat().st_size / 1024:.0f} KB)"
        )


if __name__ == "__main__":
    main()
