import functools
import logging

import numpy as np
import pandas as pd
import pytest
from yahoo_replay import replay_session

from forecast.data import (
    SAMPLE_TICKERS,
    DataUnavailableError,
    PriceCache,
    PriceDataError,
    UnknownTickerError,
    load_prices,
    loader,
)
from forecast.data.sample import read_sample
from forecast.data.yahoo import download_yahoo

TODAY = pd.Timestamp("2012-07-02")  # a Monday: Friday 2012-06-29 is the last closed day


@pytest.fixture
def yahoo(monkeypatch):
    """Yahoo replayed from the sample data: unadjusted close x2 so adj_close != close."""
    history = read_sample("AAPL").loc[:"2012-06-29"].copy()
    history["close"] = history["close"] * 2
    session, adapter = replay_session({"AAPL": history})
    monkeypatch.setattr(
        loader,
        "download_yahoo",
        functools.partial(download_yahoo, session=session, preflight=False),
    )
    adapter.history = history
    return adapter


def test_sample_aapl_is_validated_split_adjusted_real_prices():
    prices = load_prices("AAPL", source="sample")
    assert len(prices) == 3270
    assert prices.index[0] == pd.Timestamp("2000-03-01")
    assert prices.index[-1] == pd.Timestamp("2013-03-01")
    assert prices.attrs == {"ticker": "AAPL", "source": "sample"}
    # AAPL split 2:1 on 2000-06-21 and 2005-02-28: adjusted closes never fall by half in a day
    daily = prices["close"].pct_change().dropna()
    assert daily.min() > -0.55
    np.testing.assert_allclose(prices["close"], prices["adj_close"])
    assert (prices["high"] >= prices["low"]).all()


@pytest.mark.parametrize("ticker", SAMPLE_TICKERS)
def test_every_sample_ticker_loads(ticker):
    assert len(load_prices(ticker, source="sample")) > 2000


def test_sample_respects_start_and_end_inclusive():
    prices = load_prices("MSFT", start="2010-01-04", end="2010-01-08", source="sample")
    assert list(prices.index.strftime("%d")) == ["04", "05", "06", "07", "08"]


def test_range_without_prices_says_what_is_available():
    with pytest.raises(PriceDataError, match="available 2000-03-01 to 2013-03-01"):
        load_prices("AAPL", start="2020-01-01", source="sample")


def test_start_after_end_is_refused():
    with pytest.raises(PriceDataError, match="start=2012-01-02 is after end=2011-01-01"):
        load_prices("AAPL", start="2012-01-02", end="2011-01-01", source="sample")


def test_bad_date_and_source_are_named():
    with pytest.raises(PriceDataError, match=r"start='yesterday-ish' is not a date"):
        load_prices("AAPL", start="yesterday-ish", source="sample")
    with pytest.raises(PriceDataError, match=r"source='bloomberg' is not one of auto, yahoo"):
        load_prices("AAPL", source="bloomberg")


def test_non_sample_ticker_in_sample_source():
    with pytest.raises(DataUnavailableError, match="no bundled sample prices for 'TSLA'"):
        load_prices("TSLA", source="sample")


def test_yahoo_offline_fails_fast_with_a_clear_error(data_dir, monkeypatch):
    import yfinance

    downloads = []  # yfinance.download waits 70-130 s on a stalled network: never reach it
    monkeypatch.setattr(yfinance, "download", lambda *a, **k: downloads.append(a))
    with pytest.raises(
        DataUnavailableError, match=r"cannot download AAPL: Yahoo Finance is unreachable"
    ):
        load_prices("AAPL", source="yahoo")
    assert downloads == []  # the preflight answered: no download was tried
    assert not (data_dir / "prices" / "AAPL.parquet").exists()


def test_auto_offline_falls_back_to_sample_loudly(data_dir, caplog):
    prices = load_prices("IBM")
    assert prices.attrs["source"] == "sample"
    assert "USING THE BUNDLED SAMPLE PRICES OF IBM (2000-03-01 to 2013-03-01)" in caplog.text


def test_auto_offline_unknown_ticker_tells_what_to_do(data_dir):
    with pytest.raises(DataUnavailableError) as err:
        load_prices("NVDA")
    message = str(err.value)
    assert "Yahoo Finance is unreachable" in message
    assert "--source csv --csv PATH" in message and "AAPL, MSFT, IBM, GOOG" in message


def test_yahoo_download_is_cached_with_our_columns(yahoo, data_dir):
    prices = load_prices("AAPL", source="yahoo", today=TODAY)
    assert prices.attrs == {"ticker": "AAPL", "source": "yahoo"}
    assert prices.index[-1] == pd.Timestamp("2012-06-29")
    np.testing.assert_allclose(prices["close"], yahoo.history["close"])
    np.testing.assert_allclose(prices["adj_close"], yahoo.history["adj_close"])
    cached = PriceCache(data_dir).read("AAPL")
    assert cached is not None and cached.history_start is None
    pd.testing.assert_frame_equal(cached.frame, prices, check_freq=False)


def test_fresh_cache_is_served_without_a_download(yahoo, data_dir):
    load_prices("AAPL", today=TODAY)
    asked = len(yahoo.chart_requests)
    prices = load_prices("AAPL", today=TODAY)
    assert len(yahoo.chart_requests) == asked
    assert prices.attrs["source"] == "cache"


def test_stale_cache_fetches_only_missing_dates_and_merges(yahoo, data_dir):
    full = yahoo.history
    yahoo.prices["AAPL"] = full.loc[:"2012-06-15"]
    load_prices("AAPL", today=pd.Timestamp("2012-06-18"))
    yahoo.prices["AAPL"] = full
    yahoo.chart_requests.clear()
    prices = load_prices("AAPL", today=TODAY)
    ticker, first, _ = yahoo.chart_requests[-1]
    assert first.normalize() == pd.Timestamp("2012-06-15")  # one day of overlap
    assert prices.index[-1] == pd.Timestamp("2012-06-29")
    assert len(prices) == len(full)
    assert PriceCache(data_dir).read("AAPL").frame.index[-1] == pd.Timestamp("2012-06-29")


def test_rebased_adjustment_triggers_a_full_refetch(yahoo, data_dir, caplog):
    full = yahoo.history
    yahoo.prices["AAPL"] = full.loc[:"2012-06-15"]
    load_prices("AAPL", today=pd.Timestamp("2012-06-18"))
    rebased = full.copy()
    rebased["adj_close"] *= 0.99  # a dividend re-bases every earlier adjusted close
    yahoo.prices["AAPL"] = rebased
    with caplog.at_level(logging.INFO):
        prices = load_prices("AAPL", today=TODAY)
    assert "adjusted prices changed since they were cached" in caplog.text
    np.testing.assert_allclose(prices["adj_close"], rebased["adj_close"])


def test_earlier_start_than_cached_refetches_from_start(yahoo, data_dir):
    load_prices("AAPL", start="2012-01-03", today=TODAY)
    assert load_prices("AAPL", start="2012-01-03", today=TODAY).index[0] == pd.Timestamp(
        "2012-01-03"
    )
    prices = load_prices("AAPL", start="2011-01-03", today=TODAY)
    assert prices.index[0] == pd.Timestamp("2011-01-03")
    assert PriceCache(data_dir).read("AAPL").history_start == pd.Timestamp("2011-01-03")


def test_stale_cache_is_used_offline_with_its_last_date(yahoo, data_dir, monkeypatch, caplog):
    load_prices("AAPL", today=TODAY)
    monkeypatch.setattr(loader, "download_yahoo", download_yahoo)  # real, offline
    prices = load_prices("AAPL", today=pd.Timestamp("2012-08-01"))
    assert prices.index[-1] == pd.Timestamp("2012-06-29")
    assert "cached prices, which end on 2012-06-29 (stale)" in caplog.text


def test_corrupt_cache_is_reported_and_refetched(yahoo, data_dir, caplog):
    load_prices("AAPL", today=TODAY)
    path = data_dir / "prices" / "AAPL.parquet"
    path.write_bytes(path.read_bytes()[:100])
    prices = load_prices("AAPL", today=TODAY)
    assert "is unreadable or invalid" in caplog.text
    assert prices.attrs["source"] == "yahoo" and len(prices) == len(yahoo.history)
    assert PriceCache(data_dir).read("AAPL") is not None


def test_corrupt_cache_offline_is_not_used(data_dir, caplog):
    path = data_dir / "prices" / "IBM.parquet"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PAR1 this is not parquet")
    prices = load_prices("IBM")
    assert prices.attrs["source"] == "sample"
    assert "unreadable or invalid" in caplog.text
    assert path.read_bytes() == b"PAR1 this is not parquet"  # nothing overwritten


def test_unknown_ticker_has_its_own_error(yahoo, data_dir):
    with pytest.raises(
        UnknownTickerError, match="no prices for ticker 'ZZZZ'.*unknown or delisted"
    ):
        load_prices("ZZZZ", today=TODAY)


def test_cache_source_reads_only_the_cache(data_dir):
    with pytest.raises(DataUnavailableError, match="nothing cached under"):
        load_prices("AAPL", source="cache")


def test_failed_cache_write_keeps_the_old_file(yahoo, data_dir, monkeypatch):
    load_prices("AAPL", today=TODAY)
    path = data_dir / "prices" / "AAPL.parquet"
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", crash)
    with pytest.raises(OSError, match="disk full"):
        PriceCache(data_dir).write(read_sample("AAPL"), "AAPL", None)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["AAPL.parquet"]


def test_csv_source_needs_a_path():
    with pytest.raises(PriceDataError, match="source='csv' needs csv_path"):
        load_prices("AAPL", source="csv")
