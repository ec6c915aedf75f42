"""A Forecaster's prediction intervals: calibrated on CV forecasts, saved beside its weights,
served per level."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast.config import CVConfig, LSTMConfig, TrainConfig, WindowConfig
from forecast.data import load_prices
from forecast.evaluation.cv import calibration_scores
from forecast.forecaster import Forecaster
from forecast.intervals import Calibration, Volatility, scores
from forecast.saving import CALIBRATION_FILE
from tests.helpers import cross_validate

TINY_LSTM = LSTMConfig(hidden_sizes=(8,))
TINY_TRAIN = TrainConfig(epochs=1, batch_size=64, device="cpu", threads=1, progress=False)


@pytest.fixture(scope="module")
def prices():
    return load_prices("MSFT", start="2010-01-01", end="2012-12-31", source="sample")


@pytest.fixture(scope="module")
def target(prices):
    return prices["adj_close"].to_numpy()


@pytest.fixture(scope="module")
def folds(prices):
    window = WindowConfig(lookback=20, horizon=2)
    cv = CVConfig(n_folds=2, test_size=60, repeats=1)
    return window, list(cross_validate(prices, window, TINY_LSTM, TINY_TRAIN, cv))


def calibrated(window, prices, results, levels=(0.8, 0.95), lstm=TINY_LSTM):
    """The final model: every row of `prices`, intervals from every CV forecast's score."""
    return Forecaster(window, lstm, TINY_TRAIN).fit(
        prices, calibration_scores=calibration_scores(results), levels=levels
    )


def test_the_final_calibration_is_every_cv_forecasts_volatility_scaled_score(prices, target, folds):
    window, results = folds
    found = calibrated(window, prices, results).calibration_
    every = np.concatenate([scores(r.actual, r.forecasts[0], r.scale) for r in results])
    np.testing.assert_array_equal(calibration_scores(results), every)
    assert found.n == len(every) == sum(len(r.actual) for r in results)
    assert found.levels == (0.8, 0.95) and found.steps == 2
    # it serves reverting to the variance of every price the final model trains on
    assert found.volatility == Volatility.of(target)
    np.testing.assert_array_equal(found.upper[0.8], Calibration.fit(every, (0.8,), None).upper[0.8])
    # each fold's scores were scaled by its own rule: reverting to its training prices' variance
    for r in results:
        train = target[
            prices.index.get_loc(r.train_dates[0]) : prices.index.get_loc(r.train_dates[1]) + 1
        ]
        assert r.volatility == Volatility.of(train) and r.scale.shape == (len(r.actual), 2)
    assert (found.lower[0.95] < found.lower[0.8]).all()
    assert (found.upper[0.95] > found.upper[0.8]).all()
    # a level too few forecasts calibrate (here 0.999 needs 1000 or more) is left out
    assert calibrated(window, prices, results, (0.8, 0.999)).interval_levels == (0.8,)
    assert calibrated(window, prices, results, (0.999,)).calibration_ is None


def test_bounds_are_the_forecast_plus_quantiles_times_the_windows_volatility(prices, target, folds):
    window, results = folds
    forecaster = calibrated(window, prices, results)
    found = forecaster.calibration_
    out = forecaster.predict(prices)
    assert list(out.columns) == ["forecast", "lower_80", "upper_80", "lower_95", "upper_95"]
    (scale,) = Volatility.of(target).scale(target[None, -window.lookback :], 2)
    # step 1: tomorrow's volatility alone, whatever the long run
    (today,) = Volatility(0.0, persistence=1.0).scale(target[None, -window.lookback :], 1)
    assert scale[0] == pytest.approx(today[0])
    point = out["forecast"].to_numpy()
    np.testing.assert_allclose(out["lower_80"], point + found.lower[0.8] * scale)
    np.testing.assert_allclose(out["upper_95"], point + found.upper[0.95] * scale)
    assert np.isfinite(out.to_numpy()).all()
    assert (out["lower_95"] <= out["lower_80"]).all() and (out["lower_80"] <= point).all()
    assert (point <= out["upper_80"]).all() and (out["upper_80"] <= out["upper_95"]).all()


def test_the_calibration_is_saved_beside_the_weights_and_loads_back(
    tmp_path, prices, target, folds
):
    window, results = folds
    forecaster = calibrated(window, prices, results)
    forecaster.save(tmp_path / "m")
    saved = json.loads((tmp_path / "m" / CALIBRATION_FILE).read_text())
    assert saved["volatility"]["halflife"] == 11.2 and saved["volatility"]["persistence"] == 0.9
    assert saved["volatility"]["estimator"] == "absolute"
    assert saved["volatility"]["long_run_variance"] == Volatility.of(target).long_run
    assert [e["level"] for e in saved["levels"]] == [0.8, 0.95]
    loaded = Forecaster.load(tmp_path / "m")
    assert loaded.interval_levels == (0.8, 0.95)
    np.testing.assert_allclose(loaded.predict(prices), forecaster.predict(prices), rtol=1e-6)
    # saved without a calibration: no file, no intervals
    Forecaster(window, TINY_LSTM, TINY_TRAIN).fit(prices).save(tmp_path / "plain")
    assert not (tmp_path / "plain" / CALIBRATION_FILE).exists()
    assert list(Forecaster.load(tmp_path / "plain").predict(prices).columns) == ["forecast"]


def test_levels_a_request_may_ask_for(prices, target, folds):
    window, results = folds
    forecaster = Forecaster(window, TINY_LSTM, TINY_TRAIN).fit(prices)
    assert forecaster.check_level(None) is None  # no intervals, none asked: fine
    with pytest.raises(ValueError, match="level=0.8 is not available: this model has no cali"):
        forecaster.check_level(0.8)
    forecaster = calibrated(window, prices, results)
    assert forecaster.check_level(None) == 0.8 and forecaster.check_level(0.95) == 0.95
    with pytest.raises(ValueError, match=r"level=0.9 is not calibrated .* available: 0.8, 0.95"):
        forecaster.check_level(0.9)
    with pytest.raises(ValueError, match=r"calibration scores of shape \(50, 3\); this model fore"):
        forecaster.fit(prices, calibration_scores=np.zeros((50, 3)))


def test_steps_rolled_past_the_calibrated_horizon_have_no_bounds(prices):
    window = WindowConfig(lookback=15, horizon=2)
    forecaster = Forecaster(window, LSTMConfig(hidden_sizes=(8,), head="per_step"), TINY_TRAIN)
    forecaster.fit(
        prices, calibration_scores=np.random.default_rng(0).normal(size=(99, 2)), levels=(0.8,)
    )
    out = forecaster.predict(prices, horizon=4)
    assert out["lower_80"].notna().tolist() == [True, True, False, False]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0.01, 0.99), min_size=2, max_size=19, unique=True),
    st.integers(0, 10_000),
)
def test_served_quantiles_never_cross(quantiles, seed):
    from forecast.intervals import Calibration, Volatility

    rng = np.random.default_rng(seed)
    calibration = Calibration.fit(rng.standard_t(4, (150, 3)), (0.8,), Volatility(4e-4))
    asked = tuple(sorted(quantiles))
    windows = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (5, 40)), axis=1))
    points = windows[:, -1:] * np.exp(rng.normal(0, 0.01, (5, 3)))
    values = calibration.quantiles(points, windows, asked)
    stacked = np.stack([values[q] for q in asked])  # (Q, N, H)
    assert (np.diff(stacked, axis=0) >= 0).all()
