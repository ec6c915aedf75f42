"""Live performance: how the served forecasts did, per model version, over the last N trading
days of outcomes, beside what the version's cross-validation promised.

Coverage drifts when the count of held intervals falls outside the central 99% of a binomial
with the nominal level (`tolerance`). Steps of one forecast share days, so with horizon > 1 the
steps are not independent and the band is a little narrow: treat a flag as a prompt to look.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binom

from forecast.online.ledger import Ledger
from forecast.tracking.cards import VersionCard

DEFAULT_DAYS = 60  # trading days of outcomes a performance report covers
DRIFT_P = 0.01  # a coverage outside the central 1 - DRIFT_P of the binomial is drifting


def tolerance(n: int, level: float) -> tuple[float, float]:
    """The coverage band [low, high] a calibrated interval at `level` stays in with probability
    1 - DRIFT_P over `n` independent outcomes."""
    low = binom.ppf(DRIFT_P / 2, n, level) / n
    high = binom.isf(DRIFT_P / 2, n, level) / n
    return float(low), float(high)


@dataclass(frozen=True)
class LevelPerformance:
    level: float
    n: int
    coverage: float
    mean_width: float
    tolerance: tuple[float, float]
    drifting: bool
    promised_coverage: float | None  # the version's CV coverage at this level
    promised_width: float | None


@dataclass(frozen=True)
class VersionPerformance:
    version: str
    n: int  # forecast steps judged in the window
    days: int  # distinct trading days among them
    first_date: str
    last_date: str
    rmse: float
    naive_rmse: float
    skill: float  # 1 - rmse / naive_rmse on the same steps
    promised_rmse: float | None
    promised_skill: float | None
    levels: list[LevelPerformance]

    @property
    def drifting(self) -> bool:
        return any(level.drifting for level in self.levels)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"drifting": self.drifting}


def live_performance(
    judged: pd.DataFrame, cards: dict[str, VersionCard], days: int = DEFAULT_DAYS
) -> list[VersionPerformance]:
    """Per version (newest first), over the last `days` trading days with outcomes: `judged` is
    Ledger.judged(ticker); `cards` the versions' tags (a version without one promises nothing)."""
    if days < 1:
        raise ValueError(f"days={days} must be at least 1")
    if judged.empty:
        return []
    window = sorted(judged["date"].unique())[-days:]
    recent = judged[judged["date"].isin(window)]
    out = []
    for version, rows in recent.groupby("version", sort=False):
        out.append(_version(str(version), rows, cards.get(str(version), VersionCard())))
    return sorted(out, key=lambda p: (len(p.version), p.version), reverse=True)


def _version(version: str, rows: pd.DataFrame, card: VersionCard) -> VersionPerformance:
    steps = rows.drop_duplicates(["as_of", "step"])
    rmse = float(np.sqrt(np.mean(steps["error"] ** 2)))
    naive_rmse = float(np.sqrt(np.mean(steps["naive_error"] ** 2)))
    levels = []
    bounded = rows.dropna(subset=["level"])
    for level in sorted(float(v) for v in bounded["level"].unique()):
        held = bounded[bounded["level"] == level]
        n, hits = len(held), int(held["held"].astype(bool).sum())
        band = tolerance(n, level)
        coverage = hits / n
        levels.append(
            LevelPerformance(
                level=level,
                n=n,
                coverage=coverage,
                mean_width=float((held["upper"] - held["lower"]).mean()),
                tolerance=band,
                drifting=not band[0] <= coverage <= band[1],
                promised_coverage=card.promised_interval(level, "coverage"),
                promised_width=card.promised_interval(level, "width"),
            )
        )
    return VersionPerformance(
        version=version,
        n=len(steps),
        days=int(steps["date"].nunique()),
        first_date=f"{min(steps['date'])}",
        last_date=f"{max(steps['date'])}",
        rmse=rmse,
        naive_rmse=naive_rmse,
        skill=1 - rmse / naive_rmse if naive_rmse > 0 else float("nan"),
        promised_rmse=card.cv_metrics.get("rmse_mean"),
        promised_skill=card.skill,
        levels=levels,
    )


class NothingRecorded(LookupError):
    """The ledger does not exist yet, or holds no forecast of the ticker."""


def performance_of(
    ledger: Ledger,
    ticker: str,
    days: int,
    cards: dict[str, VersionCard],
    cards_of: Callable[[list[str]], dict[str, VersionCard]],
) -> list[VersionPerformance]:
    """The live performance of `ticker` from `ledger`: `cards` are the versions' tags at hand,
    `cards_of(versions)` fetches the others (from the registry). NothingRecorded when there is
    nothing to judge by; LedgerError when the ledger cannot be read."""
    if not ledger.exists():
        raise NothingRecorded(
            f"no forecast ledger at {ledger} yet: the service creates it when it records its "
            "first forecast (a request without history)"
        )
    if ledger.count(ticker) == 0:
        recorded = ledger.tickers()
        raise NothingRecorded(
            f"no forecasts of {ticker} in the ledger {ledger}; it holds "
            f"{', '.join(recorded) if recorded else 'none yet'}"
        )
    judged = ledger.judged(ticker)
    missing = sorted(set(judged["version"]) - set(cards))
    if missing:
        cards = cards | cards_of(missing)
    return live_performance(judged, cards, days)
