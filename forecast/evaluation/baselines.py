"""Naive baselines on the same origins and horizons as the model, in price units.

Every function takes `history` (N, lookback): the observed prices before each forecast origin,
oldest first, and returns forecasts (N, horizon).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def naive(history: np.ndarray, horizon: int) -> np.ndarray:
    """The last observed value, for every step."""
    return np.repeat(history[:, -1:], horizon, axis=1)


def drift(history: np.ndarray, horizon: int) -> np.ndarray:
    """The line through the first and last observed values, extended."""
    if history.shape[1] < 2:
        return naive(history, horizon)
    slope = (history[:, -1] - history[:, 0]) / (history.shape[1] - 1)
    return history[:, -1:] + slope[:, None] * np.arange(1, horizon + 1)


def seasonal_naive(history: np.ndarray, horizon: int, period: int = 5) -> np.ndarray:
    """The value one season (a trading week by default) before each step."""
    if history.shape[1] < period:
        return naive(history, horizon)
    steps = np.arange(1, horizon + 1)
    # step h repeats the value at h - period * ceil(h / period) relative to the origin
    back = period * ((steps - 1) // period + 1) - steps
    return history[:, history.shape[1] - 1 - back]


def window_mean(history: np.ndarray, horizon: int) -> np.ndarray:
    """The mean of the lookback window, for every step."""
    return np.repeat(history.mean(axis=1, keepdims=True), horizon, axis=1)


BASELINES: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "naive": naive,
    "drift": drift,
    "seasonal_naive": seasonal_naive,
    "mean": window_mean,
}
