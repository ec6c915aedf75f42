"""One ticker's CV in MLflow: a nested run per fold (metrics per step and repeat, curves,
plots, tags), then the aggregates on the parent run."""

from __future__ import annotations

import math
from collections import Counter

import pandas as pd

from forecast import tracking
from forecast.evaluation.backtest import Backtest, backtest_metrics, cv_signals, run_backtest
from forecast.evaluation.conformal import (
    interval_key,
    pinball_key,
    summarize_intervals,
    summarize_pinball,
)
from forecast.evaluation.cv import FoldResult, cv_forecasts
from forecast.evaluation.metrics import aggregate
from forecast.evaluation.plots import equity_and_drawdown, forecast_vs_actual, learning_curves
from forecast.fitting import replay
from forecast.pipeline.jobs import Stopwatch, TickerJob, TickerSummary
from forecast.pipeline.options import PipelineOptions


def log_folds(job: TickerJob, results: list[FoldResult], clock: Stopwatch) -> None:
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


def log_cv_forecasts(results: list[FoldResult], rule: str, clock: Stopwatch) -> None:
    """Every CV forecast by origin and step, with naive's and the served rule's bounds, on the
    parent run: what another tool is scored against on the same origins."""
    frame = cv_forecasts(results, rule)
    clock(tracking.log_text, frame.to_csv(index=False), tracking.CV_FORECASTS_ARTIFACT)


def log_cv_summary(
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
    pinball = summarize_pinball([r.pinball for r in results])
    buffer.add_all({f"cv/{pinball_key(source)}": value for source, value in pinball.items()})
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
        pinball=pinball,
        interval_folds=sum(1 for r in results if r.intervals),
    )


def log_backtest(
    ticker: str,
    results: list[FoldResult],
    rule: str,
    options: PipelineOptions,
    parent_id: str,
    clock: Stopwatch,
) -> Backtest:
    """The costed backtest of the CV forecasts (the served `rule` sizing vol_target): its
    figures over all folds as backtest/<strategy>/<metric> on the parent run, each fold's as
    backtest/<strategy>/<metric>_by_fold (step: the fold), and its equity-curve and drawdown
    plot."""
    backtest = run_backtest(cv_signals(results, rule), options.backtest)
    buffer = tracking.MetricBuffer(parent_id)
    buffer.add_all(backtest_metrics(backtest))
    for fold, figures in backtest.per_block.items():
        for name, metrics in figures.items():
            for metric, value in metrics.items():
                if math.isfinite(value):
                    buffer.add(f"backtest/{name}/{metric}_by_fold", value, step=fold)
    clock(buffer.flush)
    figure = equity_and_drawdown(backtest, f"{ticker}: CV forecasts' strategies after costs")
    clock(tracking.log_figure, figure, "plots/backtest.png")
    return backtest
