"""Sliding windows over a (T, F) series, as zero-copy views.

Window i reads rows [i, i + lookback); its targets are rows [i + lookback, i + lookback + horizon).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


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


def n_windows(n_rows: int, lookback: int, horizon: int, stride: int = 1) -> int:
    """How many windows `make_windows` builds from `n_rows` rows."""
    return max(0, (n_rows - lookback - horizon) // stride + 1)


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
    last = (n_windows(len(values), lookback, horizon, stride) - 1) * stride + 1
    # (T - L + 1, F, L) -> (N, L, F)
    X = sliding_window_view(values, lookback, axis=0).transpose(0, 2, 1)[:last:stride]
    y = sliding_window_view(goal[lookback:, 0], horizon)[:last:stride]
    return X, y


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
    last = (n_windows(len(goal), lookback, horizon, stride) - 1) * stride + 1
    return sliding_window_view(goal[1:], lookback)[:last:stride]


def last_window(features: np.ndarray, lookback: int) -> np.ndarray:
    """The most recent window (1, lookback, F), the input of a forecast beyond the data."""
    _check_sizes(lookback=lookback)
    return _rows(features, "features", lookback, lookback, 0)[None, -lookback:]
