import json

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from forecast.config import SKLEARN_SCALERS
from forecast.prep.scaling import (
    SCALERS,
    LogReturnScaler,
    WindowScaler,
    make_scaler,
    scaler_from_dict,
)
from forecast.prep.windowing import make_windows

prices = arrays(
    np.float64,
    st.tuples(st.integers(2, 60), st.integers(1, 4)),
    elements=st.floats(0.01, 1e5, allow_nan=False, allow_infinity=False),
)
reals = arrays(
    np.float64,
    st.tuples(st.integers(1, 60), st.integers(1, 4)),
    elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)


def roundtrip(scaler):
    """The scaler rebuilt from its JSON."""
    return scaler_from_dict(json.loads(json.dumps(scaler.to_dict())))


@pytest.mark.parametrize("kind", ["minmax", "standard", "robust", "maxabs"])
@given(values=reals)
def test_row_scalers_invert(kind, values):
    scaler = make_scaler(kind).fit(values)
    scaled = scaler.transform(values)
    np.testing.assert_allclose(scaler.inverse_transform(scaled), values, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(
        roundtrip(scaler).inverse_transform(scaled), values, rtol=1e-9, atol=1e-6
    )


@given(values=prices, lookback=st.integers(1, 10))
def test_window_scaler_inverts_per_window(values, lookback):
    assume(len(values) >= lookback + 1)
    X, _ = make_windows(values, values[:, 0], lookback, 1)
    scaler = WindowScaler().fit(values)
    scaled = scaler.transform(X)
    np.testing.assert_allclose(scaled[:, -1, :], 0.0, atol=1e-12)
    np.testing.assert_allclose(scaler.inverse_transform(scaled, anchor=X[:, -1, :]), X, rtol=1e-9)
    np.testing.assert_allclose(
        roundtrip(scaler).inverse_transform(scaled, X[:, -1, :]), X, rtol=1e-9
    )


@given(values=prices)
def test_log_return_rebuilds_prices_from_the_last_observed(values):
    scaler = LogReturnScaler().fit(values)
    scaled = scaler.transform(values)
    assert scaled.shape == (len(values) - 1, values.shape[1])
    np.testing.assert_allclose(
        scaler.inverse_transform(scaled, anchor=values[0]), values[1:], rtol=1e-9
    )
    np.testing.assert_allclose(
        roundtrip(scaler).inverse_transform(scaled, values[0]), values[1:], rtol=1e-9
    )


def test_log_return_inverts_horizon_windows_per_anchor():
    series = np.exp(np.random.default_rng(1).normal(0, 0.02, 200).cumsum()) * 50
    X, y = make_windows(series, series, 20, 5)
    scaler = LogReturnScaler().fit(series[:150])
    paths = np.concatenate([X[:, -1:, :], y[:, :, None]], axis=1)  # (N, 1 + H, 1)
    scaled = scaler.transform(paths)
    assert scaled.shape == (len(X), 5, 1)
    np.testing.assert_allclose(scaler.inverse_transform(scaled, X[:, -1, :])[..., 0], y, rtol=1e-9)


def test_one_dimensional_target_keeps_its_shape():
    target = np.array([1.0, 2.0, 4.0])
    scaler = make_scaler("minmax").fit(target)
    np.testing.assert_allclose(scaler.transform(target), [0, 1 / 3, 1])
    assert scaler.inverse_transform(scaler.transform(target)).shape == (3,)


def test_fitted_state_ends_in_underscore_and_comes_from_training_rows_only():
    train, later = np.array([[1.0], [3.0]]), np.array([[100.0]])
    scaler = make_scaler("minmax").fit(train)
    fitted = scaler.transformer_
    assert fitted.data_min_.tolist() == [1.0] and fitted.data_max_.tolist() == [3.0]
    # values after the training rows are scaled with the training range, not refitted
    assert scaler.transform(later).tolist() == [[49.5]]
    assert not hasattr(scaler, "fit_transform")


def test_constant_column_does_not_divide_by_zero():
    values = np.full((5, 1), 7.0)
    for kind in SKLEARN_SCALERS:
        scaler = make_scaler(kind).fit(values)
        assert np.isfinite(scaler.transform(values)).all()
        np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(values)), values)


@pytest.mark.parametrize("kind", list(SCALERS))
def test_unfitted_scaler_refuses_to_transform(kind):
    with pytest.raises(RuntimeError, match=f"this {kind} scaler is not fitted yet; call fit"):
        make_scaler(kind).transform(np.ones((3, 1)))


def test_wrong_feature_count():
    scaler = make_scaler("standard").fit(np.ones((4, 2)))
    with pytest.raises(
        ValueError, match=r"standard scaler was fitted on 2 features; got values of shape \(4, 3\)"
    ):
        scaler.transform(np.ones((4, 3)))


def test_fit_refuses_nan_and_empty():
    with pytest.raises(ValueError, match=r"NaN or infinite values in rows \[1\]"):
        make_scaler("minmax").fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match=r"with T >= 1; got \(0, 2\)"):
        make_scaler("minmax").fit(np.zeros((0, 2)))


@pytest.mark.parametrize("kind", list(SKLEARN_SCALERS))
def test_scikit_learn_scalers_are_scikit_learns_saved_as_json(kind):
    import sklearn.preprocessing

    rng = np.random.default_rng(0)
    rows = np.exp(rng.normal(0, 0.02, (300, 3)).cumsum(axis=0)) * [50.0, 10.0, 5.0]
    windows = rows[np.arange(240)[:, None] + np.arange(60)]  # (N, L, F), the encoder's shape
    scaler = make_scaler(kind).fit(rows[:200])  # training rows only
    assert type(scaler.transformer_) is getattr(sklearn.preprocessing, SKLEARN_SCALERS[kind])
    expected = scaler.transformer_.transform(windows.reshape(-1, 3)).reshape(windows.shape)
    np.testing.assert_array_equal(scaler.transform(windows), expected)
    saved = json.dumps(scaler.to_dict())  # plain JSON: no pickle
    loaded = scaler_from_dict(json.loads(saved))
    np.testing.assert_array_equal(loaded.transform(windows), expected)
    # within the training range every one inverts (quantile clips beyond it, by design, and
    # interpolates between its quantiles; power's lambda of -8 on these prices leaves ~0.05% in
    # scikit-learn itself)
    seen = windows[:140]
    rtol = 1e-3 if kind in ("quantile", "power") else 1e-6
    np.testing.assert_allclose(loaded.inverse_transform(expected[:140]), seen, rtol=rtol)


@pytest.mark.parametrize("kind", ["minmax", "standard"])
def test_models_saved_by_stockcasts_own_scalers_load_as_the_same_transform(kind):
    rows = np.array([[1.0, 10.0], [3.0, 10.0], [2.0, 14.0]])
    old = {
        "minmax": {"feature_range": [0.0, 1.0], "data_min_": [1.0, 10.0], "data_max_": [3.0, 14.0]},
        "standard": {"mean_": [2.0, 34 / 3], "scale_": list(np.std(rows, axis=0))},
    }[kind]
    loaded = scaler_from_dict({"kind": kind, "n_features_in_": 2, **old})
    np.testing.assert_allclose(loaded.transform(rows), make_scaler(kind).fit(rows).transform(rows))


def test_an_unknown_saved_transformer_is_never_built():
    with pytest.raises(ValueError, match="saved transformer 'os.system' is not one of MinMaxSc"):
        scaler_from_dict(
            {"kind": "minmax", "n_features_in_": 1, "sklearn": {"class": "os.system", "params": {}}}
        )


def test_log_return_needs_positive_prices_and_an_anchor():
    with pytest.raises(ValueError, match="needs positive values; got minimum -1.0"):
        LogReturnScaler().fit(np.array([[1.0], [-1.0]]))
    scaler = LogReturnScaler().fit(np.array([[1.0], [2.0]]))
    with pytest.raises(ValueError, match="needs anchor=the last observed value"):
        scaler.inverse_transform(np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"anchor must have shape \(3, 1\)"):
        scaler.inverse_transform(np.zeros((3, 2, 1)), anchor=np.ones(2))


def test_window_scaler_needs_windows_and_nonzero_last_values():
    scaler = WindowScaler().fit(np.ones((3, 1)))
    with pytest.raises(ValueError, match=r"windows \(N, L, F\); got shape \(3, 1\)"):
        scaler.transform(np.ones((3, 1)))
    with pytest.raises(ValueError, match="it is 0 at"):
        scaler.transform(np.zeros((2, 3, 1)))


def test_unknown_kinds():
    with pytest.raises(
        ValueError, match="scaler='median' is not one of minmax, standard, window, log_return, ro"
    ):
        make_scaler("median")
    with pytest.raises(ValueError, match="saved scaler kind 'median'"):
        scaler_from_dict({"kind": "median"})
