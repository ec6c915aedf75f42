"""One fit as a task: data, configs and seed in; forecasts, curves and the fitted model out.

A task is a pure function of its fields, so any executor (this process, worker processes, Ray)
returns the same outcome. CV builds fold fits, the pipeline a final fit; forecast.parallel runs
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from forecast.config import LEVELS, LSTMConfig, TrainConfig, WindowConfig
from forecast.intervals import DEFAULT_RULE

if TYPE_CHECKING:
    import pandas as pd

    from forecast.models.training import Callback


@dataclass(frozen=True)
class FitTask:
    """A CV fit: fit on rows [train_start, train_end) of (values, target) and forecast from
    `origins` (each seeing only rows before it). `label` names it in progress and errors."""

    label: str
    values: np.ndarray  # (T, F) feature rows: only those the task may see
    target: np.ndarray  # (T,) prices
    train_start: int
    train_end: int
    window: WindowConfig
    lstm: LSTMConfig
    train: TrainConfig  # its seed and threads make the result; nothing else does
    origins: np.ndarray  # (N,) row indices, each forecast from the rows before it
    # (T, 4) range features aligned with `target` (forecast.prep.features.aligned_ranges): when
    # given, the task also fits the lstm interval rule's scale head on the training rows and
    # returns its scale at the origins (one repeat per fold does)
    ranges: np.ndarray | None = None


@dataclass(frozen=True)
class FinalFit:
    """The final fit: `Forecaster.fit` on every row of `prices`, calibrated on CV's scores."""

    label: str
    prices: pd.DataFrame  # a validated price frame
    window: WindowConfig
    lstm: LSTMConfig
    train: TrainConfig
    calibration_scores: np.ndarray | None = None  # (N, H): see Forecaster.fit
    levels: tuple[float, ...] = LEVELS
    rule: str = DEFAULT_RULE  # the intervals' width rule, the one the scores were divided by


Task = FitTask | FinalFit  # what executors run


@dataclass
class FitOutcome:
    """What a task returns: per-epoch curves, the chosen epoch and its validation loss, epoch
    0's (the naive forecast's for a residual network), and the forecasts (CV) or the fitted
    Forecaster (final fit)."""

    label: str
    history: dict[str, list[float]]
    best_epoch: int
    best_val_loss: float
    naive_val_loss: float
    seconds: float
    forecasts: np.ndarray | None = None  # (N, H) prices, one row per origin
    scale: np.ndarray | None = None  # (N, H) the scale head's at the origins (task.ranges)
    forecaster: object = None  # forecast.forecaster.Forecaster, for a final fit


def run_fit(task: Task, callbacks: Sequence[Callback] = ()) -> FitOutcome:
    """The task, with the torch CPU thread count of its TrainConfig for training and forecasting
    alike (so a result never depends on where it ran)."""
    import time

    from forecast.forecaster import Forecaster
    from forecast.models.device import cpu_threads

    started = time.perf_counter()
    forecasts = scale = None
    with cpu_threads(task.train.threads):
        forecaster = Forecaster(task.window, task.lstm, task.train)
        if isinstance(task, FinalFit):
            forecaster.fit(
                task.prices,
                callbacks,
                calibration_scores=task.calibration_scores,
                levels=task.levels,
                rule=task.rule,
            )
            result = forecaster.result_
        else:
            rows = slice(task.train_start, task.train_end)
            result = forecaster.fit_arrays(task.values[rows], task.target[rows], callbacks)
            forecasts = forecaster.forecast_origins(task.values, task.target, task.origins)
            if task.ranges is not None:
                scale = _head_scale(task, forecaster.encoder_.first_origin)
    return FitOutcome(
        label=task.label,
        history=result.history,
        best_epoch=result.best_epoch,
        best_val_loss=result.best_val_loss,
        naive_val_loss=result.naive_val_loss,
        seconds=time.perf_counter() - started,
        forecasts=forecasts,
        scale=scale,
        forecaster=forecaster if isinstance(task, FinalFit) else None,
    )


def _head_scale(task: FitTask, rows: int) -> np.ndarray:
    """The lstm rule's scale head fitted on the task's training rows (windows of the `rows`
    price rows the point model reads), and its scale (N, H) at the task's origins."""
    from forecast.models.scale_head import ScaleHead, windows_at

    ranges = np.asarray(task.ranges)
    train = slice(task.train_start, task.train_end)
    head = ScaleHead.fit(
        ranges[train], task.target[train], rows, task.window.horizon, seed=task.train.seed
    )
    return head.scale(windows_at(ranges, task.target, task.origins, rows), task.window.horizon)


def replay(callbacks: Sequence[Callback], history: dict[str, list[float]]) -> None:
    """Hand a finished fit's curves to callbacks epoch by epoch, as a live fit would have."""
    epochs = len(history.get("train_loss", ()))
    for epoch in range(1, epochs + 1):
        metrics = {key: values[epoch - 1] for key, values in history.items()}
        for callback in callbacks:
            callback.on_epoch_end(epoch, metrics)
