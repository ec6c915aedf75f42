"""One ticker through the pipeline: CV folds (nested runs) -> final fit -> registry."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from forecast import tracking
from forecast.config import TrainConfig
from forecast.data.history import rows_of
from forecast.data.tickers import normalize_ticker
from forecast.evaluation.conformal import interval_key, summarize_intervals
from forecast.evaluation.cv import CrossValidation, FoldResult, calibration_scores
from forecast.evaluation.metrics import aggregate
from forecast.evaluation.plots import forecast_vs_actual, learning_curves
from forecast.fitting import FinalFit, replay
from forecast.forecaster import Forecaster
from forecast.models.device import resolve_device
from forecast.models.internals import Inspection
from forecast.parallel.scheduler import FINAL_FIT, Scheduler
from pipelines.inspect import FINAL_FIT_WINDOWS, log_inspection, recent_windows
from pipelines.options import PipelineOptions
from pipelines.progress import PipelineProgress
from pipelines.provenance import data_hash, flat_params, folds_signature, git_commit
from pipelines.register import register

log = logging.getLogger("pipelines.train")


@dataclass
class TickerSummary:
    """What the end-of-run table shows for one ticker."""

    ticker: str
    source: str
    data_range: str
    aggregates: dict[
        str, dict[str, dict[str, float]]
    ]  # model|baseline -> metric -> mean/std/stderr
    diagnoses: list[str]
    final_epochs: int
    run_id: str
    version: str | None = None
    promoted: bool = False
    decision: str = "not registered (--no-register)"
    seconds: float = 0.0
    tracking_seconds: float = 0.0
    fold_skills: list[float] = field(default_factory=list)
    # source -> level -> metric, mean over the folds calibrated on earlier ones
    intervals: dict[str, dict[float, dict[str, float]]] = field(default_factory=dict)
    interval_folds: int = 0
    model_uri: str = ""  # the final model, logged by the final-fit run
    tags: dict[str, str] = field(default_factory=dict)  # the run's data and folds tags


class Stopwatch:
    """Accumulates the time spent in MLflow calls, to report tracking's share of the run."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


@dataclass
class TickerJob:
    """One ticker's CV, its fits already queued on the scheduler."""

    ticker: str
    prices: pd.DataFrame
    cv: CrossValidation
    progress: PipelineProgress


def submit_ticker(
    ticker: str, prices: pd.DataFrame, options: PipelineOptions, scheduler: Scheduler
) -> TickerJob:
    """Queue every CV fit of one ticker (ValueError when its data cannot support the folds)."""
    ticker = normalize_ticker(ticker)
    train_config = replace(options.train, progress=False)
    cv = CrossValidation(
        prices, options.window, options.lstm, train_config, options.cv, label=f"{ticker} "
    )
    progress = PipelineProgress(
        ticker,
        options.cv.n_folds,
        options.cv.repeats,
        train_config.epochs,
        parallel=scheduler.workers > 1,
    )
    cv.submit(scheduler, lambda fold, repeat: [progress.for_run(fold, repeat)])
    return TickerJob(ticker, prices, cv, progress)


def train_ticker(
    job: TickerJob, options: PipelineOptions, scheduler: Scheduler, candidate: str | None = None
) -> TickerSummary:
    """Log one ticker's CV as its fits finish, then fit, log and register its final model. A
    sweep's `candidate` is a run of that name nested in the sweep's run."""
    ticker, prices = job.ticker, job.prices
    started = job.progress.started  # its fits were queued then
    clock = Stopwatch()
    device = str(resolve_device(options.train.device))
    signature = folds_signature(prices, options)
    tags = {
        "ticker": ticker,
        "source": prices.attrs.get("source", "?"),
        "data_start": f"{prices.index[0]:%Y-%m-%d}",
        "data_end": f"{prices.index[-1]:%Y-%m-%d}",
        "rows": str(len(prices)),
        "data_hash": data_hash(prices),
        "git_commit": git_commit(),
        "device": device,
        tracking.FOLDS_TAG: signature,
    }
    now = dt.datetime.now()
    try:
        with tracking.run(
            candidate or ticker, nested=candidate is not None, tags=tags
        ) as parent_id:
            if candidate is None:
                name = tracking.pipeline_run_name(ticker, now, parent_id)
                clock(tracking.rename_run, parent_id, name)
            clock(tracking.log_params, parent_id, flat_params(options))
            clock(tracking.log_dict, _config_dict(options), "config.json")
            # every CV fit first; the final fit then trains while the folds are logged
            epochs = final_epochs([o.best_epoch for o in job.cv.collect()])
            results = list(job.cv.results())
            final = _submit_final_fit(job, options, scheduler, epochs, results)
            _log_folds(job, results, clock)
            summary = _log_cv_summary(ticker, results, tags, parent_id, epochs, clock)
            forecaster, model_uri = _final_fit(job, scheduler, final, summary, clock)
            _warn_uncalibrated(job, results, forecaster, options.cv.levels)
            if options.register:
                register(ticker, model_uri, summary, tags, options, clock)
            clock(
                tracking.set_tags,
                {"promoted": str(summary.promoted), "registry.decision": summary.decision},
            )
    except BaseException:
        job.cv.cancel()  # its fits not started yet: nobody will read them
        raise
    finally:
        job.progress.close()
    summary.seconds = time.perf_counter() - started
    summary.tracking_seconds = clock.seconds
    summary.model_uri, summary.tags = model_uri, tags
    return summary


def _config_dict(options: PipelineOptions) -> dict[str, Any]:
    return {name: asdict(getattr(options, name)) for name in ("window", "lstm", "train", "cv")}


def _log_folds(job: TickerJob, results: list[FoldResult], clock: Stopwatch) -> None:
    """Each fold in a nested run."""
    for result in results:
        number = result.fold.number
        with tracking.run(
            f"cv/fold-{number}", nested=True, tags={"ticker": job.ticker, "fold": str(number)}
        ) as run_id:
            buffer = tracking.MetricBuffer(run_id)
            for repeat, history in enumerate(result.histories):  # every repeat's curves
                replay([tracking.EpochLogger(buffer, prefix=f"repeat_{repeat}/")], history)
            _log_fold(job.ticker, result, buffer, clock)
        job.progress.fold_done(result)


def _log_fold(
    ticker: str, result: FoldResult, buffer: tracking.MetricBuffer, clock: Stopwatch
) -> None:
    for name, metrics in result.metrics.items():
        buffer.add_all({f"{name}/{key}": value for key, value in metrics.items()})
        for key, steps in result.per_step[name].items():
            for h, value in enumerate(steps, start=1):
                buffer.add(f"{name}/{key}_by_step", value, step=h)
    for repeat, metrics in enumerate(result.repeat_metrics):
        buffer.add_all(
            {
                f"repeat_{repeat}/rmse": metrics["rmse"],
                f"repeat_{repeat}/best_epoch": result.best_epochs[repeat],
                f"repeat_{repeat}/best_val_loss": result.best_val_losses[repeat],
                f"repeat_{repeat}/naive_val_loss": result.naive_val_losses[repeat],
            }
        )
    for source, by_level in result.intervals.items():
        for level, figures in by_level.items():
            for metric, steps in figures.items():
                for h, value in enumerate(steps, start=1):
                    buffer.add(interval_key(source, level, metric), value, step=h)
    clock(buffer.flush)
    fold = result.fold
    clock(
        tracking.set_tags,
        {
            **result.diagnosis.tags(),
            "train_range": f"{result.train_dates[0]:%Y-%m-%d}..{result.train_dates[1]:%Y-%m-%d}",
            "test_range": f"{result.origin_dates[0]:%Y-%m-%d}..{result.origin_dates[-1]:%Y-%m-%d}",
            "rows": f"train {fold.train_start}-{fold.train_end}, gap {fold.gap}, "
            f"test {fold.test_start}-{fold.test_end}",
        },
    )
    clock(
        tracking.log_figure,
        learning_curves(result.histories, f"{ticker} fold {fold.number}: learning curves"),
        "plots/learning_curves.png",
    )
    clock(tracking.log_figure, forecast_vs_actual(result, ticker), "plots/forecast_vs_actual.png")


def _log_cv_summary(
    ticker: str,
    results: list[FoldResult],
    tags: dict[str, str],
    parent_id: str,
    epochs: int,
    clock: Stopwatch,
) -> TickerSummary:
    names = list(results[0].metrics)
    aggregates = {
        name: {
            key: aggregate([r.metrics[name][key] for r in results])
            for key in results[0].metrics[name]
        }
        for name in names
    }
    buffer = tracking.MetricBuffer(parent_id)
    for name, metrics in aggregates.items():
        for key, stats in metrics.items():
            buffer.add_all({f"cv/{name}/{key}_{stat}": value for stat, value in stats.items()})
    intervals = summarize_intervals([r.intervals for r in results])
    for source, by_level in intervals.items():
        for level, figures in by_level.items():
            for metric, value in figures.items():
                buffer.add(f"cv/{interval_key(source, level, metric)}", value)
    clock(buffer.flush)
    rows = [
        {"fold": r.fold.number, "forecaster": name, **r.metrics[name]}
        for r in results
        for name in names
    ]
    clock(tracking.log_text, pd.DataFrame(rows).to_csv(index=False), "cv/fold_metrics.csv")
    diagnoses = [r.diagnosis.label for r in results]
    clock(tracking.set_tags, {"fit_diagnosis": Counter(diagnoses).most_common(1)[0][0]})
    return TickerSummary(
        ticker=ticker,
        source=tags["source"],
        data_range=f"{tags['data_start']}..{tags['data_end']}",
        aggregates=aggregates,
        diagnoses=diagnoses,
        run_id=parent_id,
        final_epochs=epochs,
        fold_skills=[r.metrics["model"]["skill"] for r in results],
        intervals=intervals,
        interval_folds=sum(1 for r in results if r.intervals),
    )


def _warn_uncalibrated(
    job: TickerJob, results: list[FoldResult], forecaster: Forecaster, levels: tuple[float, ...]
) -> None:
    """A warning naming the levels too few CV forecasts calibrate: the model serves without."""
    missing = [level for level in levels if level not in forecaster.interval_levels]
    if missing:
        log.warning(
            "%s: %d CV forecasts are too few for %s intervals; the model serves %s",
            job.ticker,
            sum(len(r.actual) for r in results),
            ", ".join(f"{level:g}" for level in missing),
            ", ".join(f"{level:g}" for level in forecaster.interval_levels) or "none",
        )


def final_epochs(best_epochs: list[int]) -> int:
    """The final fit trains as long as CV found best: the median best epoch of every CV fit
    (0 when validation preferred the untrained residual network: the naive forecast)."""
    return int(np.median(best_epochs))


def final_train_config(train: TrainConfig, epochs: int) -> TrainConfig:
    """The final fit's training: `epochs` (CV's choice, final_epochs) on every row, nothing held
    out, so nothing to stop early on."""
    return replace(train, epochs=epochs, val_fraction=0.0, patience=None, lr_patience=None)


def _submit_final_fit(
    job: TickerJob,
    options: PipelineOptions,
    scheduler: Scheduler,
    epochs: int,
    results: list[FoldResult],
) -> int:
    """Queue the final fit on every row, calibrated on every CV forecast, ahead of any CV fit
    still waiting."""
    config = final_train_config(job.cv.plan.train, epochs)
    task = FinalFit(
        f"{job.ticker} final fit",
        job.prices,
        options.window,
        options.lstm,
        config,
        calibration_scores(results),
        options.cv.levels,
    )
    return scheduler.submit(task, lambda: [job.progress.for_final(epochs)], priority=FINAL_FIT)


def _final_fit(
    job: TickerJob,
    scheduler: Scheduler,
    ticket: int,
    summary: TickerSummary,
    clock: Stopwatch,
) -> tuple[Forecaster, str]:
    ticker, prices, features = job.ticker, job.prices, job.cv.features
    epochs = summary.final_epochs
    with tracking.run(
        "final-fit", nested=True, tags={"ticker": ticker, "epochs_from_cv": str(epochs)}
    ) as run_id:
        buffer = tracking.MetricBuffer(run_id)
        outcome = scheduler.result(ticket)
        replay([tracking.EpochLogger(buffer)], outcome.history)
        forecaster = outcome.forecaster
        if not isinstance(forecaster, Forecaster):
            raise RuntimeError(f"{outcome.label} returned no model")
        clock(buffer.flush)
        if epochs:
            clock(
                tracking.log_figure,
                learning_curves([outcome.history], f"{ticker} final fit"),
                "plots/learning_curves.png",
            )
        # what the LSTM carries, on its most recent training windows: one batch, beside the curves
        windows, _ = recent_windows(forecaster, features, FINAL_FIT_WINDOWS)
        inspection = Inspection.of(forecaster.model_, windows)
        clock(log_inspection, inspection, run_id, f"{ticker} final fit")
        example = _input_example(prices, forecaster)
        model_uri = clock(tracking.log_forecaster, forecaster, example, epochs)
    return forecaster, model_uri


def _input_example(prices: pd.DataFrame, forecaster: Forecaster) -> pd.DataFrame:
    """The request rows of the model's last forecasts (5 more than it needs): the pyfunc's
    logged input example."""
    window = forecaster.window
    return rows_of(prices.iloc[-(window.history_rows + 5) :], window.features, window.target)
