import re

import pandas as pd
import pytest

from forecast.data import PriceDataError, load_prices

YAHOO_CSV = """Date,Open,High,Low,Close,Adj Close,Volume
2024-01-02,187.15,188.44,183.89,185.64,184.94,82488700
2024-01-03,184.22,185.88,183.43,184.25,183.55,58414500
2024-01-04,182.15,183.09,180.88,181.91,181.22,71983600
"""


def write(tmp_path, text, name="prices.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yahoo_format_csv_loads(tmp_path):
    prices = load_prices("aapl", source="csv", csv_path=write(tmp_path, YAHOO_CSV))
    assert prices.attrs == {"ticker": "AAPL", "source": "csv"}
    assert prices.loc["2024-01-03", "adj_close"] == pytest.approx(183.55)
    assert prices.loc["2024-01-04", "volume"] == 71983600


def test_our_lower_case_names_load(tmp_path):
    text = YAHOO_CSV.replace(
        "Date,Open,High,Low,Close,Adj Close,Volume", "date,open,high,low,close,adj_close,volume"
    )
    assert len(load_prices("AAPL", source="csv", csv_path=write(tmp_path, text))) == 3


def test_newest_first_export_is_reordered(tmp_path):
    lines = YAHOO_CSV.strip().split("\n")
    text = "\n".join([lines[0], *reversed(lines[1:])])
    prices = load_prices("AAPL", source="csv", csv_path=write(tmp_path, text))
    assert prices.index.is_monotonic_increasing


def test_missing_adj_close_uses_close_with_a_warning(tmp_path, caplog):
    text = "\n".join(
        ",".join(c for i, c in enumerate(line.split(",")) if i != 5)
        for line in YAHOO_CSV.strip().split("\n")
    )
    prices = load_prices("AAPL", source="csv", csv_path=write(tmp_path, text))
    assert (prices["adj_close"] == prices["close"]).all()
    assert "has no 'Adj Close' column" in caplog.text


def test_missing_columns_are_listed(tmp_path):
    path = write(tmp_path, "Date,Close\n2024-01-02,1\n")
    with pytest.raises(PriceDataError, match=r"lacks columns \['open', 'high', 'low', 'volume'\]"):
        load_prices("AAPL", source="csv", csv_path=path)


def test_bad_dates_name_the_line(tmp_path):
    path = write(tmp_path, YAHOO_CSV.replace("2024-01-03", "not-a-date"))
    with pytest.raises(
        PriceDataError, match=r"unreadable dates in column 'Date' on lines 3: \['not-a-date'\]"
    ):
        load_prices("AAPL", source="csv", csv_path=path)


def test_text_in_numbers_names_column_and_line(tmp_path):
    path = write(tmp_path, YAHOO_CSV.replace("183.43", "n/a?"))
    with pytest.raises(
        PriceDataError, match=r"non-numeric values in column 'low' on lines 3: \['n/a\?'\]"
    ):
        load_prices("AAPL", source="csv", csv_path=path)


def test_empty_file(tmp_path):
    with pytest.raises(PriceDataError, match="is empty"):
        load_prices("AAPL", source="csv", csv_path=write(tmp_path, ""))


def test_header_only(tmp_path):
    with pytest.raises(PriceDataError, match="has a header but no rows"):
        load_prices("AAPL", source="csv", csv_path=write(tmp_path, YAHOO_CSV.split("\n")[0] + "\n"))


def test_missing_file(tmp_path):
    with pytest.raises(PriceDataError, match="does not exist"):
        load_prices("AAPL", source="csv", csv_path=tmp_path / "nope.csv")


def test_binary_file(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(PriceDataError, match="AAPL: CSV file"):
        load_prices("AAPL", source="csv", csv_path=path)


def test_validation_applies_to_csv(tmp_path):
    path = write(tmp_path, YAHOO_CSV.replace("182.15", "-1"))
    with pytest.raises(
        PriceDataError,
        match="column 'open' must be positive; got non-positive values on 2024-01-04",
    ):
        load_prices("AAPL", source="csv", csv_path=path)


def test_thousands_separators_are_read(tmp_path):
    path = write(tmp_path, YAHOO_CSV.replace("82488700", '"82,488,700"'))
    assert load_prices("AAPL", source="csv", csv_path=path)["volume"].iloc[0] == 82488700


def test_start_end_apply_to_csv(tmp_path):
    prices = load_prices(
        "AAPL", start="2024-01-03", source="csv", csv_path=write(tmp_path, YAHOO_CSV)
    )
    assert prices.index[0] == pd.Timestamp("2024-01-03")


@pytest.mark.parametrize("close", ["Close", "Adj Close"])
def test_a_date_and_close_csv_is_enough_for_the_close_features(tmp_path, close):
    path = write(tmp_path, f"Date,{close}\n2024-01-02,185.64\n2024-01-03,184.25\n")
    prices = load_prices("AAPL", source="csv", csv_path=path, feature_set="close")
    assert list(prices["close"]) == list(prices["adj_close"]) == [185.64, 184.25]
    assert (prices["open"] == prices["close"]).all() and (prices["volume"] == 0).all()


@pytest.mark.parametrize(
    "feature_set,missing",
    [(None, "['open', 'high', 'low', 'volume']"), ("returns", "['high', 'low', 'volume']")],
)
def test_the_columns_the_features_read_are_required_and_named(tmp_path, feature_set, missing):
    path = write(tmp_path, "Date,Close\n2024-01-02,1\n")
    with pytest.raises(PriceDataError, match=re.escape(f"lacks columns {missing}, which")):
        load_prices("AAPL", source="csv", csv_path=path, feature_set=feature_set)
