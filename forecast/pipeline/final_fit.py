"""The final fit: trained on every row for as long as CV found best, calibrated on every CV
forecast (Forecaster.fit, as a task), then logged with its curves, inspection and pyfunc."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pandas as pd

from forecast import tracking
from forecast.config import TrainConfig
from forecast.data.history import rows_of
from forecast.evaluation.cv import FoldResult, calibration_scores
from forecast.evaluation.plots import learning_curves
from forecast.fitting import FinalFit, replay
from forecast.forecaster import Forecaster
from forecast.models.internals import Inspection
from forecast.parallel.scheduler import FINAL_FIT, Scheduler
from forecast.pipeline.inspection import FINAL_FIT_WINDOWS, log_inspection, recent_windows
from forecast.pipeline.jobs import Stopwatch, TickerJob, TickerSummary
from forecast.pipeline.options import PipelineOptions
from forecast.prep.features import RANGE_SET

log = logging.getLogger("pipelines.train")


def warn_uncalibrated(
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


def submit_final_fit(
    job: TickerJob,
    options: PipelineOptions,
    scheduler: Scheduler,
    epochs: int,
    results: list[FoldResult],
    rule: str,
) -> int:
    """Queue the final fit on every row, calibrated on every CV forecast with the width `rule`
    CV chose, ahead of any CV fit still waiting."""
    config = final_train_config(job.cv.plan.train, epochs)
    task = FinalFit(
        f"{job.ticker} final fit",
        job.prices,
        options.window,
        options.lstm,
        config,
        calibration_scores(results, rule),
        options.cv.levels,
        rule,
    )
    return scheduler.submit(task, lambda: [job.progress.for_final(epochs)], priority=FINAL_FIT)


def final_fit(
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
        clock(tracking.log_text, forecaster.model_.summary() + "\n", "model_summary.txt")
        windows, _ = recent_windows(forecaster, features, FINAL_FIT_WINDOWS)
        inspection = Inspection.of(forecaster.model_, windows)
        clock(log_inspection, inspection, run_id, f"{ticker} final fit")
        example = _input_example(prices, forecaster)
        model_uri = clock(tracking.log_forecaster, forecaster, example, epochs)
    return forecaster, model_uri


def _input_example(prices: pd.DataFrame, forecaster: Forecaster) -> pd.DataFrame:
    """The request rows of the model's last forecasts (5 more than it needs): the pyfunc's
    logged input example, with every column the model reads (the lstm interval rule reads the
    range features' open, high, low and close)."""
    window = forecaster.window
    reads = RANGE_SET if forecaster.interval_rule == "lstm" else window.features
    return rows_of(prices.iloc[-(window.history_rows + 5) :], reads, window.target)
