"""Sliding windows over a (T, F) series: `make_windows`, the one windowing function.

A forecast origin t sees rows [t - lookback, t) and forecasts rows [t, t + horizon). Training,
CV, the Forecaster and the service all cut their windows with `make_windows` (through the
encoder): evenly spaced origins give zero-copy strided views of the rows, any other set a
gather.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Origins = np.ndarray | range  # evenly spaced and increasing: views; otherwise a gather (a copy)


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {value!r}")


def _rows(values: np.ndarray, name: str, needed: int, what: str) -> np.ndarray:
    """`values` as 2-D rows, checked for length and finiteness."""
    rows = np.asarray(values)
    if rows.ndim == 1:
        rows = rows[:, None]
    if rows.ndim != 2:
        raise ValueError(f"{name} must be 2-D (T, F) or 1-D (T,); got shape {rows.shape}")
    if len(rows) < needed:
        raise ValueError(f"{what} need at least {needed} rows; got {len(rows)}")
    if np.issubdtype(rows.dtype, np.floating):
        finite = np.isfinite(rows).all(axis=1)
        if not finite.all():
            bad = np.flatnonzero(~finite)
            raise ValueError(f"{name} has NaN or infinite values in rows {bad[:5].tolist()}")
    return rows


def _as_range(origins: Origins) -> Origins:
    """Evenly spaced increasing origins as a range (so slicing keeps a view); others as int64."""
    if isinstance(origins, range):
        return origins
    array = np.asarray(origins, dtype=np.int64)
    if len(array) == 1:
        return range(int(array[0]), int(array[0]) + 1)
    step = int(array[1] - array[0]) if len(array) > 1 else 0
    if step > 0 and (np.diff(array) == step).all():
        return range(int(array[0]), int(array[-1]) + 1, step)
    return array


def _pick(view: np.ndarray, first: Origins) -> np.ndarray:
    """Rows `first` of a sliding-window view: a strided view for a range, a gather otherwise."""
    if isinstance(first, range):
        return view[first.start : first.stop : first.step]
    return view[first]


def _shift(origins: Origins, by: int) -> Origins:
    if isinstance(origins, range):
        return range(origins.start + by, origins.stop + by, origins.step)
    return origins + by


def make_windows(
    features: np.ndarray,
    target: np.ndarray,
    lookback: int,
    horizon: int,
    stride: int = 1,
    *,
    origins: Origins | None = None,
    targets: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """X (N, lookback, F) and y (N, horizon), read-only views of the inputs where the origins
    are evenly spaced: window i reads rows [t_i - lookback, t_i), its targets are rows
    [t_i, t_i + horizon).

    features (T, F) or (T,), target (T,). Origins: every one from `lookback` by `stride`
    (N = (T - lookback - horizon) // stride + 1), or those given, increasing. targets=False: no
    y (None), and origins may reach T (a forecast beyond the data). Raises ValueError for sizes
    < 1, too few rows, origins out of range, mismatched lengths, NaN.
    """
    _check_sizes(lookback=lookback, horizon=horizon, stride=stride)
    needed = lookback + (horizon if targets else 0)
    what = f"lookback={lookback}" + (f" and horizon={horizon}" if targets else "")
    values = _rows(features, "features", needed, what)
    goal = _rows(target, "target", needed, what)
    if np.ndim(target) != 1 or len(goal) != len(values):
        raise ValueError(
            f"target must be 1-D with one value per feature row ({len(values)}); "
            f"got shape {np.shape(target)}"
        )
    last = len(values) - (horizon if targets else 0)  # the last origin with its targets
    chosen = range(lookback, last + 1, stride) if origins is None else _as_range(origins)
    if len(chosen) == 0 or min(chosen) < lookback or max(chosen) > last:
        shown = f"{min(chosen)}..{max(chosen)}" if len(chosen) else "none"
        raise ValueError(f"origins must lie in [{lookback}, {last}]; got {shown}")
    # (T - L + 1, F, L) -> (N, L, F)
    view = sliding_window_view(values, lookback, axis=0).transpose(0, 2, 1)
    X = _pick(view, _shift(chosen, -lookback))
    y = _pick(sliding_window_view(goal[:, 0], horizon), chosen) if targets else None
    return X, y
