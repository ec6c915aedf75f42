"""The costed backtest: strategies from out-of-sample forecasts against buy-and-hold."""

import math

import numpy as np
import pandas as pd
import pytest

from forecast.config import BacktestConfig, CVConfig, WindowConfig
from forecast.data import load_prices
from forecast.evaluation.backtest import (
    Signals,
    backtest_metrics,
    cv_signals,
    forecaster_signals,
    positions,
    run_backtest,
)
from forecast.forecaster import Forecaster
from tests.forecast.test_forecaster import TINY_LSTM, TINY_TRAIN
from tests.helpers import cross_validate

DAILY_VOL = 0.01


@pytest.fixture(scope="module")
def prices():
    return load_prices("MSFT", start="2010-01-01", end="2012-12-31", source="sample")


def signals_of(prices, forecast, sigma=None):
    """Signals for days 1..T-1 of `prices`: day t traded on `forecast[t]`, known at t - 1."""
    prices = np.asarray(prices, dtype=np.float64)
    n = len(prices) - 1
    sigma = np.full(n, DAILY_VOL) if sigma is None else sigma
    return Signals(
        pd.bdate_range("2001-01-02", periods=n),
        prices[:-1],
        np.asarray(forecast, dtype=np.float64)[1:],
        sigma,
        sigma,
        np.full(n, 0.16),
        prices[1:],
    )


def random_walk(days, seed, drift=0.0003, vol=DAILY_VOL):
    rng = np.random.default_rng(seed)
    return 100 * np.exp(np.cumsum(rng.normal(drift, vol, days)))


def test_direction_earns_far_more_than_buy_and_hold_when_the_next_return_is_known():
    # each day's return is minus the previous one's, plus noise: the window says the sign
    rng = np.random.default_rng(1)
    returns = np.empty(1000)
    returns[0] = 0.01
    for t in range(1, 1000):
        returns[t] = -0.8 * returns[t - 1] + rng.normal(0, 0.005)
    prices = 100 * np.exp(np.cumsum(returns))
    # the forecast of day t, from the days before it: -0.8 x the last return
    known = np.r_[prices[0], prices[:-1] * np.exp(-0.8 * np.r_[0.0, np.diff(np.log(prices))][:-1])]
    backtest = run_backtest(signals_of(prices, known), BacktestConfig(short=True))
    direction = backtest.strategies["direction"]
    benchmark = backtest.strategies["buy_and_hold"]
    assert direction.metrics["sharpe"] > benchmark.metrics["sharpe"] + 3
    assert direction.sharpe_diff_ci[0] > 0 and direction.verdict == "edge"


def test_on_a_random_walk_direction_shows_no_edge_and_pays_exactly_its_turnover():
    prices = random_walk(1000, seed=2, drift=0.0, vol=0.02)
    guess = np.random.default_rng(3).normal(0, 0.01, len(prices))
    forecast = np.r_[prices[0], prices[:-1] * np.exp(guess[1:])]  # noise, not knowledge
    config = BacktestConfig(cost_bps=5)
    backtest = run_backtest(signals_of(prices, forecast), config)
    direction = backtest.strategies["direction"]
    low, high = direction.sharpe_diff_ci
    assert low < 0 < high and direction.verdict == "no evidence of an edge"
    # costs: the return before costs less the one after is the turnover times the cost
    assert direction.traded.sum() > 50  # it traded
    np.testing.assert_allclose(
        direction.gross.sum() - direction.net.sum(), direction.traded.sum() * config.cost
    )
    paid = direction.gross - direction.net  # on the days it traded, and only then
    np.testing.assert_allclose(paid, direction.traded * config.cost)
    assert (paid[direction.traded == 0] == 0).all()


@pytest.mark.parametrize("cost_bps", [0, 5])
def test_buy_and_hold_returns_the_last_price_over_the_first(cost_bps):
    prices = random_walk(300, seed=4)
    backtest = run_backtest(signals_of(prices, prices), BacktestConfig(cost_bps=cost_bps))
    total = backtest.strategies["buy_and_hold"].metrics["total_return"]
    # it starts flat and buys once, at the close before the first day: that day's return
    # less the cost, then the price's growth to the last day
    cost = cost_bps / 10_000
    expected = (prices[1] / prices[0] - cost) * prices[-1] / prices[1] - 1
    assert total == pytest.approx(expected, rel=1e-9)
    assert backtest.strategies["buy_and_hold"].traded.sum() == 1.0


def test_vol_target_sizes_by_the_forecast_volatility_and_respects_the_cap():
    prices = random_walk(400, seed=5)
    sigma = np.r_[np.full(200, 0.005), np.full(199, 0.02)]
    signals = signals_of(prices, prices, sigma)
    sized = positions(signals, BacktestConfig(max_leverage=1.5))["vol_target"]
    annual = sigma * math.sqrt(252)
    np.testing.assert_allclose(sized, np.minimum(0.16 / annual, 1.5))
    assert sized[:200].max() == 1.5 and sized[-1] < 1
    with pytest.raises(ValueError, match=r"max_leverage=0; allowed: a number > 0"):
        BacktestConfig(max_leverage=0)
    with pytest.raises(ValueError, match=r"target_vol=20; allowed: an annual volatility"):
        BacktestConfig(target_vol=20)


def test_cv_positions_up_to_a_day_do_not_change_when_later_prices_do(prices):
    window = WindowConfig(lookback=20, horizon=1)
    cv = CVConfig(n_folds=3, test_size=40, repeats=1, levels=(0.8, 0.95))
    results = list(cross_validate(prices, window, TINY_LSTM, TINY_TRAIN, cv))
    signals = cv_signals(results, "ewma")
    day = 70  # inside the second test block
    changed = prices.copy()
    later = changed.index > signals.dates[day]
    changed.loc[later, ["open", "high", "low", "close", "adj_close"]] *= 1.5
    again = cv_signals(list(cross_validate(changed, window, TINY_LSTM, TINY_TRAIN, cv)), "ewma")
    config = BacktestConfig(short=True)
    before, after = positions(signals, config), positions(again, config)
    for name, held in before.items():
        np.testing.assert_array_equal(after[name][: day + 1], held[: day + 1], err_msg=name)
    assert not np.array_equal(again.actual[day + 1 :], signals.actual[day + 1 :])
    backtest = run_backtest(signals, config)
    assert sorted(backtest.per_block) == [1, 2, 3]  # every fold, and all of them together
    assert "backtest/direction/sharpe_diff_low" in backtest_metrics(backtest)


def test_a_fitted_models_walk_forward_positions_ignore_later_prices(prices):
    # pipelines.backtest's path: a model fitted up to a day, walking forward without refits
    window = WindowConfig(lookback=20, horizon=1)
    trained = prices.loc[:"2011-12-30"]
    model = Forecaster(window, TINY_LSTM, TINY_TRAIN)
    rng = np.random.default_rng(0)
    model.fit(trained, calibration_scores=rng.normal(size=(300, 1)), rule="lstm")
    first, last = pd.Timestamp("2012-01-03"), prices.index[-1]
    signals = forecaster_signals(model, prices, first, last)
    assert signals.dates[0] == first and signals.dates[-1] == last
    day = 100
    changed = prices.copy()
    later = changed.index > signals.dates[day]
    changed.loc[later, ["open", "high", "low", "close", "adj_close"]] *= 0.5
    again = forecaster_signals(model, changed, first, last)
    config = BacktestConfig(short=True)
    before, after = positions(signals, config), positions(again, config)
    for name, held in before.items():
        np.testing.assert_array_equal(after[name][: day + 1], held[: day + 1], err_msg=name)
    assert not np.array_equal(after["vol_target"][day + 2 :], before["vol_target"][day + 2 :])
