"""Adaptive conformal inference (Gibbs & Candes, 2021) over walk-forward test origins.

The miss rate an interval is built for moves after each outcome: alpha <- alpha + gamma *
(target - missed), so coverage follows the target when the scores drift away from the
calibration's. Outcomes arrive late: the step-k outcome of origin t is observed on day
t + k - 1, so it adjusts the intervals of origin t + k onward, never earlier ones.
"""

from __future__ import annotations

import math

import numpy as np

ACI_GAMMA = 0.005  # Gibbs & Candes' step size: slow enough to keep the long-run rate exact


def _bounds(ordered: np.ndarray, alpha: float) -> tuple[float, float]:
    """Lower and upper score quantiles at miss rate `alpha`, split equally between the tails, at
    the finite-sample rank of the sorted scores `ordered` (infinite when alpha asks for more
    than they hold; a zero-width interval at the middle score when alpha >= 1)."""
    n = len(ordered)
    rank = math.ceil((n + 1) * (1 - alpha / 2))
    if rank > n:
        return -math.inf, math.inf
    if rank < (n + 1) / 2:  # alpha past 1: the tails meet
        middle = float(ordered[n // 2])
        return middle, middle
    return float(ordered[n - rank]), float(ordered[rank - 1])


class AdaptiveIntervals:
    """Per level and step, a miss rate that adapts across every origin it is shown, in order
    (fold after fold: the state carries over)."""

    def __init__(self, gamma: float = ACI_GAMMA) -> None:
        self.gamma = gamma
        self.alpha: dict[float, np.ndarray] = {}  # level -> (H,) current miss rate per step

    def interval(
        self,
        calibration_scores: np.ndarray,
        forecast: np.ndarray,
        scale: np.ndarray,
        actual: np.ndarray,
        level: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) (N, H) for consecutive origins: each origin's bounds use the scores
        (M, H), its scale (N, H) and the outcomes observed before it; `actual` feeds back only
        once observed."""
        ordered = np.sort(np.asarray(calibration_scores, dtype=np.float64), axis=0)
        n_origins, steps = forecast.shape
        target = 1 - level
        alpha = self.alpha.setdefault(level, np.full(steps, target))
        lower, upper = np.empty((n_origins, steps)), np.empty((n_origins, steps))
        missed = np.zeros((n_origins, steps), dtype=bool)
        for i in range(n_origins):
            for k in range(steps):
                if i - k - 1 >= 0:  # origin i - k - 1's step k landed on day i - 1: observed
                    alpha[k] += self.gamma * (target - missed[i - k - 1, k])
                low, high = _bounds(ordered[:, k], alpha[k])
                lower[i, k] = forecast[i, k] + low * scale[i, k]
                upper[i, k] = forecast[i, k] + high * scale[i, k]
                missed[i, k] = not lower[i, k] <= actual[i, k] <= upper[i, k]
        # the block's last outcomes are observed before the next block's first origin
        for k in range(steps):
            for j in range(max(n_origins - k - 1, 0), n_origins):
                alpha[k] += self.gamma * (target - missed[j, k])
        return lower, upper
