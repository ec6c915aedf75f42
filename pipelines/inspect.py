"""python -m pipelines.inspect AAPL [--version N | --alias champion] [--windows K] [--date D]:
look inside a registered model on that ticker's most recent (or chosen) windows, and log what
its LSTM carries (cell and hidden states, gate saturation, saliency over the lookback) to a new
MLflow run linked to the model version.

Exit codes: 0 done, 1 no such model, no prices or too little history, 2 bad options.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence

from forecast.pipeline.options import DEFAULT_WINDOWS
from forecast.tracking.names import CHAMPION, EXPERIMENT
from pipelines.options import Parser, add_data_options, price_source


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m pipelines.inspect",
        description="Look inside a registered LSTM: cell and hidden states, gate saturation and "
        "how far back the forecast looks, logged as plots and metrics to a new MLflow run.",
    )
    parser.add_argument("ticker", metavar="TICKER", help="e.g. AAPL")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--version", help="registered model version (default: --alias)")
    which.add_argument("--alias", help=f"registered model alias (default {CHAMPION})")
    parser.add_argument(
        "--windows",
        type=_positive,
        default=DEFAULT_WINDOWS,
        metavar="K",
        help=f"windows to average the gates and saliency over (default {DEFAULT_WINDOWS})",
    )
    parser.add_argument(
        "--date",
        metavar="D",
        help="the last day the windows read, YYYY-MM-DD (default: the latest price)",
    )
    add_data_options(parser.add_argument_group("data"))
    track = parser.add_argument_group("tracking")
    track.add_argument(
        "--tracking-uri", help="MLflow tracking URI (default $MLFLOW_TRACKING_URI or ./mlflow.db)"
    )
    track.add_argument("--experiment", help=f"MLflow experiment (default {EXPERIMENT})")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1; got {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from forecast.data import DataUnavailableError, PriceDataError, load_prices, normalize_ticker
    from forecast.data.frame import parse_date

    try:
        ticker = normalize_ticker(args.ticker)
        date = parse_date(args.date, "--date")
        parse_date(args.start, "--start")
        source = price_source(args.source, args.csv)
    except (PriceDataError, ValueError) as err:
        parser.error(str(err))
    if args.end is not None:
        parser.error("--end does not apply here: use --date for the last day the windows read")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")

    from forecast import tracking
    from forecast.pipeline.inspection import inspect_registered, registered_model
    from forecast.pipeline.session import quiet_third_party

    tracking.configure(args.tracking_uri, args.experiment or EXPERIMENT)
    quiet_third_party()
    try:
        registered = registered_model(ticker, args.version, args.alias)
    except tracking.ModelNotFoundError:
        which = f"version {args.version}" if args.version else f"alias {args.alias or CHAMPION!r}"
        return _error(
            f"no model {tracking.model_name(ticker)} {which} is registered; train one with: "
            f"python -m pipelines.train {ticker}"
        )
    except tracking.RegistryUnavailableError as err:
        return _error(str(err))
    loaded = time.perf_counter()
    try:
        features = registered.forecaster.window.features
        prices = load_prices(
            ticker,
            args.start,
            None,
            source,
            csv_path=args.csv,
            feature_set=features,
            data_dir=args.data_dir,
        )
        report = inspect_registered(ticker, prices, registered, args.windows, date)
    except (DataUnavailableError, PriceDataError, ValueError) as err:
        return _error(str(err))
    print(report.text(), f"({time.perf_counter() - loaded:.1f} s after the model loaded)")  # noqa: T201
    return 0


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)  # noqa: T201
    return 1


if __name__ == "__main__":
    sys.exit(main())
