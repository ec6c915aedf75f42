"""Walk-forward cross-validation of the LSTM against naive baselines, fold by fold.

In each fold the encoder (scaling) and the model are fitted on that fold's training rows only;
test forecasts come from origins inside the test block, each seeing only rows before it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Protocol

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from forecast.config import CVConfig, LSTMConfig, TrainConfig, WindowConfig, cv_gap
from forecast.evaluation.backtest import realized_vol
from forecast.evaluation.baselines import BASELINES
from forecast.evaluation.conformal import RULE_SOURCES, FoldIntervals
from forecast.evaluation.diagnosis import Diagnosis, diagnose
from forecast.evaluation.metrics import forecast_metrics, in_sample_naive_mae, overall, skill
from forecast.evaluation.splits import Fold, walk_forward_splits
from forecast.fitting import FitOutcome, FitTask
from forecast.garch import Garch
from forecast.intervals import (
    DEFAULT_RULE,
    Volatility,
    check_rule,
    lower_column,
    scores,
    upper_column,
)
from forecast.models.scale_head import ScaleHead
from forecast.models.training import Callback
from forecast.prep.encoding import WindowEncoder
from forecast.prep.features import Features, aligned_ranges, build_features

CallbackFactory = Callable[[int, int], Sequence[Callback]]  # (fold, repeat) -> callbacks


class FitQueue(Protocol):
    """Where CV's fits run, given by the caller (forecast.parallel.Scheduler): submit a task
    and get a ticket, wait for a ticket's outcome, drop tickets not started."""

    def submit(self, task: FitTask, callbacks: Callable[[], Sequence[Callback]] | None) -> int: ...

    def result(self, ticket: int) -> FitOutcome: ...

    def cancel(self, tickets: Sequence[int]) -> None: ...


@dataclass
class FoldResult:
    """One fold: forecasts of every repeat and baseline, metrics, curves and a fit diagnosis."""

    fold: Fold
    origin_dates: pd.DatetimeIndex  # (N,) date of each forecast's first step
    target_dates: np.ndarray  # (N, H) datetime64: the date of each step
    actual: np.ndarray  # (N, H) prices
    last_observed: np.ndarray  # (N,) price before each origin
    forecasts: list[np.ndarray]  # per repeat, (N, H) prices
    baselines: dict[str, np.ndarray]  # name -> (N, H) prices
    metrics: dict[str, dict[str, float]]  # "model" (mean over repeats) and each baseline
    per_step: dict[str, dict[str, list[float]]]  # same keys: metric -> value per horizon step
    repeat_metrics: list[dict[str, float]]
    histories: list[dict[str, list[float]]]
    best_epochs: list[int]
    # per repeat: the chosen epoch's validation loss, and epoch 0's (the naive forecast's when
    # the network is residual; NaN otherwise)
    best_val_losses: list[float]
    naive_val_losses: list[float]
    diagnosis: Diagnosis  # its label, and the numbers behind it
    # (N, H) the price move each origin's steps can expect, by the fold's volatility rule
    scale: np.ndarray
    volatility: Volatility  # reverting to the variance of the fold's training prices
    # (N, H) the same by GARCH(1,1)-t fitted on the fold's training prices (forecast.garch)
    garch_scale: np.ndarray
    garch: Garch
    # (N, H) the same by the LSTM scale head fitted on the fold's training rows (repeat 1's
    # task; forecast.models.scale_head); None when the first fold has too few rows for one
    lstm_scale: np.ndarray | None
    training_vol: float  # annualized volatility of the training prices' daily returns
    train_dates: tuple[pd.Timestamp, pd.Timestamp]  # first and last training day
    # prediction intervals calibrated on earlier folds only (none for the first fold):
    # source (conformal.INTERVAL_SOURCES) -> level -> metric -> per-step values
    intervals: dict[str, dict[float, dict[str, list[float]]]] = field(default_factory=dict)
    # source -> mean pinball loss per step over conformal.PINBALL_QUANTILES (none for fold 1)
    pinball: dict[str, list[float]] = field(default_factory=dict)
    # source -> level -> (lower, upper) prices, each (N, H), of the same intervals
    bounds: dict[str, dict[float, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Plan:
    """What every fold of one cross-validation shares."""

    window: WindowConfig
    lstm: LSTMConfig
    train: TrainConfig
    cv: CVConfig


class CrossValidation:
    """Walk-forward CV as tasks: every fold x repeat fit is submitted to a Scheduler at once (so
    workers can run them side by side, and beside other tickers'), then each fold's result is
    assembled as soon as its fits are done, oldest test block first."""

    def __init__(
        self,
        prices: pd.DataFrame,
        window: WindowConfig,
        lstm: LSTMConfig,
        train: TrainConfig,
        cv: CVConfig,
        label: str = "",
    ) -> None:
        self.features = build_features(prices, window.features, window.target)
        horizon = window.horizon
        gap = cv_gap(window, cv)
        self.folds = list(
            walk_forward_splits(
                len(self.features.target),
                cv.n_folds,
                cv.test_size,
                mode=cv.mode,
                train_size=cv.train_size,
                gap=gap,
                min_train_rows=WindowEncoder.for_window(window).first_origin + horizon + 1,
            )
        )
        self.plan = _Plan(window, lstm, train, cv)
        # the lstm rule is compared only when every fold can fit its head (the first has the
        # fewest training rows): every rule on the same origins
        first = self.folds[0] if self.folds else None
        rows = WindowEncoder.for_window(window).first_origin
        self.ranges = (
            aligned_ranges(
                {c: prices[c].to_numpy(dtype=np.float64) for c in prices.columns},
                window.target,
                len(self.features.target),
            )
            if first is not None
            and ScaleHead.can_fit(first.train_end - first.train_start, rows, horizon)
            else None
        )
        self.label = label
        self.tickets: dict[int, list[int]] = {}
        self.queue: FitQueue | None = None
        self._outcomes: dict[int, list[FitOutcome]] = {}

    def origins(self, fold: Fold) -> np.ndarray:
        """The fold's forecast origins: inside its test block, each with a full window."""
        first_origin = WindowEncoder.for_window(self.plan.window).first_origin
        horizon = self.plan.window.horizon
        return np.arange(max(fold.test_start, first_origin), fold.test_end - horizon + 1)

    def task(self, fold: Fold, repeat: int) -> FitTask:
        """One fit: the fold's training rows, a seed per repeat, and its test origins; it sees
        nothing after the fold's test block."""
        plan = self.plan
        seen = fold.test_end
        return FitTask(
            label=f"{self.label}cv fold {fold.number}/{len(self.folds)}, repeat "
            f"{repeat + 1}/{plan.cv.repeats}",
            values=self.features.values[:seen],
            target=self.features.target[:seen],
            train_start=fold.train_start,
            train_end=fold.train_end,
            window=plan.window,
            lstm=plan.lstm,
            train=replace(plan.train, seed=plan.train.seed + repeat),
            origins=self.origins(fold),
            ranges=None if self.ranges is None or repeat else self.ranges[:seen],
        )

    def submit(
        self, queue: FitQueue, callbacks_for: CallbackFactory | None = None
    ) -> CrossValidation:
        """Queue every fit on the caller's `queue`, the biggest first (the latest folds train on
        the most rows), so that workers finish together; `callbacks_for(fold index, repeat)`
        gives each fit's callbacks."""
        self.queue = queue
        for fold in reversed(self.folds):
            self.tickets[fold.index] = [
                queue.submit(
                    self.task(fold, repeat),
                    None if callbacks_for is None else partial(callbacks_for, fold.index, repeat),
                )
                for repeat in range(self.plan.cv.repeats)
            ]
        return self

    def outcomes(self, fold: Fold) -> list[FitOutcome]:
        """The fold's fits, one per repeat (waiting for them)."""
        if self.queue is None:
            raise RuntimeError("submit() the fits to a queue (a Scheduler) first")
        if fold.index not in self._outcomes:
            self._outcomes[fold.index] = [self.queue.result(t) for t in self.tickets[fold.index]]
        return self._outcomes[fold.index]

    def collect(self) -> list[FitOutcome]:
        """Wait for every fit (in this process: run them, oldest fold first); all of them."""
        for fold in self.folds:
            self.outcomes(fold)
        return [outcome for fold in self.folds for outcome in self._outcomes[fold.index]]

    def results(self) -> Iterator[FoldResult]:
        """Each fold's result in order, its intervals calibrated on the folds before it."""
        intervals = FoldIntervals(self.plan.cv.levels)
        for fold in self.folds:
            outcomes = self.outcomes(fold)
            result = _assemble_fold(fold, self.features, self.plan, outcomes, self.origins(fold))
            result.intervals = intervals.evaluate(
                result.actual,
                np.mean(result.forecasts, axis=0),
                result.baselines["naive"],
                result.scale,
                result.garch_scale,
                result.lstm_scale,
            )
            result.pinball, result.bounds = intervals.pinball, intervals.bounds
            yield result

    def cancel(self) -> None:
        """Drop the fits that have not started (this CV failed or was abandoned)."""
        if self.queue is not None:
            self.queue.cancel([t for tickets in self.tickets.values() for t in tickets])


@dataclass
class _Repeats:
    """Every repeat's fit of one fold."""

    forecasts: list[np.ndarray] = field(default_factory=list)  # per repeat, (N, H) prices
    histories: list[dict[str, list[float]]] = field(default_factory=list)
    best_epochs: list[int] = field(default_factory=list)
    best_val_losses: list[float] = field(default_factory=list)
    naive_val_losses: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, outcomes: list[FitOutcome]) -> _Repeats:
        repeats = cls()
        for outcome in outcomes:
            if outcome.forecasts is None:
                raise RuntimeError(f"{outcome.label}: a CV fit returned no forecasts")
            repeats.forecasts.append(outcome.forecasts)
            repeats.histories.append(outcome.history)
            repeats.best_epochs.append(outcome.best_epoch)
            repeats.best_val_losses.append(outcome.best_val_loss)
            repeats.naive_val_losses.append(outcome.naive_val_loss)
        return repeats


def _scores(
    actual: np.ndarray,
    last_observed: np.ndarray,
    mase_scale: float,
    forecasts: list[np.ndarray],
    baselines: dict[str, np.ndarray],
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, list[float]]], list[dict[str, float]]]:
    """Every forecaster's metrics on the same origins (the model's: the mean over repeats),
    each metric per step, every repeat's, and the skill against naive."""
    model_steps = [forecast_metrics(actual, f, last_observed, mase_scale) for f in forecasts]
    repeat_metrics = [
        overall(steps, actual, forecast)
        for steps, forecast in zip(model_steps, forecasts, strict=True)
    ]
    per_step: dict[str, dict[str, list[float]]] = {}
    metrics: dict[str, dict[str, float]] = {}
    for name, forecast in baselines.items():
        steps = forecast_metrics(actual, forecast, last_observed, mase_scale)
        per_step[name] = {k: v.tolist() for k, v in steps.items()}
        metrics[name] = overall(steps, actual, forecast)
    per_step["model"] = {
        k: np.mean([s[k] for s in model_steps], axis=0).tolist() for k in model_steps[0]
    }
    metrics["model"] = {
        k: float(np.mean([m[k] for m in repeat_metrics])) for k in repeat_metrics[0]
    }
    metrics["model"]["rmse_repeat_std"] = float(np.std([m["rmse"] for m in repeat_metrics]))
    for name in metrics:
        metrics[name]["skill"] = skill(metrics[name]["rmse"], metrics["naive"]["rmse"])
    return metrics, per_step, repeat_metrics


def _assemble_fold(
    fold: Fold, features: Features, plan: _Plan, outcomes: list[FitOutcome], origins: np.ndarray
) -> FoldResult:
    horizon, lookback = plan.window.horizon, plan.window.lookback
    target, dates = features.target, features.index
    first_origin = WindowEncoder.for_window(plan.window).first_origin
    # the fold sees nothing after its test block, and each origin nothing after itself
    seen_target = target[: fold.test_end]
    actual = sliding_window_view(seen_target, horizon)[origins]
    history = sliding_window_view(seen_target, lookback)[origins - lookback]
    last_observed = seen_target[origins - 1]
    training = target[fold.train_start : fold.train_end]
    volatility, garch = Volatility.of(training), Garch.fit(training)
    # the rows the model read for each forecast: the same rule serves the final model
    read = sliding_window_view(seen_target, first_origin)[origins - first_origin]

    repeats = _Repeats.of(outcomes)
    baselines = {name: fn(history, horizon) for name, fn in BASELINES.items()}
    metrics, per_step, repeat_metrics = _scores(
        actual, last_observed, in_sample_naive_mae(training), repeats.forecasts, baselines
    )
    return FoldResult(
        fold=fold,
        origin_dates=dates[origins],
        target_dates=sliding_window_view(dates.to_numpy()[: fold.test_end], horizon)[origins],
        actual=actual,
        last_observed=last_observed,
        forecasts=repeats.forecasts,
        baselines=baselines,
        metrics=metrics,
        per_step=per_step,
        repeat_metrics=repeat_metrics,
        histories=repeats.histories,
        best_epochs=repeats.best_epochs,
        best_val_losses=repeats.best_val_losses,
        naive_val_losses=repeats.naive_val_losses,
        diagnosis=diagnose(repeats.histories, repeats.naive_val_losses),
        scale=volatility.scale(read, horizon),
        volatility=volatility,
        garch_scale=garch.scale(read, horizon),
        garch=garch,
        lstm_scale=outcomes[0].scale,
        training_vol=realized_vol(training),
        train_dates=(dates[fold.train_start], dates[fold.train_end - 1]),
    )


def cv_forecasts(results: Sequence[FoldResult], rule: str = DEFAULT_RULE) -> pd.DataFrame:
    """Every CV forecast, a row per origin and step, oldest first: the fold, the origin (its
    first step's date), the step and its date, the last price observed before the origin, the
    actual price, the model's forecast (the mean over repeats), naive's, and the bounds of the
    intervals `rule` serves at each level (NaN in the first fold: no earlier fold calibrates
    it). The pipeline logs it as cv/forecasts.csv, so any other tool can be scored on the same
    origins."""
    check_rule(rule)
    source = RULE_SOURCES[rule]
    levels = sorted({level for r in results for level in r.bounds.get(source, {})})
    frames = []
    for r in results:
        n, horizon = r.actual.shape
        columns = {
            "fold": np.full(n * horizon, r.fold.number),
            "origin": np.repeat(r.origin_dates.to_numpy(), horizon),
            "step": np.tile(np.arange(1, horizon + 1), n),
            "date": r.target_dates.ravel(),
            "last_observed": np.repeat(r.last_observed, horizon),
            "actual": r.actual.ravel(),
            "model": np.mean(r.forecasts, axis=0).ravel(),
            "naive": r.baselines["naive"].ravel(),
        }
        for level in levels:
            lower, upper = r.bounds.get(source, {}).get(level, (np.nan, np.nan))
            columns[lower_column(level)] = np.broadcast_to(lower, r.actual.shape).ravel()
            columns[upper_column(level)] = np.broadcast_to(upper, r.actual.shape).ravel()
        frames.append(pd.DataFrame(columns))
    return pd.concat(frames, ignore_index=True)


def calibration_scores(results: Sequence[FoldResult], rule: str = DEFAULT_RULE) -> np.ndarray:
    """(N, H) every CV test forecast's conformal score, oldest first: the model's error (its
    mean over repeats) divided by the move its fold's `rule` (INTERVAL_RULES) expected. The
    final model calibrates its intervals on them (Forecaster.fit with the same rule)."""
    check_rule(rule)

    def scale(r: FoldResult) -> np.ndarray | None:
        if rule == "lstm" and r.lstm_scale is None:
            raise ValueError("the lstm rule was not measured in this CV (too few rows)")
        return {"ewma": r.scale, "garch": r.garch_scale, "lstm": r.lstm_scale}.get(rule)

    return np.concatenate(
        [scores(r.actual, np.mean(r.forecasts, axis=0), scale(r)) for r in results]
    )
