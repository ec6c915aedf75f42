"""Named feature sets: a price frame -> a (T, F) float32 feature array and the target column."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from forecast.config import FEATURE_SETS, FEATURE_WIDTHS, REQUIRED_COLUMNS, TARGETS


@dataclass(frozen=True)
class Features:
    """What a model is fed: `values` (T, F) float32 and `target` (T,) float64, on `index`."""

    values: np.ndarray
    target: np.ndarray
    columns: tuple[str, ...]
    target_name: str
    index: pd.DatetimeIndex
    # (T, 4) the "range" set's features of the same rows, NaN on a row without the day before:
    # what the lstm interval rule reads (with_ranges); None when not asked for
    ranges: np.ndarray | None = None


RANGE_SET = "range"  # the feature set the lstm interval rule's head reads (models/scale_head.py)


Columns = dict[str, np.ndarray]  # a price frame's columns as float64 arrays
# a feature set from price columns and the target's name: its columns, their names, and the
# leading rows it drops (a log return needs the day before)
Builder = Callable[[Columns, str], tuple[list[np.ndarray], tuple[str, ...], int]]


def _close(prices: Columns, target: str) -> tuple[list[np.ndarray], tuple[str, ...], int]:
    return [prices[target]], (target,), 0


def _ohlcv(prices: Columns, target: str) -> tuple[list[np.ndarray], tuple[str, ...], int]:
    # Yahoo's open/high/low/close are split-unadjusted; scale them like adj_close
    factor = prices["adj_close"] / prices["close"]
    adjusted = [prices[c] * factor for c in ("open", "high", "low")]
    columns = [*adjusted, prices[target], np.log1p(prices["volume"])]
    return columns, ("open", "high", "low", "close", "log_volume"), 0


def _returns(prices: Columns, target: str) -> tuple[list[np.ndarray], tuple[str, ...], int]:
    columns = [
        np.diff(np.log(prices[target])),
        np.log(prices["high"] / prices["low"])[1:],
        np.log1p(prices["volume"])[1:],
    ]
    return columns, ("log_return", "hl_range", "log_volume"), 1  # the first day has no return


def _range(prices: Columns, target: str) -> tuple[list[np.ndarray], tuple[str, ...], int]:
    # what a day's range says about volatility (Garman-Klass, Parkinson): the log return, the
    # high-low range, the open-to-close move and the overnight gap; the gap on split-adjusted
    # prices, or a split would read as a jump
    factor = prices["adj_close"] / prices["close"]
    opened, closed = prices["open"] * factor, prices["close"] * factor
    columns = [
        np.diff(np.log(prices[target])),
        np.log(prices["high"] / prices["low"])[1:],
        np.log(prices["close"] / prices["open"])[1:],
        np.log(opened[1:] / closed[:-1]),
    ]
    return columns, ("log_return", "hl_range", "oc_move", "gap"), 1  # the first day has no return


_BUILDERS: dict[str, Builder] = {
    "close": _close,
    "ohlcv": _ohlcv,
    "returns": _returns,
    "range": _range,
}
# the price columns each set reads besides the target (ohlcv and range adjust by adj_close / close)
_READS = {
    **REQUIRED_COLUMNS,
    "ohlcv": (*REQUIRED_COLUMNS["ohlcv"], "adj_close"),
    "range": (*REQUIRED_COLUMNS["range"], "adj_close"),
}


if set(_BUILDERS) != set(FEATURE_SETS) or set(FEATURE_WIDTHS) != set(FEATURE_SETS):
    # config.py names them and their widths (tests/forecast/prep/test_features.py checks those)
    raise ImportError(f"feature builders {sorted(_BUILDERS)} differ from {FEATURE_SETS}")


def build_features(
    prices: pd.DataFrame, feature_set: str = "close", target: str = "adj_close"
) -> Features:
    """Turn a validated price frame into model inputs.

    Sets: "close" (the target price alone), "ohlcv" (split-adjusted open, high, low, close and
    log1p volume), "returns" (log return of the target, log high/low range, log1p volume; one
    row shorter, as the first day has no return), "range" (log return, log high/low, log
    close/open and the overnight gap on split-adjusted prices; one row shorter). The target
    stays in price units.
    Raises ValueError for an unknown set or target.
    """
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"feature_set={feature_set!r} is not one of {', '.join(FEATURE_SETS)}")
    if target not in TARGETS:
        raise ValueError(f"target={target!r} is not one of {', '.join(TARGETS)}")
    names = {target, *_READS[feature_set]}
    columns = {name: prices[name].to_numpy(dtype=np.float64) for name in names}
    return features_of(columns, pd.DatetimeIndex(prices.index), feature_set, target)


def aligned_ranges(columns: Columns, target: str, rows: int) -> np.ndarray:
    """(rows, 4) float32 the "range" features of price columns, aligned with the last `rows` of
    them: NaN on the first when it has no day before (no dates needed: a request's path)."""
    values, _, _ = _BUILDERS[RANGE_SET](columns, target)
    ranges = np.column_stack(values).astype(np.float32)
    pad = rows - len(ranges)
    if not 0 <= pad <= 1:
        raise ValueError(f"{len(ranges)} range rows cannot align with {rows} feature rows")
    return np.vstack([np.full((pad, ranges.shape[1]), np.nan, np.float32), ranges])


def with_ranges(features: Features, prices: pd.DataFrame) -> Features:
    """`features` (built from the validated price frame `prices`) with their rows' ranges."""
    names = {features.target_name, *_READS[RANGE_SET]}
    columns = {name: prices[name].to_numpy(dtype=np.float64) for name in names}
    return replace(
        features, ranges=aligned_ranges(columns, features.target_name, len(features.target))
    )


def features_of(
    columns: Columns, index: pd.DatetimeIndex, feature_set: str, target: str
) -> Features:
    """build_features on a price frame's columns (float64 arrays on `index`): what the frame
    path and request rows (forecast.data.history) share. Unchecked: see build_features."""
    values, names, dropped = _BUILDERS[feature_set](columns, target)
    return Features(
        values=np.column_stack(values).astype(np.float32),
        target=columns[target][dropped:],
        columns=names,
        target_name=target,
        index=index[dropped:],
    )
