"""make_windows against a plain Python loop: 1,000,000 rows x 5 features, lookback 60.

    python benchmarks/windowing.py [--rows 1000000] [--repeats 3]

Both are measured in this run, median of --repeats. make_windows returns views, so we time
both its call and materializing every window into one contiguous array (what the loop builds).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

from forecast.prep.windowing import make_windows


def loop_windows(features: np.ndarray, target: np.ndarray, lookback: int, horizon: int):
    count = len(features) - lookback - horizon + 1
    X = np.empty((count, lookback, features.shape[1]), dtype=features.dtype)
    y = np.empty((count, horizon), dtype=target.dtype)
    for i in range(count):
        X[i] = features[i : i + lookback]
        y[i] = target[i + lookback : i + lookback + horizon]
    return X, y


def median_seconds(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=5)
    parser.add_argument("--lookback", type=int, default=60)
    parser.add_argument("--horizon", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    features = rng.normal(size=(args.rows, args.features)).astype(np.float32)
    target = features[:, 0].astype(np.float64)
    lookback, horizon = args.lookback, args.horizon

    X, y = make_windows(features, target, lookback, horizon)
    X_ref, y_ref = loop_windows(features, target, lookback, horizon)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    gib = X_ref.nbytes / 2**30
    del X_ref, y_ref

    views = median_seconds(lambda: make_windows(features, target, lookback, horizon), args.repeats)
    dense = median_seconds(
        lambda: np.ascontiguousarray(make_windows(features, target, lookback, horizon)[0]),
        args.repeats,
    )
    loop = median_seconds(lambda: loop_windows(features, target, lookback, horizon), args.repeats)

    print(
        f"machine: {platform.processor() or platform.machine()}, {platform.python_version()}, "
        f"numpy {np.__version__}"
    )
    print(
        f"{args.rows:,} rows x {args.features} features, lookback {lookback}, horizon {horizon}: "
        f"{len(X):,} windows ({gib:.2f} GiB materialized); median of {args.repeats}"
    )
    print("| method | seconds | vs Python loop |")
    print("|---|---|---|")
    print(f"| Python loop (reference) | {loop:.3f} | 1x |")
    print(f"| make_windows (views) | {views:.6f} | {loop / views:,.0f}x faster |")
    print(f"| make_windows + materialize all | {dense:.3f} | {loop / dense:.1f}x faster |")


if __name__ == "__main__":
    main()
