"""The GARCH(1,1) volatility rule with Student-t errors (the `arch` package): fitted once on
training prices, then run forward over each origin's own window, so a scale never reads a
return after its origin and serving needs no refit, only the saved parameters (JSON).

Variance of the next day's log return: sigma2[t+1] = omega + alpha * r[t] ** 2 + beta * sigma2[t],
started at the long-run variance omega / (1 - alpha - beta) at the window's first return. Day j
ahead expects long_run + (alpha + beta) ** (j - 1) * (sigma2[t+1] - long_run); step k's scale is
the last price times the root of the mean over days 1..k, as for forecast.intervals.Volatility.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from forecast.intervals import (
    MIN_VOLATILITY,
    long_run_variance,
    mean_decay,
    positive_windows,
)

GARCH_RULE = "garch(1,1)-t"  # how a saved calibration names this rule
RETURN_SCALE = 100.0  # arch fits percent returns: a stable optimization (its own advice)
MAX_PERSISTENCE = 0.999  # alpha + beta at or above 1 has no long run; capped below it
MIN_RETURNS = 100  # fewer say too little about clustering: no-clustering rule instead
FLAT_NU = 30.0  # the degrees of freedom of that rule (near normal; conformal sets the tails)


@dataclass(frozen=True)
class Garch:
    """GARCH(1,1)-t parameters for daily log returns (variances in log-return units squared)."""

    omega: float
    alpha: float
    beta: float
    nu: float  # Student-t degrees of freedom (the conformal quantiles carry the tails)

    def __post_init__(self) -> None:
        if not (self.omega > 0 and self.alpha >= 0 and self.beta >= 0 and self.nu > 2):
            raise ValueError(
                f"GARCH needs omega > 0, alpha >= 0, beta >= 0 and nu > 2; got {asdict(self)}"
            )
        if self.alpha + self.beta >= 1:
            raise ValueError(
                f"alpha + beta = {self.alpha + self.beta:.4f} must stay below 1 (a long run)"
            )

    @property
    def persistence(self) -> float:
        return self.alpha + self.beta

    @property
    def long_run(self) -> float:
        return self.omega / (1 - self.persistence)

    @classmethod
    def fit(cls, training_prices: np.ndarray) -> Garch:
        """Maximum likelihood on the log returns of `training_prices` (oldest first). With fewer
        than MIN_RETURNS returns, or when the optimizer does not converge, no clustering
        (alpha = beta = 0) at the training variance; alpha + beta is capped at MAX_PERSISTENCE."""
        from arch import arch_model

        prices = np.asarray(training_prices, dtype=np.float64)
        if prices.ndim != 1 or len(prices) < 2 or not (prices > 0).all():
            raise ValueError(
                f"a GARCH fit needs a series of at least 2 positive prices; got {prices.shape}"
            )
        returns = np.diff(np.log(prices))
        flat = cls(long_run_variance(prices), 0.0, 0.0, FLAT_NU)
        if len(returns) < MIN_RETURNS:
            return flat
        model = arch_model(RETURN_SCALE * returns, mean="Zero", vol="GARCH", p=1, q=1, dist="t")
        with warnings.catch_warnings():  # convergence chatter: the fallback below handles it
            warnings.simplefilter("ignore")
            fitted = model.fit(disp="off", show_warning=False)
        params = fitted.params
        if fitted.convergence_flag != 0:
            return flat
        alpha, beta = float(params["alpha[1]"]), float(params["beta[1]"])
        if alpha + beta >= MAX_PERSISTENCE:
            shrink = MAX_PERSISTENCE / (alpha + beta)
            alpha, beta = alpha * shrink, beta * shrink
        omega = max(float(params["omega"]) / RETURN_SCALE**2, MIN_VOLATILITY**2)
        return cls(omega, alpha, beta, max(float(params["nu"]), 2.1))

    def next_variance(self, windows: np.ndarray) -> np.ndarray:
        """(N,) the variance of the day after each price window (N, L), from its returns only."""
        returns = np.diff(np.log(np.asarray(windows, dtype=np.float64)), axis=1)
        variance = np.full(returns.shape[0], self.long_run)
        for day in range(returns.shape[1]):  # a few dozen steps over all windows at once
            variance = self.omega + self.alpha * returns[:, day] ** 2 + self.beta * variance
        return np.maximum(variance, MIN_VOLATILITY**2)

    def scale(self, windows: np.ndarray, steps: int) -> np.ndarray:
        """(N, steps) the price-unit scale of each origin's steps 1..steps from its window."""
        windows = positive_windows(windows, "Garch.scale")
        excess = (self.next_variance(windows) - self.long_run)[:, None]
        mean = self.long_run + excess * mean_decay(self.persistence, steps)[None, :]
        return windows[:, -1:] * np.sqrt(mean)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": GARCH_RULE, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Garch:
        return cls(*(float(data[name]) for name in ("omega", "alpha", "beta", "nu")))
