"""What a model carries to serve prediction intervals: the volatility rule and the split-conformal
calibration, saved as JSON beside its weights.

The score of a forecast is its signed error divided by the move its origin can expect at that
horizon step (`Volatility`: today's variance, an EWMA of the log returns in the window the model
read, reverting day by day to the long-run variance of the training prices: only the past).
Lower and upper bounds come from separate quantiles of those scores (moves are not symmetric),
each at the finite-sample rank ceil((n + 1) * q) of the n calibration scores, per horizon step.
Without a volatility the scores are the raw errors: the constant-width interval the volatility
scaling is compared with. Evaluating intervals in CV is evaluation/conformal.py's job.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import numpy as np

from forecast.config import check_levels

if TYPE_CHECKING:
    from forecast.garch import Garch
    from forecast.models.scale_head import ScaleHead, ScaleWindows

    # a fitted width rule (None: constant width), and what a rule reads: price windows, or the
    # lstm rule's range windows
    WidthRule: TypeAlias = "Volatility | Garch | ScaleHead"
    Windows: TypeAlias = "np.ndarray | ScaleWindows"

# the rules an interval's width can follow, each compared in CV on the same origins; the
# pipeline serves the one CV measured best (forecast.evaluation.conformal.choose_rule)
INTERVAL_RULES = ("ewma", "garch", "lstm", "constant")
DEFAULT_RULE = INTERVAL_RULES[0]  # what models served before the choice existed

SCALE_HEAD_RULE = "lstm scale head on range features"  # the head's saved rule name

# trading days: RiskMetrics' daily decay of 0.94, as a half-life (log 0.5 / log 0.94 = 11.2)
EWMA_HALFLIFE = 11.2
# how today's volatility is read from the window's log returns: "absolute", the EWMA of |r|
# times sqrt(pi / 2) (a normal's standard deviation; one jump day moves it far less than its
# square moves the other), or "squared", the root of the EWMA of r ** 2 (calibrations saved in
# format 1)
VOLATILITY_ESTIMATORS = ("absolute", "squared")
# the share of today's variance excess over the long-run variance left one day later: an
# estimate from one window says little about the days after tomorrow (docs/benchmarks.md,
# "Prediction intervals in walk-forward CV": 1.0, no reversion, under-covered steps 3-5)
VOLATILITY_PERSISTENCE = 0.9
MIN_VOLATILITY = 1e-8  # daily log-return volatility floor: never divide a score by zero


def positive_windows(windows: np.ndarray, what: str) -> np.ndarray:
    windows = np.asarray(windows, dtype=np.float64)
    if windows.ndim != 2 or windows.shape[1] < 2 or not (windows > 0).all():
        raise ValueError(
            f"{what} needs (N, L >= 2) positive prices; got shape {windows.shape}"
            + ("" if windows.size == 0 or (windows > 0).all() else " with prices <= 0")
        )
    return windows


def _check_estimator(estimator: str) -> None:
    if estimator not in VOLATILITY_ESTIMATORS:
        raise ValueError(f"estimator={estimator!r}; allowed: {', '.join(VOLATILITY_ESTIMATORS)}")


@functools.lru_cache(maxsize=64)
def _ewma_weights(n: int, halflife: float) -> np.ndarray:
    """(n,) EWMA weights summing to 1, oldest first (a served model asks for the same ones on
    every request)."""
    weights = 0.5 ** (np.arange(n)[::-1] / halflife)
    weights /= weights.sum()
    weights.flags.writeable = False
    return weights


def _ewma_variance(returns: np.ndarray, halflife: float, estimator: str) -> np.ndarray:
    """(N,) today's daily log-return variance from each window's log returns (N, L - 1, oldest
    first): an EWMA over them, the latest weighted most, by `estimator`
    (VOLATILITY_ESTIMATORS), floored at MIN_VOLATILITY squared."""
    weights = _ewma_weights(returns.shape[1], halflife)
    if estimator == "squared":
        variance = returns**2 @ weights
    else:
        variance = (np.abs(returns) @ weights) ** 2 * (np.pi / 2)
    return np.maximum(variance, MIN_VOLATILITY**2)


def long_run_variance(prices: np.ndarray) -> float:
    """The mean squared daily log return of a price series (oldest first): the variance a
    volatility forecast reverts to, jump days included (over the days ahead they count)."""
    prices = positive_windows(np.asarray(prices, dtype=np.float64)[None], "long_run_variance")
    return max(float(np.mean(np.diff(np.log(prices[0])) ** 2)), MIN_VOLATILITY**2)


@dataclass(frozen=True)
class Volatility:
    """The volatility rule: the price move each horizon step of an origin can expect, from the
    window the model read and the long-run variance of the prices it was trained on. Day j
    after the origin has variance long_run + persistence ** (j - 1) * (today - long_run), where
    today is the window's EWMA variance; step k's scale is the last price times the root of the
    mean over days 1..k (the step's conformal quantile carries the root of k)."""

    long_run: float  # daily log-return variance of the training prices
    halflife: float = EWMA_HALFLIFE
    persistence: float = VOLATILITY_PERSISTENCE
    estimator: str = "absolute"  # of today's variance: VOLATILITY_ESTIMATORS

    def __post_init__(self) -> None:
        _check_estimator(self.estimator)
        if not 0 <= self.persistence <= 1:
            raise ValueError(f"persistence must lie in [0, 1]; got {self.persistence!r}")
        if not self.long_run >= 0 or not self.halflife > 0:
            raise ValueError(
                f"long_run must be >= 0 and halflife > 0; got {self.long_run!r}, {self.halflife!r}"
            )

    @classmethod
    def of(cls, training_prices: np.ndarray) -> Volatility:
        """The default rule, reverting to the variance of `training_prices`: rows before every
        origin it will scale (a fold's training rows in CV, the final fit's rows after it)."""
        return cls(long_run_variance(training_prices))

    def scale(self, windows: np.ndarray, steps: int) -> np.ndarray:
        """(N, steps) the price-unit scale of each origin's steps 1..steps, from its price
        window (N, L): step 1 is today's volatility alone."""
        windows = positive_windows(windows, "Volatility.scale")
        return windows[:, -1:] * np.sqrt(self.mean_variance(np.diff(np.log(windows)), steps))

    def mean_variance(self, returns: np.ndarray, steps: int) -> np.ndarray:
        """(N, steps) the mean daily log-return variance over days 1..k after each window of
        log returns (N, L - 1, oldest first), for k = 1..steps."""
        today = _ewma_variance(returns, self.halflife, self.estimator)
        # the mean over days 1..k of long_run + p ** (j - 1) * excess: long_run + c_k * excess
        excess = (today - self.long_run)[:, None]
        return self.long_run + excess * mean_decay(self.persistence, steps)[None, :]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": "ewma of the lookback window's log returns, reverting to the long-run "
            "variance of the training prices",
            "estimator": self.estimator,
            "halflife": self.halflife,
            "persistence": self.persistence,
            "long_run_variance": self.long_run,
        }


@functools.lru_cache(maxsize=64)
def mean_decay(persistence: float, steps: int) -> np.ndarray:
    """(steps,) c_k = (1 + p + ... + p ** (k - 1)) / k for k = 1..steps."""
    decay = np.cumsum(persistence ** np.arange(steps)) / np.arange(1, steps + 1)
    decay.flags.writeable = False
    return decay


def per_step(scale: np.ndarray) -> np.ndarray:
    """A scale per origin (N,) or per origin and step (N, H), as (N, 1) or (N, H)."""
    scale = np.asarray(scale, dtype=np.float64)
    return scale[:, None] if scale.ndim == 1 else scale


def scores(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
    """Signed errors (N, H), divided by each origin's `scale` ((N,) or (N, H)) when given."""
    error = np.asarray(actual, dtype=np.float64) - np.asarray(forecast, dtype=np.float64)
    return error if scale is None else error / per_step(scale)


def _rank_quantile(values: np.ndarray, q: float) -> float:
    """The ceil((n + 1) q)-th smallest of n values (inf when that rank exceeds n)."""
    n = len(values)
    rank = math.ceil((n + 1) * q)
    if rank > n:
        return math.inf
    if rank < 1:
        return -math.inf
    return float(np.partition(values, rank - 1)[rank - 1])


def check_rule(rule: str) -> str:
    """`rule` when it is one of INTERVAL_RULES, else ValueError naming them."""
    if rule not in INTERVAL_RULES:
        raise ValueError(f"interval rule {rule!r}; allowed: {', '.join(INTERVAL_RULES)}")
    return rule


def scale_rule(rule: str, training_prices: np.ndarray) -> Volatility | Garch | None:
    """The width rule `rule` (INTERVAL_RULES) fitted on `training_prices`: the EWMA Volatility,
    a GARCH(1,1)-t, or None for constant width. ValueError naming the rules otherwise; the lstm
    rule reads more than prices (forecast.models.scale_head.ScaleHead.fit)."""
    check_rule(rule)
    if rule == "lstm":
        raise ValueError("the lstm rule is fitted on range features: ScaleHead.fit")
    if rule == "ewma":
        return Volatility.of(training_prices)
    if rule == "garch":
        from forecast.garch import Garch

        return Garch.fit(training_prices)
    return None  # constant


def rule_name(volatility: WidthRule | None) -> str:
    """The INTERVAL_RULES name of a fitted width rule."""
    from forecast.garch import Garch

    if volatility is None:
        return "constant"
    if isinstance(volatility, Volatility):
        return "ewma"
    return "garch" if isinstance(volatility, Garch) else "lstm"


# of Calibration.to_dict, saved as JSON beside a model's weights; format 1 (no long-run
# variance) reads as its rule was: the squared estimator, today's variance for every step;
# format 3 may carry a GARCH rule, format 4 the lstm rule's head
CALIBRATION_FORMAT = 4


@dataclass(frozen=True)
class Calibration:
    """Score quantiles per level and step: lower[level] and upper[level] are (H,) arrays, for
    scores divided by `volatility`'s scale (None: raw errors, constant width)."""

    levels: tuple[float, ...]
    lower: dict[float, np.ndarray]
    upper: dict[float, np.ndarray]
    n: int  # calibration scores per step
    volatility: WidthRule | None  # the width rule; None: constant
    # (n, H) the scores, sorted per step: any quantile in quantile_range (None: saved before)
    sorted_scores: np.ndarray | None = None

    @classmethod
    def fit(
        cls,
        calibration_scores: np.ndarray,
        levels: tuple[float, ...],
        volatility: WidthRule | None,
    ) -> Calibration:
        """From (N, H) scores: for level 1 - alpha, the alpha/2 and 1 - alpha/2 quantiles of
        each step's scores, at the finite-sample ranks (the lower one mirrored)."""
        values = np.asarray(calibration_scores, dtype=np.float64)
        if values.ndim != 2 or len(values) == 0:
            raise ValueError(f"calibration scores must be (N >= 1, H); got {values.shape}")
        check_levels(levels)
        lower, upper = {}, {}
        for level in levels:
            tail = (1 - level) / 2
            upper[level] = np.array([_rank_quantile(s, 1 - tail) for s in values.T])
            lower[level] = np.array([-_rank_quantile(-s, 1 - tail) for s in values.T])
        return cls(tuple(levels), lower, upper, len(values), volatility, np.sort(values, axis=0))

    @property
    def steps(self) -> int:
        """Horizon steps calibrated: bounds exist for steps 1 .. steps."""
        return len(self.upper[self.levels[0]])

    def level(self, requested: float) -> float:
        """The calibrated level equal to `requested` (to 1e-9), or ValueError naming them."""
        for level in self.levels:
            if abs(level - requested) < 1e-9:
                return level
        raise ValueError(
            f"level={requested!r} is not calibrated for this model; available: "
            + ", ".join(f"{level:g}" for level in self.levels)
        )

    def interval(
        self, forecast: np.ndarray, level: float, scale: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) bounds (N, k) around forecasts (N, k) at `level`, k <= steps, the
        quantiles times `scale` ((N,) or (N, >= k); None: constant width)."""
        forecast = np.asarray(forecast, dtype=np.float64)
        steps = forecast.shape[1]
        size = 1.0 if scale is None else per_step(scale)[:, :steps]
        return (
            forecast + self.lower[level][:steps] * size,
            forecast + self.upper[level][:steps] * size,
        )

    @property
    def quantile_range(self) -> tuple[float, float]:
        """The smallest and largest quantile the n scores can bound: 1 / (n + 1), n / (n + 1)."""
        return 1 / (self.n + 1), self.n / (self.n + 1)

    def check_quantiles(self, quantiles: tuple[float, ...]) -> tuple[float, ...]:
        """`quantiles` when each can be served, else ValueError naming the servable range."""
        if self.sorted_scores is None:
            raise ValueError(
                "this model was saved without its calibration scores, so it serves no "
                "quantiles; retrain it to get them"
            )
        low, high = self.quantile_range
        bad = [q for q in quantiles if not low <= q <= high]
        if bad:
            raise ValueError(
                f"quantiles {', '.join(f'{q:g}' for q in bad)} are beyond what {self.n} "
                f"calibration scores can bound: this model serves {low:.4g} to {high:.4g}"
            )
        return quantiles

    def score_quantile(self, q: float) -> np.ndarray:
        """(H,) the q-quantile of each step's scores at the finite-sample rank (mirrored below
        the median, as the interval bounds are)."""
        scores_ = cast(np.ndarray, self.sorted_scores)  # sorted per step: the rank is an index
        n = len(scores_)
        rank = math.ceil((n + 1) * (q if q >= 0.5 else 1 - q))
        if rank > n:
            return np.full(scores_.shape[1], math.inf if q >= 0.5 else -math.inf)
        return scores_[rank - 1 if q >= 0.5 else n - rank].copy()

    def quantiles(
        self, forecast: np.ndarray, windows: Windows, quantiles: tuple[float, ...]
    ) -> dict[float, np.ndarray]:
        """Each quantile's values (N, k) around forecasts (N, >= k) made from price windows
        (N, L) (the lstm rule: ScaleWindows), for the first k calibrated steps (check_quantiles
        first). They never cross: the score quantiles rise with q and the scale is positive."""
        return self.answer(forecast, windows, quantiles)[1]

    def answer(
        self, forecast: np.ndarray, windows: Windows, quantiles: tuple[float, ...] = ()
    ) -> tuple[dict[float, tuple[np.ndarray, np.ndarray]], dict[float, np.ndarray]]:
        """`around` and `quantiles` at once, the rule's scale computed once for both."""
        points, scale = self._points_and_scale(forecast, windows)
        steps = points.shape[1]
        size = 1.0 if scale is None else per_step(scale)
        bounds = {level: self.interval(points, level, scale) for level in self.levels}
        return bounds, {q: points + self.score_quantile(q)[:steps] * size for q in quantiles}

    def _points_and_scale(
        self, forecast: np.ndarray, windows: Windows
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The forecasts' first calibrated steps (N, k) and the rule's scale for them (None:
        constant width)."""
        points = np.asarray(forecast, dtype=np.float64)[:, : self.steps]
        steps = points.shape[1]
        if self.volatility is None:
            return points, None
        return points, self.volatility.scale(windows, steps)  # type: ignore[arg-type]

    def around(
        self, forecast: np.ndarray, windows: Windows
    ) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        """Every level's (lower, upper) bounds (N, k) around forecasts (N, >= k) made from price
        windows (N, L) (the lstm rule: ScaleWindows), for the first k = min(forecast steps,
        calibrated steps) steps."""
        return self.answer(forecast, windows)[0]

    def finite(self) -> Calibration | None:
        """Only the levels whose every bound is finite (enough scores for their rank); None
        when no level is."""
        kept = tuple(
            level
            for level in self.levels
            if np.isfinite(self.lower[level]).all() and np.isfinite(self.upper[level]).all()
        )
        if not kept:
            return None
        return Calibration(
            kept,
            {level: self.lower[level] for level in kept},
            {level: self.upper[level] for level in kept},
            self.n,
            self.volatility,
            self.sorted_scores,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the quantiles per level and step, and the volatility rule."""
        return {
            "format": CALIBRATION_FORMAT,
            "method": "split conformal, finite-sample rank, separate lower and upper quantiles",
            "volatility": None if self.volatility is None else self.volatility.to_dict(),
            "n": self.n,
            "scores": None if self.sorted_scores is None else self.sorted_scores.T.tolist(),
            "levels": [
                {
                    "level": level,
                    "lower": self.lower[level].tolist(),
                    "upper": self.upper[level].tolist(),
                }
                for level in self.levels
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        if data.get("format") not in range(1, CALIBRATION_FORMAT + 1):
            raise ValueError(
                f"calibration format {data.get('format')!r}; this Stockcast reads 1 to "
                f"{CALIBRATION_FORMAT}"
            )
        rule = data["volatility"]
        volatility: WidthRule | None = None
        if rule is not None and rule.get("rule") == SCALE_HEAD_RULE:
            from forecast.models.scale_head import ScaleHead

            volatility = ScaleHead.from_dict(rule)
        elif rule is not None and rule.get("rule", "").startswith("garch"):
            from forecast.garch import Garch

            volatility = Garch.from_dict(rule)
        elif rule is not None and data["format"] == 1:
            volatility = Volatility(0.0, float(rule["halflife"]), 1.0, "squared")
        elif rule is not None:
            volatility = Volatility(
                float(rule["long_run_variance"]),
                float(rule["halflife"]),
                float(rule["persistence"]),
                str(rule["estimator"]),
            )
        levels = tuple(float(entry["level"]) for entry in data["levels"])
        return cls(
            levels,
            {float(e["level"]): np.asarray(e["lower"], dtype=np.float64) for e in data["levels"]},
            {float(e["level"]): np.asarray(e["upper"], dtype=np.float64) for e in data["levels"]},
            int(data["n"]),
            volatility,
            None
            if data.get("scores") is None
            else np.sort(np.asarray(data["scores"], dtype=np.float64).T, axis=0),
        )


def level_name(level: float) -> str:
    """A level as names show it: 80 for 0.8, 97.5 for 0.975."""
    return f"{level * 100:g}"


def lower_column(level: float) -> str:
    """The name of a level's lower bound in predict()'s frame and cv/forecasts.csv: lower_80
    for 0.8."""
    return f"lower_{level_name(level)}"


def upper_column(level: float) -> str:
    return f"upper_{level_name(level)}"
