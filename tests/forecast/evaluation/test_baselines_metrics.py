import numpy as np
import pytest

from forecast.evaluation.baselines import drift, naive, seasonal_naive, window_mean
from forecast.evaluation.metrics import (
    aggregate,
    forecast_metrics,
    in_sample_naive_mae,
    overall,
    skill,
)

HISTORY = np.array([[1.0, 2, 3, 4, 5, 6, 7], [10, 10, 10, 10, 10, 10, 12]])


def test_naive_repeats_the_last_value():
    np.testing.assert_array_equal(naive(HISTORY, 3), [[7, 7, 7], [12, 12, 12]])


def test_drift_extends_the_first_to_last_line():
    np.testing.assert_allclose(drift(HISTORY, 2), [[8, 9], [12 + 2 / 6, 12 + 4 / 6]])


def test_seasonal_naive_repeats_last_week():
    # period 5: step 1 is the value 5 days before it (history[-5]), step 6 wraps to step 1's
    np.testing.assert_array_equal(seasonal_naive(HISTORY, 6)[0], [3, 4, 5, 6, 7, 3])


def test_mean_of_lookback():
    np.testing.assert_allclose(window_mean(HISTORY, 2), [[4, 4], [10 + 2 / 7, 10 + 2 / 7]])


def test_metrics_per_step_by_hand():
    actual = np.array([[10.0, 11.0], [20.0, 18.0]])
    forecast = np.array([[11.0, 11.0], [18.0, 19.0]])
    last = np.array([10.5, 19.0])
    steps = forecast_metrics(actual, forecast, last, mase_scale=2.0)
    np.testing.assert_allclose(steps["mae"], [1.5, 0.5])
    np.testing.assert_allclose(steps["rmse"], [np.sqrt(2.5), np.sqrt(0.5)])
    np.testing.assert_allclose(steps["mape"], [100 * (0.1 + 0.1) / 2, 100 * (0 + 1 / 18) / 2])
    np.testing.assert_allclose(steps["smape"][0], 100 * (2 / 21 + 4 / 38) / 2)
    np.testing.assert_allclose(steps["mase"], [0.75, 0.25])
    # step 1: actual moved down from 10.5, forecast up (miss); 20 > 19 and 18 < 19 (miss)
    np.testing.assert_allclose(steps["directional_accuracy"], [0.0, 0.5])
    total = overall(steps, actual, forecast)
    assert total["rmse"] == pytest.approx(np.sqrt((1 + 0 + 4 + 1) / 4))
    assert total["mae"] == pytest.approx(1.0)


def test_mase_scale_and_skill_and_aggregates():
    assert in_sample_naive_mae(np.array([1.0, 3.0, 2.0])) == 1.5
    with pytest.raises(ValueError, match="MASE needs at least 2 training rows; got 1"):
        in_sample_naive_mae(np.array([1.0]))
    assert skill(0.9, 1.0) == pytest.approx(0.1)
    assert skill(1.2, 1.0) == pytest.approx(-0.2)
    stats = aggregate([1.0, 2.0, 3.0])
    assert stats == pytest.approx({"mean": 2.0, "std": 1.0, "stderr": 1 / np.sqrt(3)})
    assert aggregate([5.0]) == {"mean": 5.0, "std": 0.0, "stderr": 0.0}


def test_shape_mismatch():
    with pytest.raises(ValueError, match=r"actual \(2, 2\) and forecast \(2, 3\) differ"):
        forecast_metrics(np.ones((2, 2)), np.ones((2, 3)), np.ones(2), 1.0)


def test_scikit_learns_metrics_give_the_values_computed_by_hand_before():
    """MAE, RMSE and MAPE come from sklearn.metrics: equal to the formulas they replaced."""
    rng = np.random.default_rng(0)
    actual = 50 + rng.normal(0, 5, (400, 5)).cumsum(axis=0) ** 2 / 50 + 1
    forecast = actual * (1 + rng.normal(0, 0.02, actual.shape))
    steps = forecast_metrics(actual, forecast, actual[:, 0] * 0.99, mase_scale=0.7)
    error = forecast - actual
    np.testing.assert_allclose(steps["mae"], np.mean(np.abs(error), axis=0), rtol=1e-12)
    np.testing.assert_allclose(steps["rmse"], np.sqrt(np.mean(error**2, axis=0)), rtol=1e-12)
    mape = 100 * np.mean(np.abs(error) / np.abs(actual), axis=0)
    np.testing.assert_allclose(steps["mape"], mape, rtol=1e-12)
    np.testing.assert_allclose(steps["mase"], np.mean(np.abs(error), axis=0) / 0.7, rtol=1e-12)
    total = overall(steps, actual, forecast)
    assert total["rmse"] == pytest.approx(np.sqrt(np.mean(error**2)), rel=1e-12)
