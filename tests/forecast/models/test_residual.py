"""The residual network: untrained it is the naive forecast; training keeps a fit only where
validation says it beats naive; old saved models still load as the level networks they were."""

import json

import numpy as np
import pandas as pd
import pytest

from forecast.config import LSTMConfig, TrainConfig, WindowConfig, naive_column
from forecast.data import load_prices
from forecast.forecaster import Forecaster
from forecast.prep.features import build_features

UNTRAINED = TrainConfig(epochs=0, device="cpu", threads=1, progress=False)
SHORT = TrainConfig(epochs=3, batch_size=64, device="cpu", threads=1, progress=False)


@pytest.fixture(scope="module")
def prices():
    return load_prices("IBM", start="2009-01-01", end="2012-12-31", source="sample")


def naive_of(prices, target="adj_close"):
    return prices[target].to_numpy()


@pytest.mark.parametrize(
    "features,scaler,head",
    [
        ("close", "window", "direct"),
        ("close", "minmax", "direct"),
        ("close", "standard", "seq2seq"),
        ("close", "log_return", "direct"),
        ("ohlcv", "standard", "direct"),
        ("ohlcv", "window", "seq2seq"),
        ("close", "window", "per_step"),
        ("close", "minmax", "per_step"),
        ("close", "log_return", "per_step"),
    ],
)
def test_an_untrained_residual_network_is_the_naive_forecast(prices, features, scaler, head):
    window = WindowConfig(lookback=15, horizon=3, features=features, scaler=scaler)
    lstm = LSTMConfig(hidden_sizes=(8,), head=head)
    forecaster = Forecaster(window, lstm, UNTRAINED).fit(prices)
    assert forecaster.result_.best_epoch == 0
    out = forecaster.predict(prices)
    last = prices["adj_close"].iloc[-1]
    np.testing.assert_allclose(out["forecast"].to_numpy(), [last] * 3, rtol=1e-5)
    # from every origin, not only the last one
    features_ = build_features(prices, features, "adj_close")
    origins = np.arange(len(features_.target) - 200, len(features_.target) - 3)
    got = forecaster.forecast_origins(features_.values, features_.target, origins)
    expected = np.repeat(features_.target[origins - 1][:, None], 3, axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_training_keeps_the_naive_forecast_unless_validation_says_otherwise(prices):
    # a random walk: nothing to learn, so validation should keep (or barely leave) naive
    walk = prices.copy()
    steps = np.random.default_rng(3).normal(0, 0.01, len(walk))
    walk["adj_close"] = walk["close"] = 50 * np.exp(np.cumsum(steps))
    fitted = Forecaster(WindowConfig(lookback=20), LSTMConfig(hidden_sizes=(8,)), SHORT)
    result = fitted.fit(walk).result_
    assert np.isfinite(result.naive_val_loss)
    assert result.best_val_loss <= result.naive_val_loss
    if result.best_epoch == 0:  # kept naive: the forecast is the last price
        np.testing.assert_allclose(
            fitted.predict(walk)["forecast"], walk["adj_close"].iloc[-1], rtol=1e-6
        )

    # a series with a pattern beats naive on validation, and training keeps the better epoch
    t = np.arange(len(prices))
    wave = prices.copy()
    wave["adj_close"] = wave["close"] = 100 + 10 * np.sin(2 * np.pi * t / 25)
    learned = Forecaster(
        WindowConfig(lookback=30, scaler="standard"),
        LSTMConfig(hidden_sizes=(16,)),
        TrainConfig(epochs=8, batch_size=32, device="cpu", threads=1, progress=False),
    ).fit(wave)
    assert learned.result_.best_epoch > 0
    assert learned.result_.best_val_loss < 0.5 * learned.result_.naive_val_loss


def test_the_old_behaviour_stays_selectable(prices):
    window = WindowConfig(lookback=15)
    level = Forecaster(window, LSTMConfig(hidden_sizes=(8,), residual=False), UNTRAINED)
    out = level.fit(prices).predict(prices)["forecast"].to_numpy()
    assert not np.allclose(out, prices["adj_close"].iloc[-1], rtol=1e-6)  # random, not naive
    assert np.isnan(level.result_.naive_val_loss)


def test_residual_needs_the_naive_forecast_somewhere():
    lstm = LSTMConfig(hidden_sizes=(8,))
    with pytest.raises(ValueError, match="residual=True needs the target among the inputs"):
        naive_column(lstm, WindowConfig(features="returns", scaler="standard"))
    with pytest.raises(ValueError, match="residual=True needs the target among the inputs"):
        Forecaster(WindowConfig(features="returns", scaler="standard"), lstm)
    level = LSTMConfig(residual=False)
    assert naive_column(level, WindowConfig(features="returns", scaler="standard")) is None
    assert naive_column(lstm, WindowConfig(features="returns", scaler="window")) is None
    assert naive_column(lstm, WindowConfig(features="ohlcv", scaler="minmax")) == 3
    assert naive_column(lstm, WindowConfig(features="ohlcv", scaler="robust")) == 3


def test_a_model_saved_before_residual_networks_loads_as_the_level_network(tmp_path, prices):
    window = WindowConfig(lookback=15)
    old = Forecaster(window, LSTMConfig(hidden_sizes=(8,), residual=False), SHORT).fit(prices)
    path = old.save(tmp_path / "old")
    saved = json.loads((path / "forecaster.json").read_text())
    # format 1: the network's fitted fields inside "lstm", and no residual networks
    saved["lstm"].update(saved.pop("fitted"))
    for key in ("residual", "naive_column", "naive_level"):  # what format 1 did not have
        del saved["lstm"][key]
    saved["format_version"] = 1
    (path / "forecaster.json").write_text(json.dumps(saved))
    loaded = Forecaster.load(path)
    assert loaded.model_.config.residual is False
    pd.testing.assert_frame_equal(loaded.predict(prices), old.predict(prices))
    saved["format_version"] = 4
    (path / "forecaster.json").write_text(json.dumps(saved))
    with pytest.raises(ValueError, match=r"format_version 4; this Stockcast reads \(1, 2, 3\)"):
        Forecaster.load(path)


def test_a_model_saved_with_its_fitted_fields_in_lstm_loads_alike(tmp_path, prices):
    """Format 2 kept the width, horizon and naive forecast inside "lstm"."""
    model = Forecaster(
        WindowConfig(lookback=15, scaler="standard"), LSTMConfig(hidden_sizes=(8,)), SHORT
    )
    path = model.fit(prices).save(tmp_path / "v2")
    saved = json.loads((path / "forecaster.json").read_text())
    saved["lstm"].update(saved.pop("fitted"))
    saved["format_version"] = 2
    (path / "forecaster.json").write_text(json.dumps(saved))
    loaded = Forecaster.load(path)
    assert loaded.model_.fitted == model.model_.fitted and loaded.lstm == model.lstm
    pd.testing.assert_frame_equal(loaded.predict(prices), model.predict(prices))
