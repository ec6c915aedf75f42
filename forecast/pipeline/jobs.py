"""What one ticker's pipeline run holds while it runs, and what its table shows after."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from forecast.evaluation.backtest import Backtest
from forecast.evaluation.conformal import RuleChoice
from forecast.evaluation.cv import CrossValidation
from forecast.intervals import DEFAULT_RULE
from forecast.pipeline.progress import PipelineProgress


@dataclass
class TickerSummary:
    """What the end-of-run table shows for one ticker."""

    ticker: str
    source: str
    data_range: str
    aggregates: dict[
        str, dict[str, dict[str, float]]
    ]  # model|baseline -> metric -> mean/std/stderr
    diagnoses: list[str]
    final_epochs: int
    run_id: str
    version: str | None = None
    promoted: bool = False
    decision: str = "not registered (--no-register)"
    seconds: float = 0.0
    tracking_seconds: float = 0.0
    fold_skills: list[float] = field(default_factory=list)
    # source -> level -> metric, mean over the folds calibrated on earlier ones
    intervals: dict[str, dict[float, dict[str, float]]] = field(default_factory=dict)
    pinball: dict[str, float] = field(default_factory=dict)  # source -> mean pinball loss
    interval_folds: int = 0
    rule: RuleChoice = field(default_factory=lambda: RuleChoice(DEFAULT_RULE, None))
    backtest: Backtest | None = None  # of the CV forecasts (forecast.evaluation.backtest)
    model_uri: str = ""  # the final model, logged by the final-fit run
    tags: dict[str, str] = field(default_factory=dict)  # the run's data and folds tags


class Stopwatch:
    """Accumulates the time spent in MLflow calls, to report tracking's share of the run."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


@dataclass
class TickerJob:
    """One ticker's CV, its fits already queued on the scheduler."""

    ticker: str
    prices: pd.DataFrame
    cv: CrossValidation
    progress: PipelineProgress
