"""Split-conformal prediction intervals on walk-forward residuals, scaled by volatility.

The score of a forecast is its signed error divided by the volatility known at its origin (an
EWMA of squared log returns up to the origin: only the past). Lower and upper bounds come from
separate quantiles of those scores (moves are not symmetric), each at the finite-sample rank
ceil((n + 1) * q) of the n calibration scores, per horizon step. With `volatility=None` the
scores are the raw errors: the constant-width interval the volatility scaling is compared with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

EWMA_HALFLIFE = 20  # trading days: the RiskMetrics decay (lambda 0.94) has a half-life of ~11
MIN_VOLATILITY = 1e-8  # daily log-return volatility floor: never divide a score by zero


def ewma_volatility(prices: np.ndarray, halflife: float = EWMA_HALFLIFE) -> np.ndarray:
    """(T,) the volatility of log returns known at the end of each day t, from returns up to t
    only (day 0 has none: the first return's size stands in)."""
    prices = np.asarray(prices, dtype=np.float64)
    if prices.ndim != 1 or len(prices) < 2 or not (prices > 0).all():
        raise ValueError("ewma_volatility needs 2 or more positive prices in a 1-D array")
    squared = pd.Series(np.diff(np.log(prices)) ** 2)
    smoothed = squared.ewm(halflife=halflife, adjust=False).mean().to_numpy()  # past only
    variance = np.concatenate([smoothed[:1], smoothed])  # day t: returns up to day t
    return np.sqrt(np.maximum(variance, MIN_VOLATILITY**2))


def scores(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
    """Signed errors (N, H), divided by each origin's `scale` (N,) when given."""
    error = np.asarray(actual, dtype=np.float64) - np.asarray(forecast, dtype=np.float64)
    return error if scale is None else error / np.asarray(scale, dtype=np.float64)[:, None]


def _rank_quantile(values: np.ndarray, q: float) -> float:
    """The ceil((n + 1) q)-th smallest of n values (inf when that rank exceeds n)."""
    n = len(values)
    rank = math.ceil((n + 1) * q)
    if rank > n:
        return math.inf
    if rank < 1:
        return -math.inf
    return float(np.partition(values, rank - 1)[rank - 1])


@dataclass(frozen=True)
class Calibration:
    """Score quantiles per level and step: lower[level] and upper[level] are (H,) arrays."""

    levels: tuple[float, ...]
    lower: dict[float, np.ndarray]
    upper: dict[float, np.ndarray]
    n: int  # calibration scores per step

    @classmethod
    def fit(cls, calibration_scores: np.ndarray, levels: tuple[float, ...]) -> Calibration:
        """From (N, H) scores: for level 1 - alpha, the alpha/2 and 1 - alpha/2 quantiles of
        each step's scores, at the finite-sample ranks (the lower one mirrored)."""
        values = np.asarray(calibration_scores, dtype=np.float64)
        if values.ndim != 2 or len(values) == 0:
            raise ValueError(f"calibration scores must be (N >= 1, H); got {values.shape}")
        for level in levels:
            if not 0 < level < 1:
                raise ValueError(f"levels must lie in (0, 1); got {level!r}")
        lower, upper = {}, {}
        for level in levels:
            tail = (1 - level) / 2
            upper[level] = np.array([_rank_quantile(s, 1 - tail) for s in values.T])
            lower[level] = np.array([-_rank_quantile(-s, 1 - tail) for s in values.T])
        return cls(tuple(levels), lower, upper, len(values))

    def interval(
        self, forecast: np.ndarray, level: float, scale: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) bounds (N, H) around forecasts (N, H) at `level`."""
        size = 1.0 if scale is None else np.asarray(scale, dtype=np.float64)[:, None]
        forecast = np.asarray(forecast, dtype=np.float64)
        return forecast + self.lower[level] * size, forecast + self.upper[level] * size


def interval_metrics(
    actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float
) -> dict[str, np.ndarray]:
    """Per step (H,): coverage, mean width in price units and in % of the actual price, and
    the interval (Winkler) score: width plus 2/alpha times how far outside a miss landed."""
    actual = np.asarray(actual, dtype=np.float64)
    alpha = 1 - level
    width = upper - lower
    below, above = actual < lower, actual > upper
    # np.where, not a product: a bound is infinite when calibration had too few scores
    penalty = (2 / alpha) * (
        np.where(below, lower - actual, 0) + np.where(above, actual - upper, 0)
    )
    return {
        "coverage": np.mean(~below & ~above, axis=0),
        "width": np.mean(width, axis=0),
        "width_pct": np.mean(100 * width / actual, axis=0),
        "winkler": np.mean(width + penalty, axis=0),
    }


# the intervals compared in CV: the model's with volatility scaling, the same with constant
# width, and the naive forecast's with volatility scaling
INTERVAL_SOURCES = ("model", "model_constant", "naive")


class FoldIntervals:
    """Walk-forward interval evaluation: each fold is calibrated on the scores of earlier folds
    only (the first fold has none, so it gets no intervals), then adds its own."""

    def __init__(self, levels: tuple[float, ...]) -> None:
        self.levels = levels
        self.earlier: dict[str, list[np.ndarray]] = {name: [] for name in INTERVAL_SOURCES}

    def evaluate(
        self, actual: np.ndarray, model: np.ndarray, naive: np.ndarray, scale: np.ndarray
    ) -> dict[str, dict[float, dict[str, list[float]]]]:
        """source -> level -> metric -> per-step values for this fold (empty for the first)."""
        points = {
            "model": (model, scale),
            "model_constant": (model, None),
            "naive": (naive, scale),
        }
        out: dict[str, dict[float, dict[str, list[float]]]] = {}
        for name, (point, used) in points.items():
            if self.earlier[name]:
                calibration = Calibration.fit(np.concatenate(self.earlier[name]), self.levels)
                out[name] = {}
                for level in self.levels:
                    lower, upper = calibration.interval(point, level, used)
                    figures = interval_metrics(actual, lower, upper, level)
                    out[name][level] = {k: v.tolist() for k, v in figures.items()}
            self.earlier[name].append(scores(actual, point, used))
        return out


def interval_key(source: str, level: float, metric: str) -> str:
    """The metric name of one interval figure: intervals/model/80/coverage."""
    return f"intervals/{source}/{level * 100:g}/{metric}"


def summarize_intervals(
    per_fold: list[dict[str, dict[float, dict[str, list[float]]]]],
) -> dict[str, dict[float, dict[str, float]]]:
    """Mean over the folds that have intervals, and over their steps: source -> level -> metric."""
    evaluated = [fold for fold in per_fold if fold]
    if not evaluated:
        return {}
    return {
        source: {
            level: {
                metric: float(np.mean([fold[source][level][metric] for fold in evaluated]))
                for metric in evaluated[0][source][level]
            }
            for level in evaluated[0][source]
        }
        for source in evaluated[0]
    }
