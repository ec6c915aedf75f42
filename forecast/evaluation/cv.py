"""Walk-forward cross-validation of the LSTM against naive baselines, fold by fold.

In each fold the encoder (scaling) and the model are fitted on that fold's training rows only;
test forecasts come from origins inside the test block, each seeing only rows before it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from forecast.config import CVConfig, LSTMConfig, TrainConfig, WindowConfig
from forecast.evaluation.baselines import BASELINES
from forecast.evaluation.conformal import Calibration, FoldIntervals, scores, window_scale
from forecast.evaluation.diagnosis import Diagnosis, diagnose
from forecast.evaluation.metrics import forecast_metrics, in_sample_naive_mae, overall, skill
from forecast.evaluation.splits import Fold, walk_forward_splits
from forecast.forecaster import Forecaster
from forecast.models.training import Callback
from forecast.prep.encoding import WindowEncoder
from forecast.prep.features import Features, build_features

CallbackFactory = Callable[[int, int], Sequence[Callback]]  # (fold, repeat) -> callbacks


@dataclass
class FoldResult:
    """One fold: forecasts of every repeat and baseline, metrics, curves and a fit diagnosis."""

    fold: Fold
    origin_dates: pd.DatetimeIndex  # (N,) date of each forecast's first step
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
    # (N,) the price-unit volatility known at each origin (conformal.window_scale)
    scale: np.ndarray
    train_dates: tuple[pd.Timestamp, pd.Timestamp]  # first and last training day
    # prediction intervals calibrated on earlier folds only (none for the first fold):
    # source (conformal.INTERVAL_SOURCES) -> level -> metric -> per-step values
    intervals: dict[str, dict[float, dict[str, list[float]]]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Plan:
    """What every fold of one cross-validation shares."""

    window: WindowConfig
    lstm: LSTMConfig
    train: TrainConfig
    cv: CVConfig
    callbacks_for: CallbackFactory | None


def cross_validate(
    prices: pd.DataFrame,
    window: WindowConfig,
    lstm: LSTMConfig,
    train: TrainConfig,
    cv: CVConfig,
    callbacks_for: CallbackFactory | None = None,
) -> Iterator[FoldResult]:
    """Yield each fold's result as soon as it is done (oldest test block first)."""
    features = build_features(prices, window.features, window.target)
    horizon = window.horizon
    gap = horizon - 1 if cv.gap is None else cv.gap
    if gap < horizon - 1:
        raise ValueError(f"gap={gap} must be at least horizon - 1 = {horizon - 1} rows")
    folds = walk_forward_splits(
        len(features.target),
        cv.n_folds,
        cv.test_size,
        mode=cv.mode,
        train_size=cv.train_size,
        gap=gap,
        min_train_rows=WindowEncoder.for_window(window).first_origin + horizon + 1,
    )
    plan = _Plan(window, lstm, train, cv, callbacks_for)
    intervals = FoldIntervals(cv.levels)
    for fold in list(folds):
        result = _run_fold(fold, features, plan)
        result.intervals = intervals.evaluate(
            result.actual,
            np.mean(result.forecasts, axis=0),
            result.baselines["naive"],
            result.scale,
        )
        yield result


@dataclass
class _Repeats:
    """Every repeat's fit of one fold."""

    forecasts: list[np.ndarray] = field(default_factory=list)  # per repeat, (N, H) prices
    histories: list[dict[str, list[float]]] = field(default_factory=list)
    best_epochs: list[int] = field(default_factory=list)
    best_val_losses: list[float] = field(default_factory=list)
    naive_val_losses: list[float] = field(default_factory=list)


def _fit_repeats(
    fold: Fold, features: Features, plan: _Plan, origins: np.ndarray, seen: int
) -> _Repeats:
    """Fit one model per seed on the fold's training rows; forecast from `origins`, each seeing
    only rows before it (and nothing after row `seen`)."""
    values, target = features.values, features.target
    train_rows = slice(fold.train_start, fold.train_end)
    out = _Repeats()
    for repeat in range(plan.cv.repeats):
        train = replace(plan.train, seed=plan.train.seed + repeat)
        forecaster = Forecaster(plan.window, plan.lstm, train)
        callbacks = plan.callbacks_for(fold.index, repeat) if plan.callbacks_for else ()
        result = forecaster.fit_arrays(values[train_rows], target[train_rows], callbacks)
        out.forecasts.append(forecaster.forecast_origins(values[:seen], target[:seen], origins))
        out.histories.append(result.history)
        out.best_epochs.append(result.best_epoch)
        out.best_val_losses.append(result.best_val_loss)
        out.naive_val_losses.append(result.naive_val_loss)
    return out


def _run_fold(fold: Fold, features: Features, plan: _Plan) -> FoldResult:
    horizon, lookback = plan.window.horizon, plan.window.lookback
    target, dates = features.target, features.index
    first_origin = WindowEncoder.for_window(plan.window).first_origin
    # the fold sees nothing after its test block, and each origin nothing after itself
    seen_target = target[: fold.test_end]
    origins = np.arange(max(fold.test_start, first_origin), fold.test_end - horizon + 1)
    actual = sliding_window_view(seen_target, horizon)[origins]
    history = sliding_window_view(seen_target, lookback)[origins - lookback]
    last_observed = seen_target[origins - 1]
    scale = in_sample_naive_mae(target[fold.train_start : fold.train_end])

    repeats = _fit_repeats(fold, features, plan, origins, fold.test_end)
    model_steps = [forecast_metrics(actual, f, last_observed, scale) for f in repeats.forecasts]
    repeat_metrics = [
        overall(steps, actual, forecast)
        for steps, forecast in zip(model_steps, repeats.forecasts, strict=True)
    ]

    baselines = {name: fn(history, horizon) for name, fn in BASELINES.items()}
    per_step: dict[str, dict[str, list[float]]] = {}
    metrics: dict[str, dict[str, float]] = {}
    for name, forecast in baselines.items():
        steps = forecast_metrics(actual, forecast, last_observed, scale)
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
    return FoldResult(
        fold=fold,
        origin_dates=dates[origins],
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
        # the rows the model read for each forecast: the same rule serves the final model
        scale=window_scale(sliding_window_view(seen_target, first_origin)[origins - first_origin]),
        train_dates=(dates[fold.train_start], dates[fold.train_end - 1]),
    )


def calibration(results: Sequence[FoldResult], levels: tuple[float, ...]) -> Calibration | None:
    """The final model's interval calibration: the quantiles of every CV test forecast's score
    (the model's mean over repeats, scaled by the volatility at its origin), for the levels
    whose bounds are finite (None when none is: too few CV forecasts)."""
    calibration_scores = np.concatenate(
        [scores(r.actual, np.mean(r.forecasts, axis=0), r.scale) for r in results]
    )
    return Calibration.fit(calibration_scores, levels).finite()
