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
from typing import TYPE_CHECKING, Any

from forecast.tracking.names import CHAMPION, EXPERIMENT
from pipelines.options import Parser, add_data_options, price_source

if TYPE_CHECKING:
    import numpy as np
    import torch

    from forecast.forecaster import Forecaster
    from forecast.models.internals import Inspection
    from forecast.prep.features import Features

DEFAULT_WINDOWS = 64  # windows the gates and the saliency are averaged over
FINAL_FIT_WINDOWS = 128  # the pipeline's final fit: its most recent training windows, one batch


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


def recent_windows(
    forecaster: Forecaster, features: Features, count: int
) -> tuple[torch.Tensor, np.ndarray]:
    """The model's input windows for the last `count` origins of its `features` (the last one
    forecasts the day after their last row), fewer when they hold fewer; with the origins.
    ValueError when not even one window fits."""
    import numpy as np

    window = forecaster.window
    first = forecaster.encoder_.first_origin
    rows = len(features.target)
    if rows < first:
        raise ValueError(
            f"{rows} days of prices up to {features.index[-1]:%Y-%m-%d}; the model reads "
            f"{window.history_rows} (lookback {window.lookback})"
        )
    origins = np.arange(max(first, rows - count + 1), rows + 1)
    return forecaster.inputs(features.values, features.target, origins), origins


def log_inspection(
    inspection: Inspection, run_id: str, title: str, states: tuple[Any, Any] | None = None
) -> None:
    """Into the active run: the saliency plot, the gate histograms, the metrics (saliency at
    every lag as steps of `saliency/by_lag`) and inspection/summary.json; with `states`
    (one window's prices and dates), the cell and hidden state heatmaps."""
    from forecast import tracking
    from forecast.evaluation.plots import gate_histograms, lstm_states, saliency_by_lag

    buffer = tracking.MetricBuffer(run_id)
    buffer.add_all(inspection.metrics())
    for lag, share in enumerate(inspection.saliency, start=1):
        buffer.add("saliency/by_lag", float(share), step=lag)
    buffer.flush()
    tracking.log_dict(inspection.summary(), "inspection/summary.json")
    tracking.log_figure(
        saliency_by_lag(inspection.saliency, f"{title}: how far back the forecast looks"),
        "plots/saliency.png",
    )
    tracking.log_figure(
        gate_histograms(inspection.layers, f"{title}: gate activations"),
        "plots/gate_saturation.png",
    )
    if states is not None:
        prices, dates = states
        last = len(inspection.layers[0].hidden) - 1
        tracking.log_figure(
            lstm_states(
                inspection.layers,
                last,
                prices,
                dates,
                f"{title}: the window to {dates[-1]:%Y-%m-%d}",
            ),
            "plots/lstm_states.png",
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from forecast.data import DataUnavailableError, PriceDataError, load_prices, normalize_ticker
    from forecast.data.frame import parse_date
    from forecast.prep.features import build_features

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

    tracking.configure(args.tracking_uri, args.experiment or EXPERIMENT)
    for noisy in ("mlflow", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    name = tracking.model_name(ticker)
    alias = None if args.version else args.alias or CHAMPION
    try:
        registered = tracking.load_registered(name, alias, version=args.version)
    except tracking.ModelNotFoundError:
        which = f"version {args.version}" if args.version else f"alias {alias!r}"
        print(  # noqa: T201
            f"error: no model {name} {which} is registered; train one with: "
            f"python -m pipelines.train {ticker}",
            file=sys.stderr,
        )
        return 1
    except tracking.RegistryUnavailableError as err:
        print(f"error: {err}", file=sys.stderr)  # noqa: T201
        return 1
    loaded = time.perf_counter()
    forecaster = registered.forecaster
    try:
        prices = load_prices(
            ticker,
            args.start,
            None,
            source,
            csv_path=args.csv,
            feature_set=forecaster.window.features,
            data_dir=args.data_dir,
        )
        if date is not None:
            if date > prices.index[-1]:
                raise ValueError(
                    f"--date {date:%Y-%m-%d} is after the last {ticker} price "
                    f"({prices.index[-1]:%Y-%m-%d}, from {prices.attrs.get('source', '?')})"
                )
            prices = prices.loc[:date]
            if prices.empty:
                raise ValueError(f"no {ticker} prices on or before --date {date:%Y-%m-%d}")
        window = forecaster.window
        features = build_features(prices, window.features, window.target)
        X, origins = recent_windows(forecaster, features, args.windows)
    except (DataUnavailableError, PriceDataError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)  # noqa: T201
        return 1

    from forecast.models.internals import Inspection

    inspection = Inspection.of(forecaster.model_, X)
    lookback = forecaster.window.lookback
    last = origins[-1]
    states = (features.target[last - lookback : last], features.index[last - lookback : last])
    label = f"{name} v{registered.version}"
    tags = {
        "ticker": ticker,
        "inspects": f"{name}/{registered.version}",
        "model_name": name,
        "model_version": registered.version,
        "model_run_id": registered.run_id,
        "windows": str(len(origins)),
        "windows_end": f"{features.index[-1]:%Y-%m-%d}",
    }
    with tracking.run(f"inspect {label}", tags=tags) as run_id:
        log_inspection(inspection, run_id, label, states)
    metrics = inspection.metrics()
    forget = [g["forget"]["high"] for g in inspection.saturation.values()]
    print(  # noqa: T201
        f"{label}: {len(origins)} windows to {features.index[-1]:%Y-%m-%d}; the forecast "
        f"looks back {metrics['saliency/lags_for_90pct']:.0f} of {lookback} days for 90% "
        f"of its input gradient (peak lag {metrics['saliency/peak_lag']:.0f}); forget gates "
        f"open (>0.9) {', '.join(f'{share:.0%}' for share in forget)} per layer\n"
        f"MLflow run {run_id} ({time.perf_counter() - loaded:.1f} s after the model loaded)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
