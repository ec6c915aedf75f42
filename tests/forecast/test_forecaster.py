import json
import os
import stat
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
import torch

from forecast.calendar import next_trading_days
from forecast.config import CVConfig, LSTMConfig, TrainConfig, WindowConfig
from forecast.data import PriceDataError, load_prices
from forecast.data.history import prices_from_rows
from forecast.evaluation.conformal import FoldIntervals
from forecast.forecaster import Forecaster
from forecast.prep.encoding import WindowEncoder
from forecast.prep.features import Features, build_features
from tests.helpers import cross_validate

TINY_LSTM = LSTMConfig(hidden_sizes=(8,))
TINY_TRAIN = TrainConfig(epochs=2, batch_size=64, device="cpu", threads=1, progress=False)


@pytest.fixture(scope="module")
def prices():
    return load_prices("MSFT", start="2010-01-01", end="2012-12-31", source="sample")


@pytest.mark.parametrize(
    "scaler", ["minmax", "standard", "window", "log_return", "robust", "maxabs"]
)
def test_encoder_targets_decode_back_to_prices(scaler):
    rng = np.random.default_rng(0)
    target = 50 * np.exp(rng.normal(0, 0.02, 300).cumsum())
    values = np.stack([target, target * 1.01], axis=1)
    encoder = WindowEncoder(scaler=scaler, lookback=10, horizon=3).fit(values[:200], target[:200])
    origins = np.arange(250, 298)
    encoded = encoder.encode(values, target, origins)
    assert encoded.X.shape == (48, 10, 2) and encoded.y.shape == (48, 3)
    expected = np.stack([target[t : t + 3] for t in origins])
    np.testing.assert_allclose(encoder.decode(encoded.y, encoded.anchor), expected, rtol=1e-9)
    np.testing.assert_array_equal(encoded.anchor, target[origins - 1])
    rebuilt = WindowEncoder.from_dict(json.loads(json.dumps(encoder.to_dict())))
    np.testing.assert_allclose(rebuilt.decode(encoded.y, encoded.anchor), expected, rtol=1e-9)


@pytest.mark.parametrize("scaler", ["robust", "quantile", "power"])
def test_a_scikit_learn_scaler_trains_saves_and_serves_a_residual_model(tmp_path, prices, scaler):
    window = WindowConfig(lookback=20, horizon=2, scaler=scaler)
    forecaster = Forecaster(window, TINY_LSTM, TINY_TRAIN).fit(prices)
    assert forecaster.model_.fitted.naive_column == 0  # the target's scaled input: residual
    loaded = Forecaster.load(forecaster.save(tmp_path / scaler))
    pd.testing.assert_frame_equal(loaded.predict(prices), forecaster.predict(prices))
    assert np.isfinite(loaded.predict(prices)["forecast"]).all()


def test_encoder_windows_see_only_rows_before_the_origin():
    target = np.arange(1.0, 101.0)
    encoder = WindowEncoder(scaler="minmax", lookback=5, horizon=2).fit(
        target[:, None][:50], target[:50]
    )
    encoded = encoder.encode(target[:, None], target, np.array([60]))
    seen = encoder.feature_scaler_.inverse_transform(encoded.X[0])
    np.testing.assert_allclose(seen[:, 0], target[55:60], rtol=1e-6)  # rows 55..59, never 60


def test_encoder_origin_bounds():
    target = np.arange(1.0, 51.0)
    encoder = WindowEncoder(scaler="log_return", lookback=5, horizon=2).fit(target[:, None], target)
    with pytest.raises(ValueError, match=r"origins must lie in \[6, 48\] for 50 rows"):
        encoder.encode(target[:, None], target, np.array([5]))


def test_fit_predict_in_price_units_on_trading_days(prices):
    forecaster = Forecaster(WindowConfig(lookback=20, horizon=3), TINY_LSTM, TINY_TRAIN).fit(prices)
    out = forecaster.predict(prices)
    assert list(out.columns) == ["forecast"] and len(out) == 3
    assert list(out.index) == list(next_trading_days(prices.index[-1], 3))
    last = prices["adj_close"].iloc[-1]
    assert ((out["forecast"] > 0.5 * last) & (out["forecast"] < 1.5 * last)).all()
    assert len(forecaster.predict(prices, horizon=2)) == 2
    with pytest.raises(ValueError, match="horizon=4 must be between 1 and 3"):
        forecaster.predict(prices, horizon=4)
    with pytest.raises(ValueError, match="needs at least 20 rows of prices; got 10"):
        forecaster.predict(prices.iloc[:10])


@pytest.mark.parametrize("features", ["close", "returns"])
def test_one_pass_over_many_series_matches_predict_for_each(prices, features):
    window = WindowConfig(lookback=12, horizon=3, features=features, scaler="standard")
    # returns hold no price: no naive input to add to
    lstm = LSTMConfig(hidden_sizes=(8,), residual=features != "returns")
    forecaster = Forecaster(window, lstm, TINY_TRAIN).fit(prices)
    frames = [prices, prices.iloc[:-40], prices.iloc[-window.history_rows :]]
    together = forecaster.forecast([forecaster.features(p) for p in frames], 2)
    for frame, out in zip(frames, together, strict=True):
        alone = forecaster.predict(frame, horizon=2)
        # one batch or three: float sums may differ in the last bits
        np.testing.assert_allclose(out.values, alone["forecast"].to_numpy(), rtol=1e-6)
        assert list(out.dates) == list(alone.index) == list(next_trading_days(frame.index[-1], 2))
    # only the last history_rows rows are read: a long and a cut history forecast alike
    np.testing.assert_array_equal(together[0].values, together[2].values)


def test_forecast_refuses_features_the_model_cannot_read(prices):
    forecaster = Forecaster(WindowConfig(lookback=12, horizon=2), TINY_LSTM, TINY_TRAIN).fit(prices)
    short = forecaster.features(prices)
    short = Features(
        short.values[:5], short.target[:5], short.columns, "adj_close", short.index[:5]
    )
    with pytest.raises(
        ValueError, match=r"x 5 rows; the model reads \('adj_close',\) x at least 12"
    ):
        forecaster.forecast([short])
    other = build_features(prices, "returns", "adj_close")
    with pytest.raises(ValueError, match="the model reads"):
        forecaster.forecast([other])


def test_unfitted_forecaster_refuses():
    with pytest.raises(RuntimeError, match="not fitted yet"):
        Forecaster().predict(pd.DataFrame())


@pytest.mark.parametrize(
    "features,scaler,head",
    [
        ("close", "window", "direct"),
        ("ohlcv", "standard", "seq2seq"),
        ("returns", "standard", "direct"),
        ("close", "log_return", "per_step"),
    ],
)
def test_save_load_round_trip(tmp_path, prices, features, scaler, head):
    window = WindowConfig(lookback=15, horizon=2, features=features, scaler=scaler)
    # returns hold no price: no naive input to add to
    lstm = LSTMConfig(hidden_sizes=(8,), head=head, residual=features != "returns")
    forecaster = Forecaster(window, lstm, TINY_TRAIN).fit(prices)
    forecaster.save(tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == [
        "forecaster.json",
        "model.safetensors",
    ]
    loaded = Forecaster.load(tmp_path / "model")
    pd.testing.assert_frame_equal(loaded.predict(prices), forecaster.predict(prices))
    assert loaded.trained_until_ == prices.index[-1]


def test_saved_files_follow_the_umask(tmp_path, prices):
    forecaster = Forecaster(WindowConfig(lookback=10), TINY_LSTM, TINY_TRAIN).fit(prices)
    previous = os.umask(0o022)
    try:
        path = forecaster.save(tmp_path / "m")
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.iterdir()}
    assert modes == {"forecaster.json": 0o644, "model.safetensors": 0o644}


def test_load_on_cpu_weights_saved_from_another_device(tmp_path, prices):
    forecaster = Forecaster(WindowConfig(lookback=10), TINY_LSTM, TINY_TRAIN).fit(prices)
    path = forecaster.save(tmp_path / "m")
    # safetensors stores device-free tensors and load maps them to the CPU
    from safetensors.torch import load_file

    assert all(t.device.type == "cpu" for t in load_file(str(path / "model.safetensors")).values())
    assert Forecaster.load(path).model_.head.weight.device == torch.device("cpu")


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no saved Forecaster"):
        Forecaster.load(tmp_path)


def test_prices_from_rows():
    rows = pd.DataFrame({"date": ["2024-01-02", "2024-01-03"], "close": [10.0, 11.0]})
    frame = prices_from_rows(rows, "close")
    assert list(frame["adj_close"]) == [10.0, 11.0] and frame.attrs["source"] == "history"
    with pytest.raises(
        PriceDataError,
        match=r"history lacks columns \['open', 'high', 'low', 'volume'\], which features 'ohlcv'",
    ):
        prices_from_rows(rows, "ohlcv")
    with pytest.raises(PriceDataError, match="infinite prices"):
        prices_from_rows(rows.assign(close=[10.0, np.inf]), "close")
    with pytest.raises(PriceDataError, match="unreadable dates"):
        prices_from_rows(rows.assign(date=["2024-01-02", "soon"]), "close")


CV = CVConfig(n_folds=2, test_size=40, repeats=2)


def test_cv_reports_model_and_every_baseline_per_fold(prices):
    results = list(
        cross_validate(prices, WindowConfig(lookback=20, horizon=2), TINY_LSTM, TINY_TRAIN, CV)
    )
    assert len(results) == 2
    first = results[0]
    assert set(first.metrics) == {"model", "naive", "drift", "seasonal_naive", "mean"}
    assert first.metrics["naive"]["skill"] == 0.0
    assert len(first.forecasts) == 2 and first.forecasts[0].shape == (39, 2)
    assert first.fold.test_end == results[1].fold.test_start
    assert first.fold.gap == 1  # horizon - 1
    assert len(first.per_step["model"]["rmse"]) == 2
    assert first.diagnosis.label in {"no-signal", "underfit", "overfit", "good"}
    # residual by default: every fit's chosen epoch validates at least as well as naive (epoch 0)
    for result in results:
        assert len(result.naive_val_losses) == len(result.best_val_losses) == 2
        assert all(
            np.isfinite(naive) and best <= naive
            for best, naive in zip(result.best_val_losses, result.naive_val_losses, strict=True)
        )


def test_changing_prices_after_a_fold_leaves_its_forecasts_alone(prices):
    """No look-ahead: rows after fold 0's test block cannot change fold 0."""
    window = WindowConfig(lookback=20, horizon=2, scaler="minmax")
    before = next(cross_validate(prices, window, TINY_LSTM, TINY_TRAIN, CV))
    changed = prices.copy()
    after_block = changed.index[before.fold.test_end :]
    changed.loc[after_block, ["open", "high", "low", "close", "adj_close"]] *= 3.0
    after = next(cross_validate(changed, window, TINY_LSTM, TINY_TRAIN, CV))
    for a, b in zip(before.forecasts, after.forecasts, strict=True):
        np.testing.assert_array_equal(a, b)
    assert before.metrics == after.metrics


def test_fold_intervals_come_from_earlier_folds_only(prices):
    window = WindowConfig(lookback=20, horizon=2)
    cv = CVConfig(n_folds=3, test_size=40, repeats=1, levels=(0.8, 0.95))
    first, second, third = cross_validate(prices, window, TINY_LSTM, TINY_TRAIN, cv)
    assert first.intervals == {}  # nothing earlier to calibrate on
    assert set(second.intervals) == {
        "model",
        "model_constant",
        "naive",
        "model_garch",
        "model_lstm",
        "model_aci",
    }
    figures = second.intervals["model"][0.95]
    assert set(figures) == {"coverage", "width", "width_pct", "winkler"}
    assert all(len(steps) == 2 for steps in figures.values())  # per horizon step
    assert all(0 <= c <= 1 for c in figures["coverage"])
    assert third.intervals["model"][0.95]["width"][0] > third.intervals["model"][0.8]["width"][0]
    # no look-ahead: prices after the second fold's block change neither its forecasts nor
    # its intervals
    changed = prices.copy()
    after_block = changed.index[second.fold.test_end :]
    changed.loc[after_block, ["open", "high", "low", "close", "adj_close"]] *= 3.0
    again = list(cross_validate(changed, window, TINY_LSTM, TINY_TRAIN, cv))[1]
    np.testing.assert_array_equal(again.forecasts[0], second.forecasts[0])
    np.testing.assert_array_equal(again.garch_scale, second.garch_scale)  # the garch rule too
    assert again.garch == second.garch
    np.testing.assert_array_equal(again.lstm_scale, second.lstm_scale)  # and the lstm head
    assert again.intervals == second.intervals


def test_a_folds_calibration_uses_no_residual_of_its_own_block():
    rng = np.random.default_rng(0)
    earlier = FoldIntervals((0.9,))
    other = FoldIntervals((0.9,))
    block = (rng.normal(100, 1, (50, 1)), np.full((50, 1), 100.0), np.full((50, 1), 100.0))
    for intervals in (earlier, other):
        intervals.evaluate(*block, np.ones(50), np.ones(50))
    point = np.full((60, 1), 100.0)
    one = earlier.evaluate(rng.normal(100, 1, (60, 1)), point, point, np.ones(60), np.ones(60))
    wild = other.evaluate(rng.normal(100, 30, (60, 1)), point, point, np.ones(60), np.ones(60))
    # the same calibration (fold 1's scores), whatever this block holds: equal widths
    assert one["model"][0.9]["width"] == wild["model"][0.9]["width"]
    assert one["model"][0.9]["coverage"][0] > wild["model"][0.9]["coverage"][0]


def test_gap_below_horizon_minus_one_is_refused(prices):
    with pytest.raises(ValueError, match="gap=0 must be at least horizon - 1 = 2 rows"):
        next(
            cross_validate(
                prices,
                WindowConfig(lookback=10, horizon=3),
                TINY_LSTM,
                TINY_TRAIN,
                CVConfig(n_folds=2, test_size=20, gap=0),
            )
        )


def test_per_step_head_rolls_beyond_its_trained_horizon(prices):
    window = WindowConfig(lookback=15, horizon=2)
    forecaster = Forecaster(window, LSTMConfig(hidden_sizes=(8,), head="per_step"), TINY_TRAIN).fit(
        prices
    )
    assert forecaster.max_horizon == 60
    long = forecaster.predict(prices, horizon=5)
    assert len(long) == 5
    np.testing.assert_allclose(
        long["forecast"].iloc[:2], forecaster.predict(prices)["forecast"], rtol=1e-6
    )
    direct = Forecaster(window, TINY_LSTM, TINY_TRAIN).fit(prices)
    with pytest.raises(ValueError, match="horizon=3 must be between 1 and 2"):
        direct.predict(prices, horizon=3)


def test_the_fitted_network_takes_its_width_horizon_and_naive_level_from_the_data(tmp_path, prices):
    window = WindowConfig(lookback=10, horizon=5, features="ohlcv", scaler="log_return")
    lstm = LSTMConfig(hidden_sizes=(4,), head="seq2seq")
    forecaster = Forecaster(window, lstm, TINY_TRAIN).fit(prices)
    fitted = forecaster.model_.fitted
    assert (fitted.n_features, fitted.horizon, fitted.naive_column) == (5, 5, None)
    assert fitted.naive_level == pytest.approx(forecaster.encoder_.naive_level())
    assert forecaster.lstm == lstm  # the user's choices, untouched
    saved = json.loads((forecaster.save(tmp_path / "m") / "forecaster.json").read_text())
    assert saved["format_version"] == 3 and saved["lstm"] == json.loads(json.dumps(asdict(lstm)))
    assert saved["fitted"]["n_features"] == 5 and saved["fitted"]["horizon"] == 5
