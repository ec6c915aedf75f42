import json

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from forecast.evaluation.conformal import interval_metrics
from forecast.intervals import EWMA_HALFLIFE, Calibration, Volatility, scores


def window_scale(windows, halflife=EWMA_HALFLIFE, estimator="absolute"):
    """Tomorrow's price-unit volatility by the served rule: step 1 of Volatility.scale."""
    return Volatility(0.0, halflife, 1.0, estimator).scale(windows, 1)[:, 0]


def garch_prices(n, seed=0, omega=2e-6, alpha=0.08, beta=0.9):
    """GARCH(1,1) daily log returns with known parameters, as prices from 100."""
    rng = np.random.default_rng(seed)
    variance = omega / (1 - alpha - beta)
    returns = np.empty(n)
    for t in range(n):
        returns[t] = np.sqrt(variance) * rng.standard_normal()
        variance = omega + alpha * returns[t] ** 2 + beta * variance
    return 100 * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))


def naive_setup(prices, horizon=1):
    """Origins t: the naive forecast (price at t - 1) of prices t .. t + horizon - 1."""
    origins = np.arange(30, len(prices) - horizon + 1)
    actual = np.stack([prices[origins + h] for h in range(horizon)], axis=1)
    last = prices[origins - 1]
    forecast = np.repeat(last[:, None], horizon, axis=1)
    windows = sliding_window_view(prices, 30)[origins - 30]  # the 30 days before each origin
    scale = window_scale(windows)
    return actual, forecast, scale


def test_volatility_scaled_intervals_cover_garch_returns_at_nominal():
    actual, forecast, scale = naive_setup(garch_prices(5000, seed=1))
    calibrate, test = slice(0, 2500), slice(2500, None)
    calibration = Calibration.fit(scores(actual, forecast, scale)[calibrate], (0.9,), None)
    lower, upper = calibration.interval(forecast[test], 0.9, scale[test])
    coverage = interval_metrics(actual[test], lower, upper, 0.9)["coverage"][0]
    assert len(actual[test]) >= 2000
    assert abs(coverage - 0.9) <= 0.02, coverage
    # wider where the volatility known at the origin is high than where it is calm
    width = (upper - lower)[:, 0]
    calm = scale[test] <= np.median(scale[test])
    assert width[~calm].mean() > 1.3 * width[calm].mean()


def test_constant_width_covers_too_but_scores_worse_on_clustered_volatility():
    actual, forecast, scale = naive_setup(garch_prices(5000, seed=2))
    calibrate, test = slice(0, 2500), slice(2500, None)
    results = {}
    for name, used in (("scaled", scale), ("constant", None)):
        calibration = Calibration.fit(scores(actual, forecast, used)[calibrate], (0.9,), None)
        lower, upper = calibration.interval(
            forecast[test], 0.9, None if used is None else used[test]
        )
        results[name] = interval_metrics(actual[test], lower, upper, 0.9)
    assert results["scaled"]["winkler"][0] < results["constant"]["winkler"][0]


def test_finite_sample_rank_and_asymmetry():
    # 9 scores: the 80% upper bound is the ceil(10 * 0.9) = 9th smallest, the lower the 1st
    calibration = Calibration.fit(np.arange(1.0, 10.0)[:, None], (0.8,), None)
    assert calibration.upper[0.8][0] == 9.0 and calibration.lower[0.8][0] == 1.0
    # too few scores for a 95% bound: infinite, never a silently narrow interval
    assert np.isinf(Calibration.fit(np.arange(1.0, 10.0)[:, None], (0.95,), None).upper[0.95][0])
    skewed = Calibration.fit(np.r_[np.full(50, -1.0), np.full(49, 3.0)][:, None], (0.9,), None)
    assert skewed.lower[0.9][0] == -1.0 and skewed.upper[0.9][0] == 3.0


def test_metrics_count_misses_and_winkler_penalizes_them():
    actual = np.array([[10.0], [20.0]])
    lower, upper = np.array([[9.0], [9.0]]), np.array([[11.0], [11.0]])
    metrics = interval_metrics(actual, lower, upper, 0.8)
    assert metrics["coverage"][0] == 0.5 and metrics["width"][0] == 2.0
    # the miss: 2 + (2 / 0.2) * 9 = 92; the hit: 2
    assert metrics["winkler"][0] == pytest.approx((92 + 2) / 2)
    # too few calibration scores for the level: infinite bounds cover, and cost infinitely
    unbounded = interval_metrics(actual, np.full((2, 1), -np.inf), np.full((2, 1), np.inf), 0.95)
    assert unbounded["coverage"][0] == 1.0 and unbounded["winkler"][0] == np.inf


def test_the_scale_is_the_last_price_times_the_windows_ewma_volatility():
    calm = np.full(41, 100.0) * np.exp(0.01 * (np.arange(41) % 2))  # +-1% every day
    (scale,) = window_scale(calm[None])
    # the absolute estimator: a normal's standard deviation from the mean absolute return
    assert scale == pytest.approx(calm[-1] * 0.01 * np.sqrt(np.pi / 2))
    assert window_scale(calm[None], estimator="squared")[0] == pytest.approx(calm[-1] * 0.01)
    # a recent shock weighs more than the same shock early in the window
    early, late = calm.copy(), calm.copy()
    early[1:] *= 1.1
    late[-1] *= 1.1
    assert window_scale(late[None])[0] > window_scale(early[None])[0] > scale
    # and one jump day moves the absolute estimator less than the squared one
    jump = window_scale(late[None], estimator="squared")[0] / (calm[-1] * 0.01)
    assert 1 < window_scale(late[None])[0] / scale < jump
    with pytest.raises(ValueError, match="estimator='median'; allowed: absolute, squared"):
        window_scale(calm[None], estimator="median")
    with pytest.raises(ValueError, match=r"shape \(1, 2\) with prices <= 0"):
        window_scale(np.array([[1.0, -1.0]]))
    with pytest.raises(ValueError, match=r"\(N, L >= 2\)"):
        window_scale(np.array([1.0, 2.0]))


def test_steps_further_out_expect_a_move_closer_to_the_long_run():
    calm = np.full(41, 100.0) * np.exp(0.01 * (np.arange(41) % 2))  # today: 1% a day
    wild = Volatility(long_run=0.03**2)  # the training prices moved 3% a day
    quiet = Volatility(long_run=0.001**2)
    (up,) = wild.scale(calm[None], 5)
    (down,) = quiet.scale(calm[None], 5)
    # step 1 is tomorrow's EWMA volatility whatever the long run
    assert up[0] == pytest.approx(window_scale(calm[None])[0]) == pytest.approx(down[0])
    # then each step's mean daily variance moves toward the long run, never past it
    assert (np.diff(up) > 0).all() and up[-1] < calm[-1] * 0.03
    assert (np.diff(down) < 0).all() and down[-1] > calm[-1] * 0.001
    # day j's variance: long_run + 0.9 ** (j - 1) * (today - long_run); step 2 averages days 1, 2
    today, long_run = 0.01**2 * np.pi / 2, 0.03**2
    step2 = (today + long_run + 0.9 * (today - long_run)) / 2
    assert up[1] == pytest.approx(calm[-1] * np.sqrt(step2))
    # persistence 1: today's volatility for every step (the rule before the reversion)
    np.testing.assert_allclose(Volatility(0.03**2, persistence=1.0).scale(calm[None], 5), up[0])
    with pytest.raises(ValueError, match=r"persistence must lie in \[0, 1\]; got 1.5"):
        Volatility(1e-4, persistence=1.5)
    assert Volatility.of(calm).long_run == pytest.approx(0.01**2, rel=1e-3)


@pytest.mark.parametrize("horizon", [1, 5])
def test_garch_coverage_holds_at_every_step_of_the_horizon(horizon):
    """Per step at horizon 1 and 5: 90% coverage within 2 points over 2,500 origins, with the
    rule reverting to the long-run variance of the calibration half's prices."""
    prices = garch_prices(5000, seed=3)
    origins = np.arange(30, len(prices) - horizon + 1)
    actual = np.stack([prices[origins + h] for h in range(horizon)], axis=1)
    forecast = np.repeat(prices[origins - 1][:, None], horizon, axis=1)
    windows = sliding_window_view(prices, 30)[origins - 30]
    calibrate, test = slice(0, 2500), slice(2500, None)
    volatility = Volatility.of(prices[: origins[2500]])
    scale = volatility.scale(windows, horizon)
    calibration = Calibration.fit(scores(actual, forecast, scale)[calibrate], (0.9,), volatility)
    bounds = calibration.around(forecast[test], windows[test])[0.9]
    np.testing.assert_allclose(bounds[0], calibration.interval(forecast[test], 0.9, scale[test])[0])
    coverage = interval_metrics(actual[test], *bounds, 0.9)["coverage"]
    assert len(actual[test]) >= 2000 and len(coverage) == horizon
    assert (abs(coverage - 0.9) <= 0.02).all(), coverage


def test_a_calibration_round_trips_and_reads_the_format_before_the_reversion():
    rng = np.random.default_rng(0)
    windows = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (4, 30)), axis=1))
    calibration = Calibration.fit(rng.normal(size=(200, 3)), (0.8, 0.95), Volatility(3e-4))
    loaded = Calibration.from_dict(json.loads(json.dumps(calibration.to_dict())))
    assert loaded.volatility == calibration.volatility and loaded.levels == (0.8, 0.95)
    forecast = np.full((4, 3), 100.0)
    np.testing.assert_array_equal(
        loaded.around(forecast, windows)[0.95][1], calibration.around(forecast, windows)[0.95][1]
    )
    # format 1 had no long run: every step scaled by today's EWMA volatility
    old = calibration.to_dict() | {"format": 1, "volatility": {"rule": "ewma", "halflife": 20}}
    lower, _ = Calibration.from_dict(old).around(forecast, windows)[0.8]
    expected = forecast + calibration.lower[0.8] * window_scale(windows, 20, "squared")[:, None]
    np.testing.assert_allclose(lower, expected)
    with pytest.raises(ValueError, match="calibration format 5; this Stockcast reads 1 to 4"):
        Calibration.from_dict(calibration.to_dict() | {"format": 5})


def summary_of(**rules):
    """A CV interval summary: source -> level -> coverage and winkler, from (coverage 80,
    coverage 95, winkler) per rule name."""
    from forecast.evaluation.conformal import RULE_SOURCES

    return {
        RULE_SOURCES[rule]: {
            0.8: {"coverage": c80, "winkler": w},
            0.95: {"coverage": c95, "winkler": 2 * w},
        }
        for rule, (c80, c95, w) in rules.items()
    }


def test_the_served_rule_is_the_best_winkler_among_those_near_nominal_coverage():
    from forecast.evaluation.conformal import choose_rule

    chosen = choose_rule(
        summary_of(ewma=(0.79, 0.94, 3.0), garch=(0.81, 0.95, 2.9), constant=(0.70, 0.88, 2.5))
    )
    # constant scores lowest but under-covers by 10 points: not eligible
    assert (chosen.rule, chosen.runner_up, chosen.eligible) == ("garch", "ewma", ("ewma", "garch"))
    assert chosen.winkler == pytest.approx(4.35) and chosen.runner_up_winkler == pytest.approx(4.5)
    assert chosen.message == (
        "garch: mean Winkler 4.3500 among ewma, garch (coverage within 3%); runner-up ewma 4.5000"
    )
    alone = choose_rule(summary_of(ewma=(0.79, 0.94, 3.0), garch=(0.87, 0.98, 2.9)))
    assert (alone.rule, alone.runner_up) == ("ewma", "garch")  # the best score, not eligible
    assert alone.message.endswith("; runner-up garch 4.3500 (coverage off)")
    nobody = choose_rule(summary_of(ewma=(0.7, 0.9, 3.0), garch=(0.6, 0.8, 3.5)))
    assert nobody.rule == "ewma" and "none within 3% of nominal coverage" in nobody.message
    assert choose_rule({}).rule == "ewma" and choose_rule({}).winkler is None


def test_a_garch_calibration_round_trips_and_serves_from_its_parameters():
    from forecast.garch import Garch

    garch = Garch(omega=2e-6, alpha=0.08, beta=0.9, nu=6.0)
    calibration = Calibration.fit(np.random.default_rng(0).normal(size=(200, 2)), (0.8,), garch)
    again = Calibration.from_dict(json.loads(json.dumps(calibration.to_dict())))
    assert again.volatility == garch and again.to_dict() == calibration.to_dict()
    windows = 100 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.02, (3, 70)), axis=1))
    bounds = again.around(windows[:, -1:].repeat(2, axis=1), windows)[0.8]
    scale = garch.scale(windows, 2)
    np.testing.assert_allclose(bounds[1] - bounds[0], (again.upper[0.8] - again.lower[0.8]) * scale)


def test_pinball_loss_prefers_the_distribution_that_matches_the_outcomes():
    from forecast.evaluation.conformal import pinball_loss

    rng = np.random.default_rng(0)
    earlier = rng.normal(size=(2000, 1))  # scores of a unit-scale rule
    actual, point = rng.normal(0, 2, (3000, 1)), np.zeros((3000, 1))  # outcomes of scale 2
    right = pinball_loss(actual, point, np.full(3000, 2.0), earlier)
    narrow = pinball_loss(actual, point, np.full(3000, 1.0), earlier)
    wide = pinball_loss(actual, point, np.full(3000, 4.0), earlier)
    assert right.shape == (1,) and right[0] < narrow[0] and right[0] < wide[0]
    # a normal's own quantile q has expected pinball loss sigma * pdf(ppf(q))
    from scipy.stats import norm

    from forecast.evaluation.conformal import PINBALL_QUANTILES

    expected = 2 * np.mean(norm.pdf(norm.ppf(PINBALL_QUANTILES)))
    assert right[0] == pytest.approx(expected, rel=0.05)
