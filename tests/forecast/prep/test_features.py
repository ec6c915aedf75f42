import numpy as np
import pytest

from forecast.data import load_prices
from forecast.prep.features import build_features


@pytest.fixture(scope="module")
def prices():
    return load_prices("AAPL", start="2012-01-01", end="2012-12-31", source="sample")


def test_close_set_is_the_target_alone(prices):
    features = build_features(prices, "close")
    assert features.columns == ("adj_close",)
    assert features.values.dtype == np.float32 and features.values.shape == (len(prices), 1)
    np.testing.assert_allclose(features.values[:, 0], prices["adj_close"], rtol=1e-6)
    np.testing.assert_array_equal(features.target, prices["adj_close"].to_numpy())


def test_ohlcv_is_split_adjusted_with_log_volume(prices):
    raw = prices.copy()
    raw["close"] = raw["close"] * 2  # unadjusted close, as Yahoo reports before a 2:1 split
    features = build_features(raw, "ohlcv")
    assert features.columns == ("open", "high", "low", "close", "log_volume")
    np.testing.assert_allclose(features.values[:, 0], prices["open"] / 2, rtol=1e-6)
    np.testing.assert_allclose(features.values[:, 3], prices["adj_close"], rtol=1e-6)
    np.testing.assert_allclose(features.values[:, 4], np.log1p(prices["volume"]), rtol=1e-6)


def test_returns_set_drops_the_first_day(prices):
    features = build_features(prices, "returns")
    assert features.columns == ("log_return", "hl_range", "log_volume")
    assert len(features.values) == len(prices) - 1
    assert features.index[0] == prices.index[1]
    expected = np.log(prices["adj_close"].iloc[1] / prices["adj_close"].iloc[0])
    assert features.values[0, 0] == pytest.approx(expected, rel=1e-5)
    np.testing.assert_array_equal(features.target, prices["adj_close"].to_numpy()[1:])


def test_target_can_be_close(prices):
    assert build_features(prices, target="close").target_name == "close"


def test_unknown_names_are_refused(prices):
    with pytest.raises(ValueError, match="feature_set='rsi' is not one of close, ohlcv, returns"):
        build_features(prices, "rsi")
    with pytest.raises(ValueError, match="target='vwap' is not one of adj_close, close"):
        build_features(prices, target="vwap")
