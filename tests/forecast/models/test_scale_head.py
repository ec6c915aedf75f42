"""The lstm interval rule: the LSTM scale head on range features, conformalized like every rule."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from forecast.config import LSTMConfig, TrainConfig, WindowConfig
from forecast.data.history import rows_of
from forecast.evaluation.conformal import FoldIntervals
from forecast.forecaster import Forecaster, quantile_column
from forecast.intervals import Calibration, Volatility
from forecast.models.scale_head import ScaleHead, ScaleWindows, windows_at
from forecast.prep.features import aligned_ranges
from forecast.queries import QueryError

ROWS = 31  # price rows the point model reads (a lookback of 30)


def garch_ohlc(days, seed=0, omega=2e-6, alpha=0.08, beta=0.9, nu=6.0):
    """A price frame whose daily log returns follow a GARCH(1,1)-t with known parameters, with
    opens, highs and lows drawn at each day's known volatility; and that volatility (T,)."""
    rng = np.random.default_rng(seed)
    shocks = rng.standard_t(nu, days) * np.sqrt((nu - 2) / nu)
    variance, returns, sigma = omega / (1 - alpha - beta), np.empty(days), np.empty(days)
    for day in range(days):
        sigma[day] = np.sqrt(variance)
        returns[day] = sigma[day] * shocks[day]
        variance = omega + alpha * returns[day] ** 2 + beta * variance
    close = 100 * np.exp(np.cumsum(returns))
    previous = np.r_[100.0, close[:-1]]
    opened = previous * np.exp(0.3 * returns)  # part of each move happens overnight
    reach = sigma * np.abs(rng.standard_normal((2, days))) * 0.6
    high = np.maximum(opened, close) * np.exp(reach[0])
    low = np.minimum(opened, close) * np.exp(-reach[1])
    index = pd.bdate_range("2000-01-03", periods=days, name="date")
    frame = pd.DataFrame(
        {"open": opened, "high": high, "low": low, "close": close, "adj_close": close},
        index=index,
    ).assign(volume=1e6)
    return frame, sigma


def ranges_of(frame):
    columns = {c: frame[c].to_numpy(dtype=np.float64) for c in frame.columns}
    return aligned_ranges(columns, "adj_close", len(frame))


def test_the_lstm_rule_covers_a_garch_series_at_nominal_and_widens_with_volatility():
    # walk-forward as CV does it: a head per fold on the rows before it, each fold's
    # intervals calibrated on the earlier folds' scores (conformal.FoldIntervals)
    frame, sigma = garch_ohlc(4000, seed=3)
    prices, ranges = frame["adj_close"].to_numpy(), ranges_of(frame)
    intervals = FoldIntervals((0.9,))
    coverage, widths, sigmas = [], [], []
    for start in range(1000, 4000, 750):
        origins = np.arange(start, min(start + 750, 4000))
        head = ScaleHead.fit(ranges[:start], prices[:start], ROWS, 1, seed=0)
        scale = head.scale(windows_at(ranges, prices, origins, ROWS), 1)
        naive, actual = prices[origins - 1][:, None], prices[origins][:, None]
        read = sliding_window_view(prices, ROWS)[origins - ROWS]
        ewma = Volatility.of(prices[:start]).scale(read, 1)
        earlier = intervals.earlier["model_lstm"]
        out = intervals.evaluate(actual, naive, naive, ewma, ewma, scale)
        if out:  # the first fold only gives the next ones their scores
            coverage.append(out["model_lstm"][0.9]["coverage"][0])
            calibration = Calibration.fit(np.concatenate(earlier[:-1]), (0.9,), None)
            lower, upper = calibration.interval(naive, 0.9, scale)
            widths.append((upper - lower)[:, 0])
            sigmas.append(sigma[origins])
    assert sum(len(s) for s in sigmas) >= 2000
    assert abs(np.mean(coverage) - 0.9) <= 0.02, coverage  # equal-sized folds
    # wider where the known volatility is high: the head read it from the range
    width, truth = np.concatenate(widths), np.concatenate(sigmas)
    calm = truth <= np.median(truth)
    assert width[~calm].mean() > 1.3 * width[calm].mean()


@pytest.fixture(scope="module")
def head():
    frame, _ = garch_ohlc(1200, seed=5)
    return ScaleHead.fit(ranges_of(frame), frame["adj_close"].to_numpy(), ROWS, 3, seed=0)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    level=st.floats(0.002, 0.05),
    quantiles=st.lists(st.floats(0.02, 0.98), min_size=2, max_size=19, unique=True),
)
def test_the_heads_quantiles_never_cross(head, seed, level, quantiles):
    rng = np.random.default_rng(seed)
    n = 8
    windows = ScaleWindows(
        np.column_stack(
            [
                rng.normal(0, level, (n * (ROWS - 1), 1)),
                np.abs(rng.normal(0, level, (n * (ROWS - 1), 1))),
                rng.normal(0, level, (n * (ROWS - 1), 2)),
            ]
        ).reshape(n, ROWS - 1, 4),
        rng.uniform(1, 1000, n),
    )
    calibration = Calibration.fit(rng.standard_t(3, (60, 3)), (0.8,), head)
    forecast = windows.last[:, None] * np.exp(rng.normal(0, level, (n, 3)))
    qs = tuple(sorted(quantiles))
    values = calibration.quantiles(forecast, windows, calibration.check_quantiles(qs))
    stacked = np.stack([values[q] for q in qs])  # (Q, N, H)
    assert (np.diff(stacked, axis=0) >= 0).all()  # each origin's and step's rise with q


def test_a_head_reads_no_row_after_its_origin_and_round_trips(head):
    frame, _ = garch_ohlc(900, seed=7)
    prices, ranges = frame["adj_close"].to_numpy(), ranges_of(frame)
    origins = np.arange(600, 700)
    before = head.scale(windows_at(ranges, prices, origins, ROWS), 3)
    changed = frame.copy()
    changed.iloc[700:, :5] *= 2.0  # every price from the last origin's day on
    again = head.scale(
        windows_at(ranges_of(changed), changed["adj_close"].to_numpy(), origins, ROWS), 3
    )
    np.testing.assert_array_equal(again, before)
    assert (before > 0).all() and (np.diff(before, axis=1) > 0).mean() > 0.9  # wider further out
    loaded = ScaleHead.from_dict(json.loads(json.dumps(head.to_dict())))
    np.testing.assert_allclose(
        loaded.scale(windows_at(ranges, prices, origins, ROWS), 3), before, rtol=1e-6
    )


def test_too_few_rows_for_a_head_is_a_clear_error():
    frame, _ = garch_ohlc(200)
    with pytest.raises(ValueError, match="a scale head needs 250 training windows; 200 rows"):
        ScaleHead.fit(ranges_of(frame), frame["adj_close"].to_numpy(), ROWS, 1)


def test_a_forecaster_serves_the_lstm_rule_from_its_saved_head(tmp_path):
    frame, _ = garch_ohlc(700, seed=9)
    window = WindowConfig(lookback=30, horizon=2)
    forecaster = Forecaster(window, LSTMConfig(hidden_sizes=(4,)), TrainConfig(epochs=1))
    rng = np.random.default_rng(0)
    forecaster.fit(frame, calibration_scores=rng.normal(size=(300, 2)), rule="lstm")
    assert forecaster.interval_rule == "lstm"
    loaded = Forecaster.load(forecaster.save(tmp_path / "model"))
    assert loaded.interval_rule == "lstm"
    asked = (0.05, 0.5, 0.95)
    expected = forecaster.predict(frame, quantiles=asked)
    pd.testing.assert_frame_equal(loaded.predict(frame, quantiles=asked), expected)
    # request rows with every column answer the same as the frame
    rows = rows_of(frame.iloc[-40:], "range", "adj_close")
    pd.testing.assert_frame_equal(loaded.predict(rows, quantiles=asked), expected)
    assert (expected[quantile_column(0.05)] < expected[quantile_column(0.95)]).all()
    # the head reads the range: rows with closes alone are refused, naming what is missing
    with pytest.raises(QueryError, match=r"lacks columns \['open', 'high', 'low'\]"):
        loaded.predict(rows[["date", "close"]])
