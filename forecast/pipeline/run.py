"""One ticker through the pipeline: CV folds (nested runs) -> final fit -> registry."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, replace
from typing import Any

import pandas as pd

from forecast import tracking
from forecast.data.tickers import normalize_ticker
from forecast.evaluation.conformal import choose_rule, summarize_intervals
from forecast.evaluation.cv import CrossValidation
from forecast.models.device import resolve_device
from forecast.parallel.scheduler import Scheduler
from forecast.pipeline.cv_log import log_backtest, log_cv_forecasts, log_cv_summary, log_folds
from forecast.pipeline.final_fit import (
    final_epochs,
    final_fit,
    submit_final_fit,
    warn_uncalibrated,
)
from forecast.pipeline.jobs import Stopwatch, TickerJob, TickerSummary
from forecast.pipeline.options import PipelineOptions
from forecast.pipeline.progress import PipelineProgress
from forecast.pipeline.provenance import data_hash, flat_params, folds_signature, git_commit
from forecast.pipeline.register import register


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
    ticker = job.ticker
    started = job.progress.started  # its fits were queued then
    clock = Stopwatch()
    tags = _run_tags(ticker, job.prices, options)
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
            rule = choose_rule(summarize_intervals([r.intervals for r in results]))
            final = submit_final_fit(job, options, scheduler, epochs, results, rule.rule)
            log_folds(job, results, clock)
            summary = log_cv_summary(ticker, results, tags, parent_id, epochs, clock)
            summary.rule = rule
            log_cv_forecasts(results, rule.rule, clock)
            summary.backtest = log_backtest(ticker, results, rule.rule, options, parent_id, clock)
            clock(
                tracking.set_tags,
                {tracking.INTERVAL_RULE_TAG: rule.rule, "intervals.choice": rule.message},
            )
            forecaster, model_uri = final_fit(job, scheduler, final, summary, clock)
            warn_uncalibrated(job, results, forecaster, options.cv.levels)
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


def _run_tags(ticker: str, prices: pd.DataFrame, options: PipelineOptions) -> dict[str, str]:
    """The pipeline run's tags: its data (range, rows, hash), code, device and folds."""
    return {
        "ticker": ticker,
        "source": prices.attrs.get("source", "?"),
        "data_start": f"{prices.index[0]:%Y-%m-%d}",
        "data_end": f"{prices.index[-1]:%Y-%m-%d}",
        "rows": str(len(prices)),
        "data_hash": data_hash(prices),
        "git_commit": git_commit(),
        "device": str(resolve_device(options.train.device)),
        tracking.FOLDS_TAG: folds_signature(prices, options),
    }


def _config_dict(options: PipelineOptions) -> dict[str, Any]:
    return {name: asdict(getattr(options, name)) for name in ("window", "lstm", "train", "cv")}
