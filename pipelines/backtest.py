"""python -m pipelines.backtest AAPL [--version N | --alias A] [--start D] [--end D]: what a
registered model's forecasts were worth on prices after its training data ends, walking forward
day by day without refits: the costed strategies of forecast.evaluation.backtest against
buy-and-hold, as the training pipeline reports them for its CV forecasts.

Exit codes: 0 printed, 1 the model or the prices are not there, or the period overlaps the
model's training rows (that would be in-sample), 2 bad options.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pipelines.options import (
    Parser,
    add_backtest_options,
    add_source_options,
    add_tracking_uri_option,
    backtest_config,
    price_source,
)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="python -m pipelines.backtest",
        description="Backtest a registered model's forecasts after its training data, with costs.",
    )
    p.add_argument("ticker", metavar="TICKER", help="e.g. AAPL")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--version", help="the registered version to backtest")
    which.add_argument("--alias", help="the alias to backtest (default champion)")
    period = p.add_argument_group("period (default: every day after the training data)")
    period.add_argument("--start", help="first traded day, YYYY-MM-DD")
    period.add_argument("--end", help="last traded day, YYYY-MM-DD (inclusive)")
    add_source_options(p.add_argument_group("data"))
    add_backtest_options(p.add_argument_group("backtest"))
    add_tracking_uri_option(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    import pandas as pd

    from forecast.data.frame import parse_date
    from forecast.data.tickers import normalize_ticker

    try:
        ticker = normalize_ticker(args.ticker)
        source = price_source(args.source, args.csv)
        start, end = parse_date(args.start, "--start"), parse_date(args.end, "--end")
        if start is not None and end is not None and end < start:
            raise ValueError(f"--end {args.end} is before --start {args.start}")
        config = backtest_config(args)
    except ValueError as err:
        parser.error(str(err))

    from forecast import tracking
    from forecast.data import load_prices
    from forecast.data.errors import DataUnavailableError, PriceDataError
    from forecast.evaluation.backtest import backtest_table, forecaster_signals, run_backtest

    tracking.use_tracking_uri(args.tracking_uri)
    name = tracking.model_name(ticker)
    alias = None if args.version else args.alias or tracking.CHAMPION
    try:
        registered = tracking.load_registered(name, alias, version=args.version)
        prices = load_prices(ticker, source=source, csv_path=args.csv, data_dir=args.data_dir)
    except (
        tracking.ModelNotFoundError,
        tracking.RegistryUnavailableError,
        DataUnavailableError,
        PriceDataError,
    ) as err:
        print(f"{ticker}: {err}", file=sys.stderr)  # noqa: T201
        return 1
    forecaster = registered.forecaster
    trained = (
        pd.Timestamp(registered.tags.get("data_start", prices.index[0])),
        pd.Timestamp(forecaster.trained_until_),
    )
    first = pd.Timestamp(start) if start is not None else trained[1] + pd.Timedelta(days=1)
    last = pd.Timestamp(end) if end is not None else prices.index[-1]
    if last < first:
        print(  # noqa: T201
            f"{ticker}: no days to backtest from {first:%Y-%m-%d} to {last:%Y-%m-%d}: {name} "
            f"version {registered.version} trained on {trained[0]:%Y-%m-%d}.."
            f"{trained[1]:%Y-%m-%d} and the prices end {prices.index[-1]:%Y-%m-%d}; train with "
            "--end to hold a period out",
            file=sys.stderr,
        )
        return 1
    if first <= trained[1] and last >= trained[0]:
        print(  # noqa: T201
            f"{ticker}: the period {first:%Y-%m-%d}..{last:%Y-%m-%d} overlaps the rows "
            f"{name} version {registered.version} trained on, {trained[0]:%Y-%m-%d}.."
            f"{trained[1]:%Y-%m-%d}: that would be in-sample; start after {trained[1]:%Y-%m-%d}",
            file=sys.stderr,
        )
        return 1
    try:
        signals = forecaster_signals(forecaster, prices, first, last)
    except ValueError as err:
        print(f"{ticker}: {err}", file=sys.stderr)  # noqa: T201
        return 1
    backtest = run_backtest(signals, config)
    rule = forecaster.interval_rule or "constant"
    print(  # noqa: T201
        f"\n{ticker}: {name} version {registered.version} (trained "
        f"{trained[0]:%Y-%m-%d}..{trained[1]:%Y-%m-%d}), walking forward without refits"
    )
    print("\n".join(backtest_table(backtest, rule)))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
