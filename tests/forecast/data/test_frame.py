import numpy as np
import pandas as pd
import pytest

from forecast.data import PriceDataError, normalize_ticker, validate_prices


def frame(rows: int = 5, start: str = "2024-01-01") -> pd.DataFrame:
    index = pd.bdate_range(start, periods=rows, name="date")
    close = np.linspace(10, 14, rows)
    return pd.DataFrame(
        {
            "open": close,
            "high": close + 1,
            "low": close - 1,
            "close": close,
            "adj_close": close,
            "volume": np.full(rows, 1000.0),
        },
        index=index,
    )


def test_valid_frame_gets_contract_shape_and_attrs():
    out = validate_prices(frame().astype({"volume": "int64"}), "AAPL", "csv")
    assert list(out.columns) == ["open", "high", "low", "close", "adj_close", "volume"]
    assert (out.dtypes == "float64").all()
    assert out.index.name == "date" and out.index.tz is None
    assert out.attrs == {"ticker": "AAPL", "source": "csv"}


def test_timezone_aware_index_becomes_naive_days():
    raw = frame()
    raw.index = raw.index.tz_localize("America/New_York") + pd.Timedelta(hours=9)
    out = validate_prices(raw, "AAPL", "yahoo")
    assert out.index.tz is None
    assert (out.index == out.index.normalize()).all()


def test_rows_with_missing_values_are_dropped_with_a_count(caplog):
    raw = frame()
    raw.iloc[1, 0] = np.nan
    raw.iloc[3, 5] = np.inf
    out = validate_prices(raw, "AAPL", "csv")
    assert len(out) == 3
    assert "dropped 2 rows with missing or infinite values (2024-01-02, 2024-01-04)" in caplog.text


def test_all_missing_is_empty_error():
    raw = frame() * np.nan
    with pytest.raises(PriceDataError, match=r"^AAPL \(csv\): no price rows$"):
        validate_prices(raw, "AAPL", "csv")


def test_missing_column_is_named():
    with pytest.raises(PriceDataError, match=r"missing columns \['adj_close'\]"):
        validate_prices(frame().drop(columns="adj_close"), "AAPL", "csv")


def test_duplicate_dates_are_named():
    raw = frame()
    raw.index = raw.index[[0, 1, 1, 2, 3]]
    with pytest.raises(PriceDataError, match=r"AAPL \(csv\): duplicate dates 2024-01-02$"):
        validate_prices(raw, "AAPL", "csv")


def test_unsorted_dates_are_named():
    raw = frame().iloc[[0, 2, 1, 3, 4]]
    with pytest.raises(PriceDataError, match="strictly increasing; out of order at 2024-01-02"):
        validate_prices(raw, "AAPL", "csv")


@pytest.mark.parametrize("column", ["open", "high", "low", "close", "adj_close"])
def test_non_positive_price_names_column_and_date(column):
    raw = frame()
    raw.loc[raw.index[2], column] = 0.0
    with pytest.raises(
        PriceDataError,
        match=rf"AAPL \(csv\): column '{column}' must be positive; got non-positive values on 2024-01-03",
    ):
        validate_prices(raw, "AAPL", "csv")


def test_negative_volume_is_named():
    raw = frame()
    raw.loc[raw.index[4], "volume"] = -1
    with pytest.raises(PriceDataError, match="'volume' must be >= 0; negative on 2024-01-05"):
        validate_prices(raw, "AAPL", "csv")


def test_high_below_low_is_named():
    raw = frame()
    raw.loc[raw.index[0], "high"] = 5
    with pytest.raises(PriceDataError, match="'high' is below 'low' on 2024-01-01"):
        validate_prices(raw, "AAPL", "csv")


def test_many_bad_dates_are_summarized():
    raw = frame(rows=9)
    raw["volume"] = -1
    with pytest.raises(PriceDataError, match="2024-01-05 and 4 more"):
        validate_prices(raw, "AAPL", "csv")


@pytest.mark.parametrize(
    "good,expected",
    [("aapl", "AAPL"), (" brk-b ", "BRK-B"), ("^gspc", "^GSPC"), ("7203.T", "7203.T")],
)
def test_tickers_are_normalized(good, expected):
    assert normalize_ticker(good) == expected


@pytest.mark.parametrize("bad", ["", "../../etc", "AA/PL", "A" * 16, "ÄPPL", "a b", "..", 42])
def test_bad_tickers_are_refused_by_name(bad):
    with pytest.raises(PriceDataError, match="ticker"):
        normalize_ticker(bad)
