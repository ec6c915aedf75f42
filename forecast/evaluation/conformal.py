"""Prediction intervals in walk-forward CV: each fold calibrated on the scores of earlier folds
only, its coverage, width and interval (Winkler) score per level and step, per interval source.
The calibration and volatility rule a model serves with live in forecast/intervals.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forecast.evaluation.aci import AdaptiveIntervals
from forecast.intervals import (
    DEFAULT_RULE,
    INTERVAL_RULES,
    Calibration,
    level_name,
    per_step,
    scores,
)


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
# width, the naive forecast's with volatility scaling, the model's with GARCH and with its LSTM
# scale head, and the model's with its level adapted online (aci.py)
INTERVAL_SOURCES = ("model", "model_constant", "naive", "model_garch", "model_lstm", "model_aci")
# the CV source that measures each width rule a model can serve (forecast.intervals)
RULE_SOURCES = dict(
    zip(INTERVAL_RULES, ("model", "model_garch", "model_lstm", "model_constant"), strict=True)
)
COVERAGE_TOLERANCE = 0.03  # a rule is eligible when its CV coverage is this close to nominal


@dataclass(frozen=True)
class RuleChoice:
    """The width rule the pipeline serves, and why: mean CV Winkler score over levels and steps
    among the rules within COVERAGE_TOLERANCE of nominal coverage at every level."""

    rule: str
    winkler: float | None  # None: CV had no intervals (too few folds); the default rule
    runner_up: str | None = None
    runner_up_winkler: float | None = None
    eligible: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        if self.winkler is None:
            return f"{self.rule} (CV measured no intervals: the default)"
        within = (
            f"among {', '.join(self.eligible)} (coverage within {COVERAGE_TOLERANCE:.0%})"
            if self.eligible
            else f"(none within {COVERAGE_TOLERANCE:.0%} of nominal coverage: the best of all)"
        )
        runner = ""
        if self.runner_up is not None:
            runner = f"; runner-up {self.runner_up} {self.runner_up_winkler:.4f}"
            if self.eligible and self.runner_up not in self.eligible:
                runner += " (coverage off)"
        return f"{self.rule}: mean Winkler {self.winkler:.4f} {within}{runner}"


def choose_rule(summary: dict[str, dict[float, dict[str, float]]]) -> RuleChoice:
    """The rule to serve from CV's interval summary (summarize_intervals)."""
    scored, eligible = {}, []
    for rule, source in RULE_SOURCES.items():
        by_level = summary.get(source)
        if not by_level:
            continue
        scored[rule] = float(np.mean([figures["winkler"] for figures in by_level.values()]))
        if all(abs(f["coverage"] - level) <= COVERAGE_TOLERANCE for level, f in by_level.items()):
            eligible.append(rule)
    if not scored:
        return RuleChoice(DEFAULT_RULE, None)
    # the eligible rules by score, then the others by score (the runner-up may be one of them)
    ranked = sorted(
        scored,
        key=lambda rule: (rule not in eligible, scored[rule], INTERVAL_RULES.index(rule)),
    )
    runner = ranked[1] if len(ranked) > 1 else None
    return RuleChoice(
        ranked[0],
        scored[ranked[0]],
        runner,
        None if runner is None else scored[runner],
        tuple(eligible),
    )


class FoldIntervals:
    """Walk-forward interval evaluation: each fold is calibrated on the scores of earlier folds
    only (the first fold has none, so it gets no intervals), then adds its own."""

    def __init__(self, levels: tuple[float, ...]) -> None:
        self.levels = levels
        self.earlier: dict[str, list[np.ndarray]] = {name: [] for name in INTERVAL_SOURCES[:5]}
        self.adaptive = AdaptiveIntervals()
        # the last evaluated fold's mean pinball loss per step (PINBALL_QUANTILES), per source
        self.pinball: dict[str, list[float]] = {}
        # the last evaluated fold's bounds: source -> level -> (lower, upper), each (N, H)
        self.bounds: dict[str, dict[float, tuple[np.ndarray, np.ndarray]]] = {}

    def evaluate(
        self,
        actual: np.ndarray,
        model: np.ndarray,
        naive: np.ndarray,
        scale: np.ndarray,
        garch_scale: np.ndarray,
        lstm_scale: np.ndarray | None = None,
    ) -> dict[str, dict[float, dict[str, list[float]]]]:
        """source -> level -> metric -> per-step values for this fold (empty for the first);
        `scale` (the EWMA rule), `garch_scale` (forecast.garch) and `lstm_scale` (the scale
        head, forecast.models.scale_head; None: no head, so no model_lstm) are each origin's
        (N,) or each origin's and step's (N, H)."""
        scale = np.broadcast_to(per_step(scale), np.shape(model))
        points = {
            "model": (model, scale),
            "model_constant": (model, None),
            "naive": (naive, scale),
            "model_garch": (model, np.broadcast_to(per_step(garch_scale), np.shape(model))),
        }
        if lstm_scale is not None:
            points["model_lstm"] = (model, np.broadcast_to(per_step(lstm_scale), np.shape(model)))
        out: dict[str, dict[float, dict[str, list[float]]]] = {}
        self.pinball, self.bounds = {}, {}

        def figures(
            source: str, bounds: tuple[np.ndarray, np.ndarray], level: float
        ) -> dict[str, list[float]]:
            self.bounds.setdefault(source, {})[level] = bounds
            return {k: v.tolist() for k, v in interval_metrics(actual, *bounds, level).items()}

        for name, (point, used) in points.items():
            if self.earlier[name]:
                earlier = np.concatenate(self.earlier[name])
                # quantiles only: the fold's own scales are passed to interval()
                calibration = Calibration.fit(earlier, self.levels, None)
                self.pinball[name] = pinball_loss(actual, point, used, earlier).tolist()
                out[name] = {
                    level: figures(name, calibration.interval(point, level, used), level)
                    for level in self.levels
                }
                if name == "model":
                    out["model_aci"] = {
                        level: figures(
                            "model_aci",
                            self.adaptive.interval(earlier, point, scale, actual, level),
                            level,
                        )
                        for level in self.levels
                    }
            self.earlier[name].append(scores(actual, point, used))
        return out


# the quantile grid a rule's whole predictive distribution is scored on (pinball_loss)
PINBALL_QUANTILES = tuple(round(0.05 * k, 2) for k in range(1, 20))


def pinball_loss(
    actual: np.ndarray, point: np.ndarray, scale: np.ndarray | None, earlier: np.ndarray
) -> np.ndarray:
    """(H,) the mean pinball loss over PINBALL_QUANTILES of the quantile forecasts point +
    quantile(earlier scores) * scale, per step: how well a rule's calibrated distribution fits
    the outcomes, not just its interval at two levels (lower is better)."""
    q = np.asarray(PINBALL_QUANTILES)[:, None, None]  # (Q, 1, 1)
    quantiles = np.quantile(earlier, PINBALL_QUANTILES, axis=0)[:, None, :]  # (Q, 1, H)
    size = 1.0 if scale is None else per_step(scale)[None]
    miss = np.asarray(actual, dtype=np.float64)[None] - (point[None] + quantiles * size)
    return np.mean(np.maximum(q * miss, (q - 1) * miss), axis=(0, 1))


def metric_source(source: str) -> str:
    """How metric names call a source: a width rule's source by the rule (intervals/ewma/...),
    the others (naive, model_aci) by the source."""
    return {used: rule for rule, used in RULE_SOURCES.items()}.get(source, source)


def interval_key(source: str, level: float, metric: str) -> str:
    """The metric name of one interval figure: intervals/ewma/80/coverage for source model."""
    return f"intervals/{metric_source(source)}/{level_name(level)}/{metric}"


def pinball_key(source: str) -> str:
    """The metric name of a source's mean pinball loss: intervals/lstm/pinball."""
    return f"intervals/{metric_source(source)}/pinball"


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


def summarize_pinball(per_fold: list[dict[str, list[float]]]) -> dict[str, float]:
    """Mean pinball loss over the folds that have one, and over their steps: source -> value."""
    evaluated = [fold for fold in per_fold if fold]
    if not evaluated:
        return {}
    return {source: float(np.mean([fold[source] for fold in evaluated])) for source in evaluated[0]}
