"""The price refresher under a controllable clock: a refresh that fails for an hour."""

import logging

import pandas as pd

from forecast.data import DataUnavailableError, load_prices
from service.prices import PriceBook


class Clock:
    def __init__(self, now):
        self.now = pd.Timestamp(now, tz="UTC")

    def __call__(self):
        return self.now


def test_an_hour_of_failed_refreshes_backs_off_warns_per_interval_and_keeps_the_prices(caplog):
    prices = load_prices("AAPL", source="sample")  # ends Friday 2013-03-01
    clock, calls, failing = Clock("2013-03-04 14:00"), [], []

    def load(ticker):
        calls.append(clock.now)
        if failing:
            raise DataUnavailableError(f"{ticker}: Yahoo Finance is unreachable")
        return prices

    book = PriceBook(
        load, interval_s=3600, retry_s=30, after_close_s=900, warn_interval_s=600, clock=clock
    )
    caplog.set_level(logging.WARNING, logger="service.prices")
    assert book.refresh("AAPL") is not None
    failing.append(True)
    clock.now += pd.Timedelta(seconds=1)
    start = clock.now
    assert book.refresh("AAPL") is None
    while clock.now + pd.Timedelta(seconds=book.seconds_to_next()) <= start + pd.Timedelta(hours=1):
        clock.now += pd.Timedelta(seconds=book.seconds_to_next())
        assert book.refresh_due() == {"AAPL": False}
    waits = [(t - start).total_seconds() for t in calls[1:]]
    assert waits == [0, 30, 90, 210, 450, 930, 1890]  # backoff doubling from 30 s
    warned = [r for r in caplog.records if "price refresh failed" in r.getMessage()]
    assert len(warned) == 3  # at 0, 930 and 1890 s: once per 600 s interval
    latest = book.get("AAPL")
    assert latest is not None and latest.as_of == prices.index[-1]  # the last good prices
    assert not book.stale(latest)  # Friday's close is still the last one
    clock.now = pd.Timestamp("2013-03-04 21:30", tz="UTC")  # Monday's close is out
    assert book.stale(latest)
    assert book.seconds_to_next() == 0  # and a refresh is due right after it


def test_a_refresh_is_due_after_each_nyse_close_and_every_interval():
    prices = load_prices("AAPL", source="sample")
    clock = Clock("2026-11-27 15:00")  # the day after Thanksgiving: closes early, 18:00 UTC
    book = PriceBook(
        lambda _: prices,
        interval_s=86_400,
        retry_s=30,
        after_close_s=900,
        warn_interval_s=600,
        clock=clock,
    )
    book.refresh("AAPL")
    assert book.schedule["AAPL"].next_at == pd.Timestamp("2026-11-27 18:15", tz="UTC")
    clock.now = pd.Timestamp("2026-11-27 18:15", tz="UTC")
    assert book.refresh_due() == {"AAPL": True}  # over the weekend the interval comes first
    assert book.schedule["AAPL"].next_at == pd.Timestamp("2026-11-28 18:15", tz="UTC")
    book.interval = pd.Timedelta(hours=6)
    clock.now = pd.Timestamp("2026-11-28 18:15", tz="UTC")
    book.refresh_due()
    assert book.schedule["AAPL"].next_at == pd.Timestamp("2026-11-29 00:15", tz="UTC")
