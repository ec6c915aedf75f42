"""The lstm interval rule's likelihood, chosen by measurement: Gaussian against Student-t.

    python benchmarks/scale_head.py [--tickers AAPL,MSFT,IBM,GOOG] [--horizons 1,5]

For each bundled ticker and horizon, the default walk-forward folds (5 x 250 rows, expanding,
lookback 60) with the naive forecast as the point (no LSTM point fit: minutes, not an hour, and
the residual LSTM's point stays within a hair of naive), the EWMA rule's intervals beside the
scale head's (forecast.models.scale_head) trained with each likelihood, every fold calibrated on
the earlier folds' scores (conformal.FoldIntervals, as CV does). Prints coverage and Winkler
score at 80% and 95% over folds 2-5, the mean pinball loss, and the head's fit seconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view

from forecast.config import CVConfig, LSTMConfig, TrainConfig, WindowConfig
from forecast.data import load_prices
from forecast.evaluation.conformal import FoldIntervals, summarize_intervals, summarize_pinball
from forecast.evaluation.cv import CrossValidation
from forecast.intervals import Volatility
from forecast.models import scale_head
from forecast.prep.encoding import WindowEncoder


def measure(ticker: str, horizon: int, distribution: str) -> tuple[dict, dict, float]:
    """(interval summary, pinball summary, head seconds) of one ticker, horizon, likelihood:
    source model is the EWMA rule, model_lstm the head."""
    window, cv = WindowConfig(horizon=horizon), CVConfig()
    run = CrossValidation(
        load_prices(ticker, source="sample"), window, LSTMConfig(), TrainConfig(), cv
    )
    target, ranges = run.features.target, run.ranges
    assert ranges is not None, "every bundled sample has room for a head"
    rows = WindowEncoder.for_window(window).first_origin
    intervals, per_fold, pinball, seconds = FoldIntervals(cv.levels), [], [], 0.0
    for fold in run.folds:
        seen, origins = target[: fold.test_end], run.origins(fold)
        naive = np.repeat(seen[origins - 1][:, None], horizon, axis=1)
        actual = sliding_window_view(seen, horizon)[origins]
        read = sliding_window_view(seen, rows)[origins - rows]
        train = slice(fold.train_start, fold.train_end)
        ewma = Volatility.of(target[train]).scale(read, horizon)
        started = time.perf_counter()
        head = scale_head.ScaleHead.fit(
            ranges[train], target[train], rows, horizon, distribution=distribution
        )
        seconds += time.perf_counter() - started
        lstm = head.scale(
            scale_head.windows_at(ranges[: fold.test_end], seen, origins, rows), horizon
        )
        per_fold.append(intervals.evaluate(actual, naive, naive, ewma, ewma, lstm))
        pinball.append(dict(intervals.pinball))
    return summarize_intervals(per_fold), summarize_pinball(pinball), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickers", default="AAPL,MSFT,IBM,GOOG")
    parser.add_argument("--horizons", default="1,5")
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(
        "| ticker | h | likelihood | ewma 80% | lstm 80% | ewma 95% | lstm 95% | pinball ewma "
        "/ lstm | head s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for horizon in (int(h) for h in args.horizons.split(",")):
        for ticker in args.tickers.split(","):
            for distribution in scale_head.DISTRIBUTIONS:
                summary, pinball, seconds = measure(ticker, horizon, distribution)
                cells = [
                    f"{summary[source][level]['coverage']:.3f} / "
                    f"{summary[source][level]['winkler']:.4f}"
                    for level in (0.8, 0.95)
                    for source in ("model", "model_lstm")
                ]
                print(
                    f"| {ticker} | {horizon} | {distribution} | " + " | ".join(cells) + f" | "
                    f"{pinball['model']:.4f} / {pinball['model_lstm']:.4f} | {seconds:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
