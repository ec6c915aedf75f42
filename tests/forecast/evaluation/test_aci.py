import numpy as np

from forecast.evaluation.aci import AdaptiveIntervals
from forecast.evaluation.conformal import interval_metrics
from forecast.intervals import Calibration


def shifted(seed=0, n=2000, steps=2):
    """Scores calibrated on N(0, 1) errors; the test origins' errors are N(0, 1.5): drift."""
    rng = np.random.default_rng(seed)
    calibration = rng.normal(size=(500, steps))
    actual = 100 + rng.normal(scale=1.5, size=(n, steps))
    return calibration, np.full((n, steps), 100.0), np.ones((n, steps)), actual


def test_the_adapted_level_recovers_coverage_that_drift_took_from_split_conformal():
    calibration, forecast, scale, actual = shifted()
    fixed = Calibration.fit(calibration, (0.9,), None).interval(forecast, 0.9, scale)
    adapted = AdaptiveIntervals().interval(calibration, forecast, scale, actual, 0.9)
    split_coverage = interval_metrics(actual, *fixed, 0.9)["coverage"]
    aci_coverage = interval_metrics(actual, *adapted, 0.9)["coverage"]
    assert (split_coverage < 0.8).all()  # the drift: 1.645 / 1.5 sigma covers ~73%
    assert (abs(aci_coverage - 0.9) < 0.02).all(), aci_coverage


def test_an_outcome_moves_only_the_intervals_of_origins_after_it_is_observed():
    calibration, forecast, scale, _ = shifted(n=50)
    actual = forecast.copy()  # every outcome a hit
    before = AdaptiveIntervals().interval(calibration, forecast, scale, actual, 0.8)
    changed = actual.copy()
    changed[30:] = 1000.0  # every outcome of origin 30 on a miss
    after = AdaptiveIntervals().interval(calibration, forecast, scale, changed, 0.8)
    # step 1 (k = 0) of origin 30 is observed on day 30: origin 31 is the first it moves
    np.testing.assert_array_equal(after[1][:31, 0], before[1][:31, 0])
    assert after[1][31, 0] != before[1][31, 0]
    # step 2 of origin 30 is observed on day 31: origin 32 is the first it moves
    np.testing.assert_array_equal(after[1][:32, 1], before[1][:32, 1])
    assert after[1][32, 1] != before[1][32, 1]


def test_the_miss_rate_carries_over_from_block_to_block():
    calibration, forecast, scale, actual = shifted(n=400)
    adaptive = AdaptiveIntervals()
    adaptive.interval(calibration, forecast[:200], scale[:200], actual[:200], 0.9)
    assert (adaptive.alpha[0.9] < 0.1).all()  # too many misses: it asked for wider intervals
    fresh = AdaptiveIntervals().interval(
        calibration, forecast[200:], scale[200:], actual[200:], 0.9
    )
    carried = adaptive.interval(calibration, forecast[200:], scale[200:], actual[200:], 0.9)
    assert (carried[1][0] > fresh[1][0]).all()
