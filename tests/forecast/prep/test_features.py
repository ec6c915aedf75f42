import numpy as np
import pandas as pd
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


def test_range_set_reads_a_days_range_and_its_overnight_gap_across_a_split():
    index = pd.DatetimeIndex(["2020-01-02", "2020-01-03", "2020-01-06"], name="date")
    prices = pd.DataFrame(
        {
            "open": [100.0, 102.0, 51.5],  # a 2:1 split before the third day
            "high": [103.0, 105.0, 53.0],
            "low": [99.0, 101.0, 50.0],
            "close": [102.0, 104.0, 52.0],
            "adj_close": [51.0, 52.0, 52.0],
            "volume": [1e6, 1e6, 2e6],
        },
        index=index,
    )
    features = build_features(prices, "range")
    assert features.columns == ("log_return", "hl_range", "oc_move", "gap")
    assert features.values.shape == (2, 4) and list(features.index) == list(index[1:])
    expected = [
        [np.log(52 / 51), np.log(105 / 101), np.log(104 / 102), np.log(102 / 102)],
        [np.log(52 / 52), np.log(53 / 50), np.log(52 / 51.5), np.log(51.5 / 52)],
    ]
    np.testing.assert_allclose(features.values, expected, rtol=1e-6)  # the split is no gap
