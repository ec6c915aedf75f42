"""`load_prices`: prices for a ticker from the cache, Yahoo, a CSV file or the bundled samples."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from forecast.config import SOURCES
from forecast.data.cache import CachedPrices, PriceCache
from forecast.data.csvfile import read_price_csv
from forecast.data.errors import DataUnavailableError, PriceDataError, UnknownTickerError
from forecast.data.frame import clip_dates, parse_date, validate_prices
from forecast.data.sample import SAMPLE_TICKERS, read_sample
from forecast.data.tickers import normalize_ticker
from forecast.data.yahoo import download_yahoo

log = logging.getLogger(__name__)

# relative change of an overlapping adj_close that means Yahoo re-based the adjustment
_ADJUSTMENT_TOLERANCE = 1e-6


def load_prices(
    ticker: str,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    source: str = "auto",
    *,
    csv_path: str | Path | None = None,
    feature_set: str | None = None,
    data_dir: str | Path | None = None,
    today: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Validated daily prices for `ticker` between `start` and `end` (inclusive).

    source: "auto" (fresh cache -> Yahoo -> stale cache -> bundled sample), "yahoo" (download,
    updating the cache), "cache" (offline, cached only), "csv" (`csv_path`), "sample".
    A CSV needs a date, a close and the columns `feature_set` reads (all of them when None);
    the columns it lacks are filled from the close (see frame.complete_columns).
    Raises DataUnavailableError (UnknownTickerError for unknown symbols) when no source has
    prices, and PriceDataError for malformed prices or arguments.
    """
    symbol = normalize_ticker(ticker)
    first, last = parse_date(start, "start"), parse_date(end, "end")
    if first is not None and last is not None and first > last:
        raise PriceDataError(f"start={first:%Y-%m-%d} is after end={last:%Y-%m-%d}")
    if source not in SOURCES:
        raise PriceDataError(f"source={source!r} is not one of {', '.join(SOURCES)}")
    if source == "csv":
        if csv_path is None:
            raise PriceDataError("source='csv' needs csv_path (the CLI's --csv PATH)")
        frame = validate_prices(read_price_csv(csv_path, symbol, feature_set), symbol, "csv")
    elif source == "sample":
        frame = validate_prices(read_sample(symbol), symbol, "sample")
    elif csv_path is not None:
        raise PriceDataError(f"csv_path is only used with source='csv'; got source={source!r}")
    else:
        today = pd.Timestamp.now().normalize() if today is None else today.normalize()
        frame = _cached_or_downloaded(symbol, first, last, source, PriceCache(data_dir), today)
    return _clipped(frame, first, last)


def _clipped(
    frame: pd.DataFrame, start: pd.Timestamp | None, end: pd.Timestamp | None
) -> pd.DataFrame:
    out = clip_dates(frame, start, end)
    if out.empty:
        raise PriceDataError(
            f"{frame.attrs['ticker']} ({frame.attrs['source']}): no prices between "
            f"{'the beginning' if start is None else f'{start:%Y-%m-%d}'} and "
            f"{'today' if end is None else f'{end:%Y-%m-%d}'}; available "
            f"{frame.index[0]:%Y-%m-%d} to {frame.index[-1]:%Y-%m-%d}"
        )
    return out


def last_closed_day(today: pd.Timestamp, end: pd.Timestamp | None) -> pd.Timestamp:
    """The latest weekday whose close should exist: before today, and not after `end`."""
    latest = today - pd.offsets.BDay(1)
    if end is not None and end < latest:
        latest = end if end.dayofweek < 5 else end - pd.offsets.BDay(1)
    return pd.Timestamp(latest).normalize()


def _starts_early(cached: CachedPrices, start: pd.Timestamp | None) -> bool:
    """Whether the cached file was fetched from `start` or earlier."""
    return cached.history_start is None or (start is not None and cached.history_start <= start)


def _covers(cached: CachedPrices, start: pd.Timestamp | None, latest: pd.Timestamp) -> bool:
    return _starts_early(cached, start) and cached.frame.index[-1] >= latest


def _cached_or_downloaded(
    ticker: str,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    source: str,
    cache: PriceCache,
    today: pd.Timestamp,
) -> pd.DataFrame:
    cached = cache.read(ticker)
    if source == "cache":
        if cached is None:
            raise DataUnavailableError(
                f"{ticker}: nothing cached under {cache.data_dir}; load it once with "
                "source='yahoo' or 'auto'"
            )
        return cached.frame
    if (
        source == "auto"
        and cached is not None
        and _covers(cached, start, last_closed_day(today, end))
    ):
        return cached.frame
    try:
        return _download_into_cache(ticker, start, end, cached, cache)
    except DataUnavailableError as err:
        if source == "yahoo" or isinstance(err, UnknownTickerError) and cached is None:
            raise
        return _offline_fallback(ticker, cached, err)


def _download_into_cache(
    ticker: str,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    cached: CachedPrices | None,
    cache: PriceCache,
) -> pd.DataFrame:
    """Fetch only what the cache lacks, merge, store atomically, return the merged frame."""
    if cached is not None and _starts_early(cached, start):
        old = cached.frame
        # one overlapping day tells whether Yahoo re-based adj_close (a dividend or split since)
        fresh = download_yahoo(ticker, old.index[-1], end, allow_empty=True)
        if fresh.empty:
            frame = old.copy()
            frame.attrs = {"ticker": ticker, "source": "yahoo"}
            return frame
        fresh = validate_prices(fresh, ticker, "yahoo")
        if not _rebased(old, fresh):
            merged = pd.concat([old, fresh])
            merged = merged[~merged.index.duplicated(keep="last")].sort_index()
            return _store(merged, ticker, cached.history_start, cache)
        log.info("%s: adjusted prices changed since they were cached; refetching all", ticker)
        start = cached.history_start
    return _store(download_yahoo(ticker, start, end), ticker, start, cache)


def _rebased(old: pd.DataFrame, fresh: pd.DataFrame) -> bool:
    common = old.index.intersection(fresh.index)
    if common.empty:
        return False
    before, after = old.loc[common, "adj_close"], fresh.loc[common, "adj_close"]
    return bool(((after - before).abs() > _ADJUSTMENT_TOLERANCE * before).any())


def _store(
    raw: pd.DataFrame, ticker: str, history_start: pd.Timestamp | None, cache: PriceCache
) -> pd.DataFrame:
    frame = validate_prices(raw, ticker, "yahoo")
    cache.write(frame, ticker, history_start)
    return frame


def _offline_fallback(
    ticker: str, cached: CachedPrices | None, cause: DataUnavailableError
) -> pd.DataFrame:
    if cached is not None:
        log.warning(
            "%s; using %s's cached prices, which end on %s (stale)",
            cause,
            ticker,
            f"{cached.frame.index[-1]:%Y-%m-%d}",
        )
        return cached.frame
    if ticker in SAMPLE_TICKERS:
        frame = validate_prices(read_sample(ticker), ticker, "sample")
        log.warning(
            "%s. USING THE BUNDLED SAMPLE PRICES OF %s (%s to %s), NOT CURRENT DATA",
            cause,
            ticker,
            f"{frame.index[0]:%Y-%m-%d}",
            f"{frame.index[-1]:%Y-%m-%d}",
        )
        return frame
    raise DataUnavailableError(
        f"no prices available: {cause}. Nothing is cached for it and it is not a "
        f"bundled sample ticker ({', '.join(SAMPLE_TICKERS)}). Pass your own file with "
        "--source csv --csv PATH, or use a sample ticker"
    ) from cause
