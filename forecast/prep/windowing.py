"""Sliding windows over a (T, F) series, as zero-copy views: the one windowing code path.

A forecast origin t sees rows [t - lookback, t) and forecasts rows [t, t + horizon). Training,
CV, the Forecaster and the service all cut their windows with `windows_at` / `targets_at`;
`make_windows` is the same thing for every origin of a series.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Origins = np.ndarray | range  # a range keeps the result a view; an array gathers (a copy)


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {value!r}")


def _rows(values: np.ndarray, name: str, needed: int, lookback: int, horizon: int) -> np.ndarray:
    """`values` as 2-D rows, checked for length and finiteness."""
    rows = np.asarray(values)
    if rows.ndim == 1:
        rows = rows[:, None]
    if rows.ndim != 2:
        raise ValueError(f"{name} must be 2-D (T, F) or 1-D (T,); got shape {rows.shape}")
    if len(rows) < needed:
        what = f"lookback={lookback}" + (f" and horizon={horizon}" if horizon else "")
        raise ValueError(f"{what} need at least {needed} rows; got {len(rows)}")
    if np.issubdtype(rows.dtype, np.floating):
        finite = np.isfinite(rows).all(axis=1)
        if not finite.all():
            bad = np.flatnonzero(~finite)
            raise ValueError(f"{name} has NaN or infinite values in rows {bad[:5].tolist()}")
    return rows


def _pick(view: np.ndarray, first: Origins) -> np.ndarray:
    """Rows `first` of a sliding-window view: a strided view for a range, a gather otherwise."""
    if isinstance(first, range):
        return view[first.start : first.stop : first.step]
    return view[np.asarray(first, dtype=np.int64)]


def _shift(origins: Origins, by: int) -> Origins:
    if isinstance(origins, range):
        return range(origins.start + by, origins.stop + by, origins.step)
    return np.asarray(origins, dtype=np.int64) + by


def windows_at(rows: np.ndarray, origins: Origins, lookback: int) -> np.ndarray:
    """X (N, lookback, F): for each origin t, rows [t - lookback, t) of `rows` (T, F)."""
    # (T - L + 1, F, L) -> (N, L, F)
    view = sliding_window_view(rows, lookback, axis=0).transpose(0, 2, 1)
    return _pick(view, _shift(origins, -lookback))


def targets_at(target: np.ndarray, origins: Origins, horizon: int) -> np.ndarray:
    """y (N, horizon): for each origin t, target rows [t, t + horizon) of `target` (T,)."""
    return _pick(sliding_window_view(target, horizon), origins)


def step_targets_at(target: np.ndarray, origins: Origins, lookback: int) -> np.ndarray:
    """(N, lookback): for each origin t, the value after each input step, rows
    [t - lookback + 1, t + 1); the last column is the first forecast step's target."""
    return _pick(sliding_window_view(target, lookback), _shift(origins, 1 - lookback))


def n_windows(n_rows: int, lookback: int, horizon: int, stride: int = 1) -> int:
    """How many windows `make_windows` builds from `n_rows` rows."""
    return max(0, (n_rows - lookback - horizon) // stride + 1)


def all_origins(n_rows: int, lookback: int, horizon: int, stride: int = 1) -> range:
    """Every origin of a series whose window and targets lie inside its `n_rows` rows."""
    return range(lookback, n_rows - horizon + 1, stride)


def make_windows(
    features: np.ndarray, target: np.ndarray, lookback: int, horizon: int, stride: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """X (N, lookback, F) and y (N, horizon) as read-only views of the inputs.

    features (T, F) or (T,), target (T,); N = (T - lookback - horizon) // stride + 1.
    Raises ValueError for lookback/horizon/stride < 1, too few rows, mismatched lengths, NaN.
    """
    _check_sizes(lookback=lookback, horizon=horizon, stride=stride)
    needed = lookback + horizon
    values = _rows(features, "features", needed, lookback, horizon)
    goal = _rows(target, "target", needed, lookback, horizon)
    if np.ndim(target) != 1 or len(goal) != len(values):
        raise ValueError(
            f"target must be 1-D with one value per feature row ({len(values)}); "
            f"got shape {np.shape(target)}"
        )
    origins = all_origins(len(values), lookback, horizon, stride)
    return windows_at(values, origins, lookback), targets_at(goal[:, 0], origins, horizon)


def next_step_targets(
    target: np.ndarray, lookback: int, horizon: int, stride: int = 1
) -> np.ndarray:
    """Per-timestep targets (N, lookback) aligned with `make_windows`: the value after each step.

    Row i, column t is target[i * stride + t + 1], so the last column equals y[:, 0]. This is
    what many-to-many (Keras TimeDistributed-style) training fits.
    """
    _check_sizes(lookback=lookback, horizon=horizon, stride=stride)
    if np.ndim(target) != 1:
        raise ValueError(f"target must be 1-D (T,); got shape {np.shape(target)}")
    goal = _rows(target, "target", lookback + horizon, lookback, horizon)[:, 0]
    return step_targets_at(goal, all_origins(len(goal), lookback, horizon, stride), lookback)


def last_window(features: np.ndarray, lookback: int) -> np.ndarray:
    """The most recent window (1, lookback, F), the input of a forecast beyond the data."""
    _check_sizes(lookback=lookback)
    rows = _rows(features, "features", lookback, lookback, 0)
    return windows_at(rows, range(len(rows), len(rows) + 1), lookback)
