"""The service's side of the online loop: forecasts from its own prices, computed once per
(ticker, model version, as_of, horizon, level) and each new step recorded in the ledger; and,
after every price refresh, the outcomes of recorded steps and the live performance."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from forecast.calendar import last_closed_session
from forecast.online.ledger import ForecastRecord, Ledger, LedgerError
from forecast.online.performance import (
    DEFAULT_DAYS,
    NothingRecorded,
    VersionPerformance,
    performance_of,
)
from forecast.online.writer import LedgerWriter
from forecast.queries import Query
from forecast.tracking import ModelNotFoundError, RegistryUnavailableError
from forecast.tracking.cards import VersionCard
from service.forecasting import Prepared, RequestProblem, forecast_many
from service.models import LoadedModel
from service.prices import Latest, PriceBook
from service.schemas import ForecastRequest, ForecastResponse

log = logging.getLogger("service.online")

FLUSH_BEFORE_JUDGING_S = 5.0  # a refresh waits this long for queued records before judging

Key = tuple[str, str, pd.Timestamp, int | None, float | None, tuple[float, ...]]


@dataclass
class ServedForecasts:
    """The forecast cache and the ledger's intake (`writer` None: nothing is recorded)."""

    writer: LedgerWriter | None
    cache: dict[Key, ForecastResponse] = field(default_factory=dict)
    recorded: dict[tuple[str, str, pd.Timestamp], int] = field(default_factory=dict)
    cards: dict[str, dict[str, VersionCard]] = field(default_factory=dict)  # ticker -> version
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def forecast(
        self,
        request: ForecastRequest,
        model: LoadedModel,
        latest: Latest,
        last_closed: pd.Timestamp,
        at: tuple[str | int, ...] = ("body",),
    ) -> ForecastResponse:
        """The answer to a history-less request from `latest`: cached, or computed at every
        calibrated level in one pass (RequestProblem for a horizon or level the model refuses)."""
        version = model.registered.version
        asked = tuple(request.quantiles or ())
        key = (request.ticker, version, latest.as_of, request.horizon, request.level, asked)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        forecaster = model.registered.forecaster
        calibrated = forecaster.interval_levels
        level = request.level if request.level is not None or not calibrated else calibrated[0]
        others = [lv for lv in calibrated if lv != level]
        prepared = [
            Prepared(
                request.ticker,
                Query(latest.prices, horizon=request.horizon, level=request.level, quantiles=asked),
                latest.source,
                at,
            ),
            *(
                Prepared(
                    request.ticker,
                    Query(latest.prices, horizon=request.horizon, level=other),
                    latest.source,
                    at,
                )
                for other in others
            ),
        ]
        answers = forecast_many(prepared, model, last_closed)
        answer = answers[0]
        if isinstance(answer, RequestProblem):
            raise answer
        responses = [a for a in answers if isinstance(a, ForecastResponse)]
        self._record(model, latest, responses)
        with self._guard:
            if any(k[0] == request.ticker and k[1:3] != key[1:3] for k in self.cache):
                # a new version or new prices: the ticker's older answers are never asked again
                self.cache = {k: v for k, v in self.cache.items() if k[0] != request.ticker}
            self.cache[key] = answer
            self.cards.setdefault(request.ticker, {})[version] = model.registered.card
        return answer

    def _record(
        self, model: LoadedModel, latest: Latest, responses: list[ForecastResponse]
    ) -> None:
        if self.writer is None:
            return
        ticker, version = model.ticker, model.registered.version
        key = (ticker, version, latest.as_of)
        first = responses[0]
        with self._guard:
            done = self.recorded.get(key, 0)
            if len(first.forecasts) <= done:
                return
            if done == 0:  # a new day or version: the ticker's older ones are never served again
                self.recorded = {k: v for k, v in self.recorded.items() if k[0] != ticker}
            self.recorded[key] = len(first.forecasts)
        target = model.registered.forecaster.window.target
        naive = float(latest.prices[target].iloc[-1])
        records = []
        for step in range(done, len(first.forecasts)):
            point = first.forecasts[step]
            limits = {
                r.forecasts[step].level: (r.forecasts[step].lower, r.forecasts[step].upper)
                for r in responses
                if r.forecasts[step].level is not None
            }
            records.append(
                ForecastRecord(
                    ticker=ticker,
                    version=version,
                    as_of=latest.as_of.date(),
                    step=step + 1,
                    date=point.date,
                    target=target,
                    value=point.value,
                    naive=naive,
                    bounds={float(lv): (float(lo), float(hi)) for lv, (lo, hi) in limits.items()},  # type: ignore[arg-type]
                )
            )
        self.writer.submit(records)


class Outcomes:
    """After each refresh of a ticker: write what is queued, judge the steps whose close
    arrived, and recompute the live performance the gauges show."""

    def __init__(
        self,
        ledger: Ledger | None,
        writer: LedgerWriter | None,
        served: ServedForecasts,
        cards_of: Callable[[str, list[str]], dict[str, VersionCard]],
    ) -> None:
        self.ledger, self.writer, self.served, self.cards_of = ledger, writer, served, cards_of
        self.performance: dict[str, list[VersionPerformance]] = {}

    def report(self, ticker: str, days: int = DEFAULT_DAYS) -> list[VersionPerformance]:
        """The live performance of `ticker` (NothingRecorded, LedgerError, registry errors)."""
        if self.ledger is None:
            raise NothingRecorded("this service records no forecasts (STOCKCAST_LEDGER_URI=off)")
        return performance_of(
            self.ledger,
            ticker,
            days,
            dict(self.served.cards.get(ticker, {})),
            lambda versions: self.cards_of(ticker, versions),
        )

    def __call__(self, ticker: str, latest: Latest) -> None:
        if self.ledger is None or self.writer is None:
            return
        self.writer.flush(FLUSH_BEFORE_JUDGING_S)
        try:
            if self.ledger.exists():
                self.ledger.judge(ticker, latest.prices)
                self.performance[ticker] = self.report(ticker)
        except NothingRecorded:
            return
        except (LedgerError, ModelNotFoundError, RegistryUnavailableError) as err:
            log.warning("%s: outcomes or performance not updated this time: %s", ticker, err)


class Online:
    """What the service keeps for requests without history: prices, answers, the ledger."""

    def __init__(self, book: PriceBook, ledger: Ledger | None, max_pending: int) -> None:
        self.book, self.ledger = book, ledger
        self.writer = None if ledger is None else LedgerWriter(ledger, max_pending=max_pending)
        self.served = ServedForecasts(self.writer)
        self.outcomes = Outcomes(ledger, self.writer, self.served, _registry_cards)
        book.on_refresh.append(self.outcomes)

    def last_closed(self) -> pd.Timestamp:
        return last_closed_session(self.book.clock())

    def answer(
        self,
        request: ForecastRequest,
        model: LoadedModel,
        latest: Latest,
        at: tuple[str | int, ...] = ("body",),
    ) -> ForecastResponse:
        """The cached or new answer, its stale flag as of now."""
        last_closed = self.last_closed()
        response = self.served.forecast(request, model, latest, last_closed, at)
        stale = bool(latest.as_of < last_closed)
        return response if response.stale == stale else response.model_copy(update={"stale": stale})

    def start(self) -> None:
        if self.writer is not None:
            self.writer.start()

    def close(self, timeout_s: float = 5.0) -> None:
        self.book.close()
        if self.writer is not None:
            self.writer.close(timeout_s)
        if self.ledger is not None:
            self.ledger.dispose()


def _registry_cards(ticker: str, versions: list[str]) -> dict[str, VersionCard]:
    from forecast import tracking

    return tracking.version_cards(tracking.model_name(ticker), versions)
