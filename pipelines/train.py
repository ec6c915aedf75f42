"""python -m pipelines.train AAPL [MSFT ...]: CV against baselines -> final fit -> MLflow registry.

Tickers train side by side: every fit is a task for the worker processes (or Ray); each
ticker's table prints as it finishes, and a summary at the end.

Exit codes: 0 done, 1 some ticker had no data or failed (named; the others still ran), 2 bad
options, 130 interrupted.
"""

from __future__ import annotations

import importlib.util
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pipelines.options import PipelineOptions, build_parser, options_from_args

if TYPE_CHECKING:
    from forecast.parallel.scheduler import Scheduler

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

    from forecast import tracking

    failed: dict[str, str] = {}  # ticker -> why: one ticker failing does not stop the others
    try:
        with stoppable_scheduler(options) as scheduler:
            summaries = _train_tickers(options, scheduler, failed)
    except (KeyboardInterrupt, tracking.Interrupted):
        print(INTERRUPTED, file=sys.stderr)  # noqa: T201
        return 130
    if summaries is None:  # no ticker had prices
        return 1
    from pipelines.report import summary_table, ui_hint

    if len(options.tickers) > 1:
        print(summary_table(summaries, failed))  # noqa: T201
    print(ui_hint(tracking.open_ui_hint()))  # noqa: T201
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


def _train_tickers(
    options: PipelineOptions, scheduler: Scheduler, failed: dict[str, str]
) -> list[Any] | None:
    """Every ticker's fits queued at once, then each ticker logged and its table printed as
    soon as it is done; a ticker without prices or failing is added to `failed` and the others
    go on. None when no ticker had prices."""
    from forecast import tracking
    from forecast.data import DataUnavailableError, PriceDataError

    prices = {}
    for ticker in options.tickers:
        try:
            prices[ticker] = load_ticker_prices(ticker, options)
        except (DataUnavailableError, PriceDataError) as err:
            _failed(failed, ticker, err)
    if not prices:
        return None

    from pipelines.report import render
    from pipelines.run import submit_ticker, train_ticker

    jobs = {}
    for ticker, frame in prices.items():  # every ticker's fits queued: they run side by side
        try:
            jobs[ticker] = submit_ticker(ticker, frame, options, scheduler)
        except ValueError as err:  # too short for the folds, ...
            _failed(failed, ticker, err)
    # the workers train while MLflow loads (seconds of imports)
    experiment_id = tracking.configure(options.tracking_uri, options.experiment)
    _quiet_third_party()  # again: importing mlflow set its loggers back to INFO
    tracking.mark_dead_runs_killed(experiment_id)
    summaries = []
    for ticker, job in jobs.items():  # each table as soon as its ticker is done
        try:
            summaries.append(train_ticker(job, options, scheduler))
        except Exception as err:  # noqa: BLE001 - the others go on; the exit code says so
            _failed(failed, ticker, err)
            continue
        print(render([summaries[-1]]), flush=True)  # noqa: T201
    return summaries


INTERRUPTED = "interrupted: the runs are marked KILLED and nothing was registered"


@contextmanager
def stoppable_scheduler(options: PipelineOptions) -> Iterator[Scheduler]:
    """The run's scheduler, with SIGTERM raising Interrupted (runs end KILLED, as on Ctrl-C);
    its workers stop with the block: at once (killed) unless the block finished."""
    from forecast.parallel.scheduler import scheduler_for

    previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    scheduler = None
    finished = False
    try:
        # the workers start first: they load torch while this process loads prices and MLflow
        scheduler = scheduler_for(options.executor, options.workers, options.train.threads or 1)
        # Ray's core installs its own SIGTERM handler (it aborts the process): ours again
        signal.signal(signal.SIGTERM, _raise_interrupted)
        yield scheduler
        finished = True
    finally:
        if scheduler is not None:
            scheduler.close(kill=not finished)  # on a signal or an error: every worker, now
        signal.signal(signal.SIGTERM, previous)


def load_ticker_prices(ticker: str, options: PipelineOptions) -> Any:
    """The prices a run of `options` trains on (the data layer's errors when there are none)."""
    from forecast.data import load_prices

    return load_prices(
        ticker,
        options.start,
        options.end,
        options.source,
        csv_path=options.csv,
        feature_set=options.window.features,
        data_dir=options.data_dir,
    )


def _failed(failed: dict[str, str], ticker: str, err: BaseException) -> None:
    failed[ticker] = str(err)
    print(f"error: {ticker}: {err}", file=sys.stderr)  # noqa: T201


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
    if options.executor == "ray" and importlib.util.find_spec("ray") is None:
        from forecast.parallel.ray_executor import RAY_MISSING

        raise ValueError(RAY_MISSING)


def _quiet_third_party() -> None:
    """Third-party chatter ("Validating input example", ...) below WARNING; our own warnings
    (sample fallback, stale cache) stay loud."""
    for noisy in ("mlflow", "alembic", "urllib3", "yfinance"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _raise_interrupted(signum: int, frame: Any) -> None:
    from forecast.parallel.scheduler import STOP
    from forecast.tracking import Interrupted

    STOP.set()
    raise Interrupted(f"signal {signum}")


if __name__ == "__main__":
    sys.exit(main())
