import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecast.prep.encoding import WindowEncoder
from forecast.prep.windowing import (
    last_window,
    make_windows,
    n_windows,
    next_step_targets,
    step_targets_at,
    targets_at,
    windows_at,
)


def loop_windows(features, target, lookback, horizon, stride):
    X, y = [], []
    for i in range(0, len(features) - lookback - horizon + 1, stride):
        X.append(features[i : i + lookback])
        y.append(target[i + lookback : i + lookback + horizon])
    return np.array(X), np.array(y)


@given(
    rows=st.integers(2, 80),
    n_features=st.integers(1, 4),
    lookback=st.integers(1, 30),
    horizon=st.integers(1, 10),
    stride=st.integers(1, 5),
)
def test_windows_match_a_plain_loop(rows, n_features, lookback, horizon, stride):
    features = np.arange(rows * n_features, dtype=np.float32).reshape(rows, n_features)
    target = np.arange(rows, dtype=np.float64) * 10
    if rows < lookback + horizon:
        with pytest.raises(
            ValueError, match=f"need at least {lookback + horizon} rows; got {rows}"
        ):
            make_windows(features, target, lookback, horizon, stride)
        return
    X, y = make_windows(features, target, lookback, horizon, stride)
    X_ref, y_ref = loop_windows(features, target, lookback, horizon, stride)
    assert X.shape == (n_windows(rows, lookback, horizon, stride), lookback, n_features)
    assert y.shape == (len(X), horizon)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    steps = next_step_targets(target, lookback, horizon, stride)
    assert steps.shape == (len(X), lookback)
    for i in range(len(X)):
        np.testing.assert_array_equal(steps[i], target[i * stride + 1 : i * stride + lookback + 1])
    np.testing.assert_array_equal(steps[:, -1], y[:, 0])


def test_windows_are_views_not_copies():
    features = np.random.default_rng(0).normal(size=(1000, 3))
    X, y = make_windows(features, features[:, 0].copy(), 60, 5)
    assert np.shares_memory(X, features)
    assert not X.flags.writeable


def test_one_dimensional_features_are_one_column():
    X, _ = make_windows(np.arange(10.0), np.arange(10.0), 3, 1)
    assert X.shape == (7, 3, 1)


def test_last_window():
    features = np.arange(20.0).reshape(10, 2)
    np.testing.assert_array_equal(last_window(features, 3), features[None, 7:])
    with pytest.raises(ValueError, match="lookback=11 need at least 11 rows; got 10"):
        last_window(features, 11)


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("lookback", {"lookback": 0, "horizon": 1}),
        ("horizon", {"lookback": 5, "horizon": -1}),
        ("stride", {"lookback": 5, "horizon": 1, "stride": 0}),
        ("lookback", {"lookback": 2.5, "horizon": 1}),
    ],
)
def test_sizes_below_one_are_refused(name, kwargs):
    with pytest.raises(ValueError, match=f"{name} must be an integer >= 1; got"):
        make_windows(np.zeros((50, 1)), np.zeros(50), **kwargs)


def test_too_few_rows_says_how_many():
    with pytest.raises(
        ValueError, match="^lookback=60 and horizon=5 need at least 65 rows; got 40$"
    ):
        make_windows(np.zeros((40, 2)), np.zeros(40), 60, 5)


def test_mismatched_lengths():
    with pytest.raises(ValueError, match=r"one value per feature row \(50\); got shape \(49,\)"):
        make_windows(np.zeros((50, 2)), np.zeros(49), 10, 1)


def test_nan_rows_are_named():
    features = np.zeros((50, 2))
    features[[7, 9], 1] = np.nan
    with pytest.raises(ValueError, match=r"features has NaN or infinite values in rows \[7, 9\]"):
        make_windows(features, np.zeros(50), 10, 1)
    target = np.zeros(50)
    target[3] = np.inf
    with pytest.raises(ValueError, match=r"target has NaN or infinite values in rows \[3\]"):
        make_windows(np.zeros((50, 2)), target, 10, 1)


def test_three_dimensional_features_are_refused():
    with pytest.raises(
        ValueError, match=r"features must be 2-D \(T, F\) or 1-D \(T,\); got shape \(5, 2, 2\)"
    ):
        make_windows(np.zeros((5, 2, 2)), np.zeros(5), 2, 1)


@given(
    data=st.data(),
    rows=st.integers(15, 80),  # at least lookback + horizon
    lookback=st.integers(1, 10),
    horizon=st.integers(1, 5),
)
def test_windows_at_any_origins_match_a_plain_loop(data, rows, lookback, horizon):
    features = np.arange(rows * 2, dtype=np.float64).reshape(rows, 2)
    target = np.arange(rows, dtype=np.float64) * 10
    origins = np.array(
        sorted(
            data.draw(
                st.sets(st.integers(lookback, rows - horizon), min_size=1, max_size=20),
                label="origins",
            )
        )
    )
    X = windows_at(features, origins, lookback)
    y = targets_at(target, origins, horizon)
    steps = step_targets_at(target, origins, lookback)
    for i, t in enumerate(origins):
        np.testing.assert_array_equal(X[i], features[t - lookback : t])
        np.testing.assert_array_equal(y[i], target[t : t + horizon])
        np.testing.assert_array_equal(steps[i], target[t - lookback + 1 : t + 1])


@pytest.mark.parametrize("scaler", ["minmax", "standard", "log_return"])
def test_the_encoder_cuts_the_windows_make_windows_cuts(scaler):
    # the encoder (training, CV, Forecaster, service) and make_windows share one code path
    values = np.linspace(10.0, 30.0, 50)[:, None] + np.sin(np.arange(50))[:, None]
    target = values[:, 0].copy()
    encoder = WindowEncoder(scaler=scaler, lookback=8, horizon=3).fit(values, target)
    origins = np.arange(encoder.first_origin, len(target) - 3 + 1)
    encoded = encoder.encode(values, target, origins)
    z_values = encoder.feature_scaler_.transform(values)
    z_target = encoder.target_scaler_.transform(target)
    X, y = make_windows(z_values, z_target, 8, 3)
    np.testing.assert_allclose(encoded.X, X.astype(np.float32))
    np.testing.assert_allclose(encoded.y, y)
