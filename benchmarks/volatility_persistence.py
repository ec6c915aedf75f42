"""How the volatility rule's persistence moves interval coverage, on the naive forecast.

    python benchmarks/volatility_persistence.py [--horizon 5] [--rules squared:20:1,...]

For each bundled ticker, the default walk-forward folds (5 x 250 rows, expanding, gap horizon
- 1, lookback 60) with the naive forecast as the point (no training: seconds, and the residual
LSTM stays within a hair of it), its volatility-scaled intervals evaluated as CV evaluates the
model's (conformal.FoldIntervals: each fold calibrated on the folds before it) for each
volatility rule (estimator:halflife:persistence; the long run is always the fold's training
prices'), beside constant width. Prints coverage per step at 80% and 95%, and the Winkler
score over the steps, over folds 2-5.
"""

from __future__ import annotations

import argparse

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from forecast.config import CVConfig, LSTMConfig, TrainConfig, WindowConfig
from forecast.data import load_prices
from forecast.evaluation.conformal import FoldIntervals
from forecast.evaluation.cv import CrossValidation
from forecast.intervals import (
    EWMA_HALFLIFE,
    VOLATILITY_PERSISTENCE,
    Volatility,
    long_run_variance,
)
from forecast.prep.encoding import WindowEncoder

TICKERS = ("AAPL", "MSFT", "IBM", "GOOG")


def folds(ticker: str, window: WindowConfig, cv: CVConfig):
    """Per fold of the pipeline's CV (no fit): actual (N, H), naive (N, H), the windows (N, L)
    the model would read, and the training prices."""
    run = CrossValidation(
        load_prices(ticker, source="sample"), window, LSTMConfig(), TrainConfig(), cv
    )
    target = run.features.target
    first_origin = WindowEncoder.for_window(window).first_origin
    for fold in run.folds:
        seen = target[: fold.test_end]
        origins = run.origins(fold)
        naive = np.repeat(seen[origins - 1][:, None], window.horizon, axis=1)
        windows = sliding_window_view(seen, first_origin)[origins - first_origin]
        train = target[fold.train_start : fold.train_end]
        yield sliding_window_view(seen, window.horizon)[origins], naive, windows, train


def evaluate(ticker: str, window: WindowConfig, cv: CVConfig, rule: tuple[str, float, float]):
    """level -> (coverage per step over folds 2-5, Winkler of the scaled and constant width)."""
    intervals = FoldIntervals(cv.levels)
    evaluated = []
    for actual, naive, windows, train in folds(ticker, window, cv):
        estimator, halflife, persistence = rule
        volatility = Volatility(long_run_variance(train), halflife, persistence, estimator)
        scale = volatility.scale(windows, window.horizon)
        figures = intervals.evaluate(actual, naive, naive, scale)
        if figures:
            evaluated.append(figures)
    out = {}
    for level in cv.levels:
        coverage = np.mean([f["model"][level]["coverage"] for f in evaluated], axis=0)
        winkler = np.mean([f["model"][level]["winkler"] for f in evaluated])
        constant = np.mean([f["model_constant"][level]["winkler"] for f in evaluated])
        out[level] = (coverage, winkler, constant)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--horizon", type=int, default=5)
    parser.add_argument(
        "--rules",
        default=f"squared:20:1,squared:20:0.9,absolute:{EWMA_HALFLIFE:g}:1,"
        f"absolute:{EWMA_HALFLIFE:g}:{VOLATILITY_PERSISTENCE:g},absolute:{EWMA_HALFLIFE:g}:0.8",
        help="estimator:halflife:persistence, comma-separated (default: the rule before the "
        "reversion, variants, and the default rule)",
    )
    args = parser.parse_args()
    window = WindowConfig(horizon=args.horizon)
    cv = CVConfig()
    rules = [(e, float(h), float(p)) for e, h, p in (r.split(":") for r in args.rules.split(","))]
    print(f"naive forecast, horizon {args.horizon}, folds 2-5; coverage per step, Winkler")
    print("| ticker | estimator:halflife:persistence | 80% by step | 95% by step ", end="")
    print("| Winkler 80 / 95 | constant |")
    print("|---|---|---|---|---|---|")
    for ticker in TICKERS:
        for rule in rules:
            figures = evaluate(ticker, window, cv, rule)
            cells = [" ".join(f"{c:.3f}" for c in figures[level][0]) for level in cv.levels]
            winkler = " / ".join(f"{figures[level][1]:.3f}" for level in cv.levels)
            constant = " / ".join(f"{figures[level][2]:.3f}" for level in cv.levels)
            name = ":".join(f"{v:g}" if isinstance(v, float) else v for v in rule)
            print(f"| {ticker} | {name} | {' | '.join(cells)} | {winkler} | {constant} |")


if __name__ == "__main__":
    main()
