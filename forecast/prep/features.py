"""Named feature sets: a price frame -> a (T, F) float32 feature array and the target column."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.config import FEATURE_SETS, FEATURE_WIDTHS, TARGETS


@dataclass(frozen=True)
class Features:
    """What a model is fed: `values` (T, F) float32 and `target` (T,) float64, on `index`."""

    values: np.ndarray
    target: np.ndarray
    columns: tuple[str, ...]
    target_name: str
    index: pd.DatetimeIndex


def _adjusted_ohlc(prices: pd.DataFrame) -> pd.DataFrame:
    # Yahoo's open/high/low/close are split-unadjusted; scale them like adj_close
    factor = prices["adj_close"] / prices["close"]
    return prices[["open", "high", "low", "close"]].mul(factor, axis=0)


def _close(prices: pd.DataFrame, target: str) -> pd.DataFrame:
    return prices[[target]]


def _ohlcv(prices: pd.DataFrame, target: str) -> pd.DataFrame:
    frame = _adjusted_ohlc(prices)
    frame["close"] = prices[target]
    frame["log_volume"] = np.log1p(prices["volume"])
    return frame


def _returns(prices: pd.DataFrame, target: str) -> pd.DataFrame:
    frame = pd.DataFrame(index=prices.index)
    frame["log_return"] = np.log(prices[target]).diff()
    frame["hl_range"] = np.log(prices["high"] / prices["low"])
    frame["log_volume"] = np.log1p(prices["volume"])
    # the first day has no return
    return frame.iloc[1:]


_BUILDERS: dict[str, Callable[[pd.DataFrame, str], pd.DataFrame]] = {
    "close": _close,
    "ohlcv": _ohlcv,
    "returns": _returns,
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
    row shorter, as the first day has no return). The target stays in price units.
    Raises ValueError for an unknown set or target.
    """
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"feature_set={feature_set!r} is not one of {', '.join(FEATURE_SETS)}")
    if target not in TARGETS:
        raise ValueError(f"target={target!r} is not one of {', '.join(TARGETS)}")
    frame = _BUILDERS[feature_set](prices, target)
    return Features(
        values=frame.to_numpy(dtype=np.float32),
        # every builder drops leading rows only (returns: the first day's)
        target=prices[target].to_numpy(dtype=np.float64)[len(prices) - len(frame) :],
        columns=tuple(str(c) for c in frame.columns),
        target_name=target,
        index=pd.DatetimeIndex(frame.index),
    )
