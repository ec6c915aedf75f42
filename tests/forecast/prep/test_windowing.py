import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecast.prep.encoding import WindowEncoder
from forecast.prep.windowing import make_windows


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
    assert X.shape == ((rows - lookback - horizon) // stride + 1, lookback, n_features)
    assert y.shape == (len(X), horizon)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)


def test_windows_are_views_not_copies():
    features = np.random.default_rng(0).normal(size=(1000, 3))
    X, y = make_windows(features, features[:, 0].copy(), 60, 5)
    assert np.shares_memory(X, features)
    assert not X.flags.writeable


def test_one_dimensional_features_are_one_column():
    X, _ = make_windows(np.arange(10.0), np.arange(10.0), 3, 1)
    assert X.shape == (7, 3, 1)


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
    scaler=st.sampled_from(["window", "minmax", "log_return"]),
)
def test_the_encoders_windows_at_any_origins_match_a_plain_loop(
    data, rows, lookback, horizon, scaler
):
    """The path training, CV and serving take: WindowEncoder.encode -> make_windows."""
    features = 50 + np.arange(rows * 2, dtype=np.float64).reshape(rows, 2) % 7
    target = features[:, 0] * 1.5
    encoder = WindowEncoder(scaler=scaler, lookback=lookback, horizon=horizon)
    encoder.fit(features, target)
    first = encoder.first_origin
    drawn = data.draw(st.sets(st.integers(first, rows - horizon), min_size=1, max_size=20))
    evenly = data.draw(st.booleans(), label="evenly spaced")
    origins = np.arange(first, rows - horizon + 1, 2) if evenly else np.array(sorted(drawn))
    encoded = encoder.encode(features, target, origins)
    z_features, z_target = encoder._rows(features, target)
    at = origins - encoder.offset  # model-space rows
    for i, t in enumerate(at):
        window = z_features[t - lookback : t]
        if scaler == "window":
            window = window / window[-1] - 1
        np.testing.assert_allclose(encoded.X[i], window.astype(np.float32), rtol=1e-6)
        expected_y = z_target[t : t + horizon]
        steps = z_target[t - lookback + 1 : t + 1]
        if scaler == "window":
            expected_y, steps = expected_y / target[t - 1] - 1, steps / target[t - 1] - 1
        np.testing.assert_allclose(encoded.y[i], expected_y, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(encoded.y_steps[i], steps, rtol=1e-9, atol=1e-12)


def test_evenly_spaced_origins_cut_views_and_others_a_gather():
    rows = np.random.default_rng(0).normal(size=(200, 3))
    target = rows[:, 0].copy()
    X, y = make_windows(rows, target, 20, 2, origins=np.arange(30, 150, 3))
    assert np.shares_memory(X, rows) and np.shares_memory(y, target)
    X, _ = make_windows(rows, target, 20, 2, origins=np.array([30, 31, 40]))
    assert not np.shares_memory(X, rows)
    np.testing.assert_array_equal(X[2], rows[20:40])
    # a forecast beyond the data: its window ends with the last row, and there is no target
    X, y = make_windows(rows, target, 20, 2, origins=range(200, 201), targets=False)
    assert y is None and np.shares_memory(X, rows)
    np.testing.assert_array_equal(X[0], rows[-20:])
    with pytest.raises(ValueError, match=r"origins must lie in \[20, 198\]; got 199..199"):
        make_windows(rows, target, 20, 2, origins=[199])


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
