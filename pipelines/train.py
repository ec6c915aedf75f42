"""python -m pipelines.train AAPL [MSFT ...]: CV against baselines -> final fit -> MLflow registry.

Exit codes: 0 done, 1 no data (or a run failed), 2 bad options, 130 interrupted.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from pipelines.options import PipelineOptions, build_parser, options_from_args

log = logging.getLogger("pipelines.train")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        options = options_from_args(args)
        _check_before_any_run(options)
    except ValueError as err:
        parser.error(str(err))  # one line, exit code 2, before any run is opened
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    _quiet_third_party()

    from forecast.data import DataUnavailableError, PriceDataError, load_prices

    prices = {}
    for ticker in options.tickers:
        try:
            prices[ticker] = load_prices(
                ticker,
                options.start,
                options.end,
                options.source,
                csv_path=options.csv,
                feature_set=options.window.features,
                data_dir=options.data_dir,
            )
        except (DataUnavailableError, PriceDataError) as err:
            print(f"error: {err}", file=sys.stderr)  # noqa: T201
            return 1

    from forecast import tracking

    experiment_id = tracking.configure(options.tracking_uri, options.experiment)
    _quiet_third_party()  # again: importing mlflow set its loggers back to INFO
    tracking.mark_dead_runs_killed(experiment_id)
    previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        from pipelines.report import render, ui_hint
        from pipelines.run import train_ticker

        for ticker in options.tickers:  # each table as soon as its ticker is done
            print(render([train_ticker(ticker, prices[ticker], options)]), flush=True)  # noqa: T201
    except (KeyboardInterrupt, tracking.Interrupted):
        print("interrupted: the runs are marked KILLED and nothing was registered", file=sys.stderr)  # noqa: T201
        return 130
    except ValueError as err:  # the data cannot support the request (too short for the folds, ...)
        print(f"error: {err}", file=sys.stderr)  # noqa: T201
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(ui_hint(tracking.open_ui_hint()))  # noqa: T201
    return 0


def _check_before_any_run(options: PipelineOptions) -> None:
    """What can be checked without data: dates, the CSV rule, and that the device exists."""
    from forecast.data.frame import parse_date
    from forecast.models.device import autocast_dtype, resolve_device

    autocast_dtype(options.train.precision, resolve_device(options.train.device))
    parse_date(options.start, "--start")
    parse_date(options.end, "--end")
    if options.source == "csv" and not options.csv:
        raise ValueError("--source csv needs --csv PATH")
    if options.csv and len(options.tickers) > 1:
        raise ValueError("--csv reads one file: give one ticker")


def _quiet_third_party() -> None:
    """Third-party chatter ("Validating input example", ...) below WARNING; our own warnings
    (sample fallback, stale cache) stay loud."""
    for noisy in ("mlflow", "alembic", "urllib3", "yfinance"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # MLflow draws a "Downloading artifacts" bar when it checks the logged model's input example
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def _raise_interrupted(signum: int, frame: Any) -> None:
    from forecast.tracking import Interrupted

    raise Interrupted(f"signal {signum}")


if __name__ == "__main__":
    sys.exit(main())
