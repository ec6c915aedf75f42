"""From a validated request to the model's query, and from its answer to the response: the
rules (rows, horizon, level, features) live in the library (Forecaster.answer)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from forecast.data import DataUnavailableError
from forecast.queries import Answer, Query, QueryError
from forecast.tracking.registry import ModelNotFoundError, RegistryUnavailableError
from service.config import Settings
from service.models import LoadedModel
from service.prices import PricesLoading
from service.schemas import ForecastPoint, ForecastRequest, ForecastResponse


class RequestProblem(ValueError):
    """A request the model cannot answer; becomes a 422 naming the field."""

    def __init__(self, field: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


Field = tuple[str | int, ...]


# errors a request can cause that are an answer, not a crash: status, detail, headers
ANSWERABLE = (
    RequestProblem,
    ModelNotFoundError,
    RegistryUnavailableError,
    DataUnavailableError,
    PricesLoading,
)


def problem(err: Exception) -> tuple[int, str | list[dict[str, Any]], dict[str, str]]:
    """The HTTP status, detail and headers an ANSWERABLE error answers with."""
    if isinstance(err, RequestProblem):
        return 422, [{"loc": list(err.field), "msg": err.message, "type": "value_error"}], {}
    if isinstance(err, ModelNotFoundError):
        return 404, str(err), {}
    if isinstance(err, RegistryUnavailableError):
        return 503, f"model registry unavailable: {err}", {"Retry-After": "5"}
    if isinstance(err, DataUnavailableError):
        return 503, f"no recent prices: {err}; send them as `history`", {"Retry-After": "60"}
    if isinstance(err, PricesLoading):
        return 503, str(err), {"Retry-After": "5"}
    raise TypeError(f"{type(err).__name__} is not an answerable error") from err


def prepare(
    request: ForecastRequest, model: LoadedModel, settings: Settings, at: Field = ("body",)
) -> Prepared:
    """What to ask the model for a request that carries its rows (at most
    settings.max_history_rows). A request without them is service.online's."""
    rows = request.history
    if rows is None:
        raise TypeError("prepare() takes requests with history; service.online answers the rest")
    if len(rows) > settings.max_history_rows:
        raise RequestProblem(
            (*at, "history"),
            f"history has {len(rows)} rows; at most {settings.max_history_rows} are accepted",
        )
    given = set().union(*[row.model_fields_set for row in rows])  # a column no row has: none
    columns = {name: [getattr(row, name) for row in rows] for name in given}
    query = Query(
        rows=columns,
        horizon=request.horizon,
        level=request.level,
        quantiles=tuple(request.quantiles or ()),
    )
    return Prepared(request.ticker, query, "request", at)


@dataclass(frozen=True)
class Prepared:
    """A request as the model's query, with where its prices came from and where it sits in
    the body (for error locations)."""

    ticker: str
    query: Query
    source: str
    at: Field


def forecast_many(
    prepared: Sequence[Prepared], model: LoadedModel, last_closed: pd.Timestamp
) -> list[ForecastResponse | RequestProblem]:
    """Each request's response, or the RequestProblem naming its field, from one forward pass
    of the model over those it can answer; stale when it starts before `last_closed` (the last
    NYSE session that has closed)."""
    answers = model.registered.forecaster.answer([p.query for p in prepared])
    return [
        _problem(p.at, answer)
        if isinstance(answer, QueryError)
        else ForecastResponse(
            ticker=p.ticker,
            as_of=answer.as_of.date(),
            stale=bool(answer.as_of < last_closed),
            history_source=p.source,
            forecasts=_points(answer),
            model=model.ref,
        )
        for p, answer in zip(prepared, answers, strict=True)
    ]


def _problem(at: Field, err: QueryError) -> RequestProblem:
    """The request field a QueryError blames: history rows by index and column; the ticker
    for the prices Stockcast has of it."""
    field: Field = (*at, "ticker" if err.field == "prices" else err.field)
    if err.row is not None:
        field = (*field, err.row, err.column or "date")
    return RequestProblem(field, err.message)


def _points(answer: Answer) -> list[ForecastPoint]:
    """Each step, with its interval at the answer's level where the model calibrated it."""
    points = []
    for step, (date, value) in enumerate(zip(answer.dates, answer.values, strict=True)):
        bounded = step < len(answer.lower)
        quantiles = {
            f"{q:g}": float(values[step])
            for q, values in answer.quantiles.items()
            if step < len(values)
        }
        points.append(
            ForecastPoint(
                date=date.date(),
                value=float(value),
                lower=float(answer.lower[step]) if bounded else None,
                upper=float(answer.upper[step]) if bounded else None,
                level=answer.level if bounded else None,
                quantiles=quantiles or None,
            )
        )
    return points
