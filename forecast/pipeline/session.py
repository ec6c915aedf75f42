"""What the pipeline CLIs share around their runs: loading a run's prices, a scheduler that a
signal stops cleanly, quiet third-party loggers, and training the tickers of one invocation."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from forecast.pipeline.options import FIT_THREADS, PipelineOptions

if TYPE_CHECKING:
    from forecast.parallel.scheduler import Scheduler


def train_tickers(
    options: PipelineOptions,
    scheduler: Scheduler,
    failed: dict[str, str],
    *,
    show: bool = True,
    loaded: dict[str, Any] | None = None,
) -> list[Any] | None:
    """Every ticker's fits queued at once, then each ticker logged and its table printed (when
    `show`) as soon as it is done; a ticker without prices or failing is added to `failed` and
    the others go on. `loaded`: prices already loaded for some tickers (by these options). None
    when no ticker had prices."""
    from forecast import tracking
    from forecast.data import DataUnavailableError, PriceDataError

    prices = dict(loaded or {})
    for ticker in (t for t in options.tickers if t not in prices):
        try:
            prices[ticker] = load_ticker_prices(ticker, options)
        except (DataUnavailableError, PriceDataError) as err:
            failed_ticker(failed, ticker, err)
    if not prices:
        return None

    from forecast.pipeline.report import render
    from forecast.pipeline.run import submit_ticker, train_ticker

    jobs = {}
    for ticker, frame in prices.items():  # every ticker's fits queued: they run side by side
        try:
            jobs[ticker] = submit_ticker(ticker, frame, options, scheduler)
        except ValueError as err:  # too short for the folds, ...
            failed_ticker(failed, ticker, err)
    # the workers train while MLflow and scikit-learn's metrics load (seconds of imports)
    experiment_id = tracking.configure(options.tracking_uri, options.experiment)
    import sklearn.metrics  # noqa: F401  (CV's metrics: evaluation.metrics imports it lazily)

    quiet_third_party()  # again: importing mlflow set its loggers back to INFO
    tracking.mark_dead_runs_killed(experiment_id)
    summaries = []
    from forecast.parallel.scheduler import STOP

    for ticker, job in jobs.items():  # each table as soon as its ticker is done
        try:
            summaries.append(train_ticker(job, options, scheduler))
        except Exception as err:  # noqa: BLE001 - the others go on; the exit code says so
            if STOP.is_set():  # SIGTERM came: what broke on the way out is the stop itself
                raise tracking.Interrupted(f"stopped while training {ticker}") from err
            failed_ticker(failed, ticker, err)
            continue
        if STOP.is_set():  # a SIGTERM whose exception something swallowed (a GC callback)
            raise tracking.Interrupted(f"stopped while training {ticker}")
        if show:
            print(render([summaries[-1]]), flush=True)  # noqa: T201
    return summaries


INTERRUPTED = "interrupted: the runs are marked KILLED and nothing was registered"


@contextmanager
def stoppable_scheduler(options: PipelineOptions) -> Iterator[Scheduler]:
    """The run's scheduler, with SIGTERM raising Interrupted (runs end KILLED, as on Ctrl-C);
    its workers stop with the block: at once (killed) unless the block finished."""
    from forecast.parallel.scheduler import scheduler_for

    previous = signal.signal(signal.SIGTERM, raise_interrupted)
    scheduler = None
    finished = False
    try:
        # the workers start first: they load torch while this process loads prices and MLflow
        scheduler = scheduler_for(
            options.executor, options.workers, options.train.threads or FIT_THREADS
        )
        # Ray's core installs its own SIGTERM handler (it aborts the process): ours again
        signal.signal(signal.SIGTERM, raise_interrupted)
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


def failed_ticker(failed: dict[str, str], ticker: str, err: BaseException) -> None:
    """Record why `ticker` failed, and say it on stderr (the others go on)."""
    failed[ticker] = str(err)
    print(f"error: {ticker}: {err}", file=sys.stderr)  # noqa: T201


def quiet_third_party() -> None:
    """Third-party chatter ("Validating input example", ...) below WARNING; our own warnings
    (sample fallback, stale cache) stay loud."""
    for noisy in ("mlflow", "alembic", "urllib3", "yfinance"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def raise_interrupted(signum: int, frame: Any) -> None:
    """SIGTERM's handler: the run ends KILLED, as on Ctrl-C."""
    from forecast.parallel.scheduler import STOP
    from forecast.tracking import Interrupted

    STOP.set()
    raise Interrupted(f"signal {signum}")
