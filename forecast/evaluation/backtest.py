"""What the forecasts are worth: a costed backtest of out-of-sample forecasts against buy-and-hold.

Every position for day t is decided at the close of day t - 1, from a forecast made from rows
before t (a CV origin's, or a registered model's walking forward without refits), and held from
that close to the close of day t: returns are close-to-close on adjusted prices, fills at the
close, no borrow cost for shorts, no dividends beyond the adjustment. Each strategy starts flat
and pays `cost_bps` per unit of turnover (a full flip from long to short costs twice).

Performance figures come from empyrical (empyrical-reloaded); the Sharpe difference against
buy-and-hold gets a stationary-bootstrap confidence interval from `arch.bootstrap`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forecast.config import BacktestConfig

if TYPE_CHECKING:
    from forecast.evaluation.cv import FoldResult
    from forecast.forecaster import Forecaster

STRATEGIES = ("buy_and_hold", "direction", "vol_target", "vol_target_ewma")
BENCHMARK = STRATEGIES[0]
TRADING_DAYS = 252
BOOTSTRAP_BLOCK = 10  # mean block length in days of the stationary bootstrap
CONFIDENCE = 0.95
METRICS = (
    "total_return",
    "cagr",
    "annual_volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "turnover",
    "exposure",
    "hit_rate",
)
ASSUMPTIONS = (
    "fills at the close; close-to-close returns on adjusted prices; no borrow cost for shorts; "
    "no dividends beyond the adjustment"
)


@dataclass(frozen=True)
class Signals:
    """What was known at each close before a traded day, one row per day t (oldest first):
    `last` the close of day t - 1, `forecast` the forecast of day t's close, `sigma` the
    served interval rule's daily volatility (its step-1 scale over `last`), `sigma_ewma` the
    EWMA rule's, `target_vol` the annual volatility vol_target aims at (buy-and-hold's over the
    rows the forecaster trained on), and `actual` day t's close (only for the returns)."""

    dates: pd.DatetimeIndex
    last: np.ndarray
    forecast: np.ndarray
    sigma: np.ndarray
    sigma_ewma: np.ndarray
    target_vol: np.ndarray
    actual: np.ndarray
    block: np.ndarray | None = None  # (N,) the CV fold of each day, when from CV

    def __post_init__(self) -> None:
        n = len(self.dates)
        arrays = ("last", "forecast", "sigma", "sigma_ewma", "target_vol", "actual")
        for name in arrays:
            if np.shape(getattr(self, name)) != (n,):
                raise ValueError(f"{name} must be ({n},); got {np.shape(getattr(self, name))}")
        if n < 2:
            raise ValueError(f"a backtest needs at least 2 days; got {n}")

    @classmethod
    def concat(cls, parts: Sequence[Signals]) -> Signals:
        """One series of `parts` in order, each part a block (a CV fold: 1, 2, ...)."""

        def joined(name: str) -> np.ndarray:
            return np.concatenate([getattr(p, name) for p in parts])

        return cls(
            dates=pd.DatetimeIndex(np.concatenate([p.dates.values for p in parts])),
            last=joined("last"),
            forecast=joined("forecast"),
            sigma=joined("sigma"),
            sigma_ewma=joined("sigma_ewma"),
            target_vol=joined("target_vol"),
            actual=joined("actual"),
            block=np.concatenate([np.full(len(p.dates), i + 1) for i, p in enumerate(parts)]),
        )


def cv_signals(results: Sequence[FoldResult], rule: str) -> Signals:
    """The signals of walk-forward CV's forecasts, every fold's test block in order: each
    origin's step-1 forecast (the mean over repeats), `rule`'s scale (INTERVAL_RULES; constant
    width has none, so its vol_target holds the training volatility's position) and the EWMA
    rule's, and the fold's training volatility as the target."""
    parts = []
    for r in results:
        last = r.last_observed
        ewma = r.scale[:, 0] / last
        served = {"ewma": r.scale, "garch": r.garch_scale, "lstm": r.lstm_scale}.get(rule)
        target = np.full(len(last), r.training_vol)
        sigma = daily_sigma(served, last, r.training_vol)
        parts.append(
            Signals(
                pd.DatetimeIndex(r.origin_dates),
                last,
                np.mean(r.forecasts, axis=0)[:, 0],
                sigma,
                ewma,
                target,
                r.actual[:, 0],
            )
        )
    return Signals.concat(parts)


def forecaster_signals(
    forecaster: Forecaster, prices: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp
) -> Signals:
    """The signals of a fitted model walking forward over the days `first`..`last` of a price
    frame, without refits: each day's forecast and the served rule's scale from the rows
    before it only, the EWMA rule's fitted on the rows it trained on (every row up to its
    trained_until_), and their volatility as the target. ValueError when no day is in range or
    the rows before `first` are too few for a window."""
    from forecast.intervals import Volatility
    from forecast.prep.features import build_features, with_ranges

    window = forecaster.window
    features = build_features(prices, window.features, window.target)
    if forecaster.interval_rule == "lstm":
        features = with_ranges(features, prices)
    dates = pd.DatetimeIndex(features.index)
    origins = np.flatnonzero((dates >= first) & (dates <= last))
    rows = forecaster.encoder_.first_origin
    if len(origins) < 2 or origins[0] < rows:
        raise ValueError(
            f"{first:%Y-%m-%d}..{last:%Y-%m-%d} gives {len(origins)} trading days of prices "
            f"with at least {rows} rows before them; a backtest needs 2 or more"
        )
    target = features.target
    trained = target[: int(dates.searchsorted(pd.Timestamp(forecaster.trained_until_), "right"))]
    forecasts = forecaster.forecast_origins(features.values, target, origins, steps=1)[:, 0]
    windows = np.lib.stride_tricks.sliding_window_view(target, rows)[origins - rows]
    ewma = Volatility.of(trained).scale(windows, 1)[:, 0] / target[origins - 1]
    vol = realized_vol(trained)
    served = daily_sigma(forecaster.scale_at(features, origins, 1), target[origins - 1], vol)
    return Signals(
        dates[origins],
        target[origins - 1],
        forecasts,
        served,
        ewma,
        np.full(len(origins), vol),
        target[origins],
    )


def daily_sigma(scale: np.ndarray | None, last: np.ndarray, annual: float) -> np.ndarray:
    """(N,) the daily volatility a width rule forecasts: its step-1 scale (N, H) over the last
    price; a constant-width rule has none, so the training volatility `annual`, per day."""
    if scale is None:
        return np.full(len(last), annual / math.sqrt(TRADING_DAYS))
    return scale[:, 0] / last


def realized_vol(prices: np.ndarray) -> float:
    """The annualized volatility of a price series' daily simple returns."""
    returns = np.diff(np.asarray(prices, dtype=np.float64)) / np.asarray(prices)[:-1]
    return float(np.std(returns, ddof=1) * math.sqrt(TRADING_DAYS))


def positions(signals: Signals, config: BacktestConfig) -> dict[str, np.ndarray]:
    """Each strategy's position (N,) for each day, from what was known at the close before it."""
    threshold = 2 * config.cost  # the round trip
    edge = signals.forecast / signals.last - 1
    direction = (edge > threshold).astype(np.float64)
    if config.short:
        direction -= (edge < -threshold).astype(np.float64)

    def sized(sigma: np.ndarray) -> np.ndarray:
        annual = np.maximum(sigma, 1e-12) * math.sqrt(TRADING_DAYS)
        target = signals.target_vol if config.target_vol is None else config.target_vol
        return np.minimum(target / annual, config.max_leverage)

    return {
        "buy_and_hold": np.ones(len(signals.dates)),
        "direction": direction,
        "vol_target": sized(signals.sigma),
        "vol_target_ewma": sized(signals.sigma_ewma),
    }


@dataclass
class StrategyResult:
    """One strategy's daily positions and returns, before and after costs, and its figures."""

    name: str
    position: np.ndarray
    gross: np.ndarray  # position x the day's return
    net: np.ndarray  # gross less cost x turnover
    traded: np.ndarray  # |position change| per day (the first day's from flat)
    metrics: dict[str, float] = field(default_factory=dict)
    sharpe_diff: float = math.nan  # against buy-and-hold
    sharpe_diff_ci: tuple[float, float] = (math.nan, math.nan)

    @property
    def verdict(self) -> str:
        """What the Sharpe difference's interval says: an edge over buy-and-hold (above 0),
        worse than it (below 0), or no evidence of an edge (it includes 0)."""
        low, high = self.sharpe_diff_ci
        if low > 0:
            return "edge"
        return "worse than buy_and_hold" if high < 0 else "no evidence of an edge"


@dataclass
class Backtest:
    """Every strategy on the same days, and the same per CV fold (block) when from CV."""

    signals: Signals
    config: BacktestConfig
    strategies: dict[str, StrategyResult]
    per_block: dict[int, dict[str, dict[str, float]]] = field(default_factory=dict)

    @property
    def dates(self) -> pd.DatetimeIndex:
        return self.signals.dates


def performance(
    net: np.ndarray, position: np.ndarray, traded: np.ndarray, asset: np.ndarray
) -> dict[str, float]:
    """A strategy's figures from its daily net returns (empyrical), turnover (units traded per
    year), exposure (mean |position|) and hit rate (share of invested days that gained)."""
    import empyrical

    invested = position != 0
    years = len(net) / TRADING_DAYS
    return {
        "total_return": float(empyrical.cum_returns_final(net)),
        "cagr": float(empyrical.annual_return(net)),
        "annual_volatility": float(empyrical.annual_volatility(net)),
        "sharpe": _sharpe(net),
        "sortino": float(empyrical.sortino_ratio(net)),
        "max_drawdown": float(empyrical.max_drawdown(net)),
        "calmar": float(empyrical.calmar_ratio(net)),
        "turnover": float(traded.sum() / years),
        "exposure": float(np.mean(np.abs(position))),
        "hit_rate": float(np.mean(position[invested] * asset[invested] > 0))
        if invested.any()
        else math.nan,
    }


def _sharpe_difference(
    returns: np.ndarray, benchmark: np.ndarray, config: BacktestConfig
) -> tuple[float, tuple[float, float]]:
    """The annualized Sharpe difference and its stationary-bootstrap percentile interval."""
    from arch.bootstrap import StationaryBootstrap

    def difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.array([_sharpe(a) - _sharpe(b)])

    point = float(difference(returns, benchmark)[0])
    if np.allclose(returns, benchmark):
        return point, (0.0, 0.0)
    bootstrap = StationaryBootstrap(BOOTSTRAP_BLOCK, returns, benchmark, seed=config.seed)
    low, high = bootstrap.conf_int(
        difference, reps=config.reps, method="percentile", size=CONFIDENCE
    )[:, 0]
    return point, (float(low), float(high))


def _sharpe(returns: np.ndarray) -> float:
    """empyrical's annualized Sharpe; 0 for a flat strategy (no risk, nothing to reward)."""
    import empyrical

    value = float(empyrical.sharpe_ratio(returns))
    return value if math.isfinite(value) else 0.0


def run_backtest(signals: Signals, config: BacktestConfig | None = None) -> Backtest:
    """Every strategy on `signals`' days, its figures, and its Sharpe against buy-and-hold's."""
    config = config or BacktestConfig()
    asset = signals.actual / signals.last - 1
    results = {}
    for name, position in positions(signals, config).items():
        traded = np.abs(np.diff(np.r_[0.0, position]))
        gross = position * asset
        net = gross - config.cost * traded
        results[name] = StrategyResult(name, position, gross, net, traded)
    benchmark = results[BENCHMARK]
    for result in results.values():
        result.metrics = performance(result.net, result.position, result.traded, asset)
        if result is not benchmark:
            result.sharpe_diff, result.sharpe_diff_ci = _sharpe_difference(
                result.net, benchmark.net, config
            )
    per_block = {}
    if signals.block is not None:
        for block in np.unique(signals.block):
            days = signals.block == block
            per_block[int(block)] = {
                name: performance(r.net[days], r.position[days], r.traded[days], asset[days])
                for name, r in results.items()
            }
    return Backtest(signals, config, results, per_block)


def backtest_metrics(backtest: Backtest) -> dict[str, float]:
    """The figures as metric names: backtest/<strategy>/<metric>, with sharpe_diff and its
    interval (sharpe_diff_low, sharpe_diff_high) beside every strategy but the benchmark."""
    out = {}
    for name, result in backtest.strategies.items():
        out.update({f"backtest/{name}/{k}": v for k, v in result.metrics.items()})
        if name != BENCHMARK:
            out[f"backtest/{name}/sharpe_diff"] = result.sharpe_diff
            out[f"backtest/{name}/sharpe_diff_low"] = result.sharpe_diff_ci[0]
            out[f"backtest/{name}/sharpe_diff_high"] = result.sharpe_diff_ci[1]
    return {k: v for k, v in out.items() if math.isfinite(v)}


# the printed figures: metric, format, column width
_COLUMNS = (
    ("total_return", "+.1%", 8),
    ("cagr", "+.1%", 8),
    ("annual_volatility", ".1%", 7),
    ("sharpe", ".2f", 8),
    ("sortino", ".2f", 8),
    ("max_drawdown", ".1%", 8),
    ("calmar", ".2f", 8),
    ("turnover", ".1f", 8),
    ("exposure", ".2f", 9),
    ("hit_rate", ".2f", 6),
)


def backtest_table(backtest: Backtest, rule: str) -> list[str]:
    """The printed block: per strategy, its figures after costs and its Sharpe against
    buy-and-hold's with the bootstrap interval, then the assumptions."""
    config, dates = backtest.config, backtest.dates
    lines = [
        f"backtest after costs ({config.cost_bps:g} bps per unit traded; {dates[0]:%Y-%m-%d}.."
        f"{dates[-1]:%Y-%m-%d}, {len(dates)} days of out-of-sample forecasts; vol_target "
        f"sizes by the served {rule} rule, vol_target_ewma by the EWMA rule)",
        f"  {'strategy':<16}{'total':>8}{'CAGR':>8}{'vol':>7}{'Sharpe':>8}{'Sortino':>8}"
        f"{'max DD':>8}{'Calmar':>8}{'turn/yr':>8}{'exposure':>9}{'hit':>6}  "
        f"Sharpe - buy_and_hold [{CONFIDENCE:.0%} CI]",
    ]
    for name, r in backtest.strategies.items():
        m = r.metrics
        if name == BENCHMARK:
            against = "(benchmark)"
        else:
            low, high = r.sharpe_diff_ci
            against = f"{r.sharpe_diff:+.2f} [{low:+.2f}, {high:+.2f}] {r.verdict}"
        cells = "".join(
            (format(m[key], fmt) if math.isfinite(m[key]) else "-").rjust(width)
            for key, fmt, width in _COLUMNS
        )
        lines.append(f"  {name:<16}{cells}  {against}")
    lines.append(f"  assumptions: {ASSUMPTIONS}")
    return lines
