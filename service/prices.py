"""The latest prices of the served tickers, kept in memory and refreshed off the request path.

A request reads `PriceBook.get` (a dict lookup). The refresher loads a ticker at start-up, after
each NYSE close (plus `after_close_s`, when the close is published), and every `interval_s`. A
failed load keeps the last good prices, backs off (retry_s, doubling up to interval_s) and warns
once per ticker per `warn_interval_s`. Only the first request for a ticker not loaded yet waits,
and at most `first_load_timeout_s`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from forecast.calendar import last_closed_session, next_close
from forecast.data import DataUnavailableError, PriceDataError

log = logging.getLogger("service.prices")

Clock = Callable[[], pd.Timestamp]  # now, tz-aware UTC


def utc_now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


class PricesLoading(RuntimeError):
    """The first load of a ticker's prices is still running (a 503 with Retry-After)."""


def _still_loading(ticker: str, timeout_s: float) -> PricesLoading:
    return PricesLoading(
        f"the prices of {ticker} are still loading (waited {timeout_s:g} s, "
        "STOCKCAST_FIRST_LOAD_TIMEOUT_S); retry shortly"
    )


@dataclass(frozen=True)
class Latest:
    """A ticker's prices as last loaded: `as_of` is their last day."""

    prices: pd.DataFrame
    source: str
    loaded_at: pd.Timestamp

    @property
    def as_of(self) -> pd.Timestamp:
        return self.prices.index[-1]


@dataclass
class _Schedule:
    next_at: pd.Timestamp
    failures: int = 0
    warned_at: pd.Timestamp | None = None
    error: Exception | None = None


class PriceBook:
    """Tickers -> Latest, and when each is next refreshed. `load(ticker)` returns a validated
    price frame (load_prices with the service's source) or raises DataUnavailableError or
    PriceDataError; `clock` gives now (tests pass a controllable one)."""

    def __init__(
        self,
        load: Callable[[str], pd.DataFrame],
        *,
        interval_s: float,
        retry_s: float,
        after_close_s: float,
        warn_interval_s: float,
        clock: Clock = utc_now,
    ) -> None:
        self.load, self.clock = load, clock
        self.interval = pd.Timedelta(seconds=interval_s)
        self.retry = pd.Timedelta(seconds=retry_s)
        self.after_close = pd.Timedelta(seconds=after_close_s)
        self.warn_interval = pd.Timedelta(seconds=warn_interval_s)
        self.latest: dict[str, Latest] = {}
        self.schedule: dict[str, _Schedule] = {}
        self.on_refresh: list[Callable[[str, Latest], None]] = []  # after each successful load
        self.changed = threading.Event()  # a ticker was added: the refresher recomputes its wait
        self._loading: dict[str, concurrent.futures.Future[Latest | None]] = {}
        self._guard = threading.Lock()
        self._refreshing: dict[str, threading.Lock] = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="prices")

    def get(self, ticker: str) -> Latest | None:
        """The prices in memory, or None when the ticker has not loaded yet (no I/O)."""
        return self.latest.get(ticker)

    def stale(self, latest: Latest) -> bool:
        """Whether `latest` is older than the last NYSE session that has closed."""
        return latest.as_of < last_closed_session(self.clock())

    def add(self, ticker: str) -> concurrent.futures.Future[Latest | None]:
        """Start loading `ticker` (once; later calls get the same load) and refresh it from now
        on; the future answers with its prices, or None when the load failed."""
        with self._guard:
            loading = self._loading.get(ticker)
            if loading is not None:
                return loading
            # not due while this load runs: it sets the next time when it ends
            self.schedule.setdefault(ticker, _Schedule(self.clock() + self.interval))
            future = self._pool.submit(self.refresh, ticker)
            self._loading[ticker] = future
        future.add_done_callback(lambda _: self._loaded(ticker))
        self.changed.set()
        return future

    def _loaded(self, ticker: str) -> None:
        with self._guard:
            self._loading.pop(ticker, None)

    async def first(self, ticker: str, timeout_s: float) -> Latest:
        """The ticker's prices, loading them first when they are not in memory: waits at most
        `timeout_s` (PricesLoading after it; the load goes on), and raises the load's error when
        it failed."""
        latest = self.latest.get(ticker)
        if latest is not None:
            return latest
        future = asyncio.wrap_future(self.add(ticker))
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            raise _still_loading(ticker, timeout_s) from None
        return self._require(ticker)

    def first_blocking(self, ticker: str, timeout_s: float) -> Latest:
        """`first` for a worker thread."""
        latest = self.latest.get(ticker)
        if latest is not None:
            return latest
        try:
            self.add(ticker).result(timeout_s)
        except concurrent.futures.TimeoutError:
            raise _still_loading(ticker, timeout_s) from None
        return self._require(ticker)

    def _require(self, ticker: str) -> Latest:
        latest = self.latest.get(ticker)
        if latest is not None:
            return latest
        error = self.schedule[ticker].error
        raise DataUnavailableError(f"{ticker}: {error}") from error

    def refresh(self, ticker: str) -> Latest | None:
        """Load `ticker` now; keep the last good prices when that fails. Returns the new
        prices, or None on failure (logged, at most once per warn interval)."""
        with self._guard:
            lock = self._refreshing.setdefault(ticker, threading.Lock())
        with lock:  # one load of a ticker at a time: the refresher's and a first request's
            return self._refresh(ticker)

    def _refresh(self, ticker: str) -> Latest | None:
        now, plan = self.clock(), self.schedule.setdefault(ticker, _Schedule(self.clock()))
        try:
            prices = self.load(ticker)
        except (DataUnavailableError, PriceDataError, OSError) as err:
            plan.failures += 1
            plan.error = err
            backoff = min(self.retry * 2 ** (plan.failures - 1), self.interval)
            plan.next_at = min(now + backoff, self._after_next_close(now))
            if plan.warned_at is None or now - plan.warned_at >= self.warn_interval:
                kept = self.latest.get(ticker)
                log.warning(
                    "%s: price refresh failed (%s); %s; retrying in %s",
                    ticker,
                    err,
                    f"serving prices as of {kept.as_of:%Y-%m-%d}" if kept else "no prices yet",
                    backoff,
                )
                plan.warned_at = now
            return None
        latest = Latest(prices, str(prices.attrs.get("source", "?")), now)
        self.latest[ticker] = latest
        plan.failures, plan.error, plan.warned_at = 0, None, None
        plan.next_at = min(now + self.interval, self._after_next_close(now))
        for listener in self.on_refresh:
            try:
                listener(ticker, latest)
            except Exception:  # a listener's bug must not stop the refresher: logged, loudly
                log.exception("%s: after-refresh step %r failed", ticker, listener)
        return latest

    def _after_next_close(self, now: pd.Timestamp) -> pd.Timestamp:
        return next_close(now - self.after_close) + self.after_close

    def due(self) -> list[str]:
        """The tickers whose refresh time has come."""
        now = self.clock()
        return sorted(t for t, plan in self.schedule.items() if plan.next_at <= now)

    def refresh_due(self) -> dict[str, bool]:
        """Refresh every due ticker (the refresher's tick); ticker -> whether it succeeded."""
        return {ticker: self.refresh(ticker) is not None for ticker in self.due()}

    def seconds_to_next(self) -> float:
        """How long until the next ticker is due (0 when one is)."""
        if not self.schedule:
            return float("inf")
        soonest = min(plan.next_at for plan in self.schedule.values())
        return max((soonest - self.clock()).total_seconds(), 0.0)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
