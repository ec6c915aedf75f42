"""python -m pipelines.prices AAPL [MSFT ...]: load (download, cache) prices and summarize them.

Exit codes: 0 all loaded, 1 some ticker had no data, 2 bad options.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from forecast.data import (
    DataUnavailableError,
    PriceCache,
    PriceDataError,
    load_prices,
    normalize_ticker,
)
from forecast.data.frame import parse_date
from pipelines.options import Parser, add_data_options, price_source


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m pipelines.prices",
        description="Load daily prices (cache -> Yahoo -> stale cache -> bundled sample) and "
        "print what was loaded.",
    )
    parser.add_argument("tickers", nargs="+", metavar="TICKER", help="e.g. AAPL MSFT")
    add_data_options(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        args.source = price_source(args.source, args.csv)
        for ticker in args.tickers:
            normalize_ticker(ticker)
        parse_date(args.start, "--start"), parse_date(args.end, "--end")
    except (PriceDataError, ValueError) as err:
        parser.error(str(err))
    status = 0
    for ticker in args.tickers:
        try:
            prices = load_prices(
                ticker,
                args.start,
                args.end,
                args.source,
                csv_path=args.csv,
                feature_set="close",  # a Date,Close file loads; the rest is filled from close
                data_dir=args.data_dir,
            )
        except (PriceDataError, DataUnavailableError) as err:
            print(f"error: {err}", file=sys.stderr)  # noqa: T201
            status = 1
            continue
        last = prices.iloc[-1]
        where = PriceCache(args.data_dir).path(prices.attrs["ticker"])
        print(  # noqa: T201
            f"{prices.attrs['ticker']}: {len(prices)} days {prices.index[0]:%Y-%m-%d} to "
            f"{prices.index[-1]:%Y-%m-%d} from {prices.attrs['source']}; last adj close "
            f"{last['adj_close']:.2f}"
            + (f"; cached at {where}" if prices.attrs["source"] in ("cache", "yahoo") else "")
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
