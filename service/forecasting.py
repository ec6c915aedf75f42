"""From a validated request to forecasts in price units: history checks, features, dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecast.data import DataUnavailableError, load_prices
from forecast.data.history import prices_from_rows
from forecast.forecaster import Forecast, Forecaster
from forecast.prep.features import Features, target_features
from forecast.tracking.registry import ModelNotFoundError, RegistryUnavailableError
from service.config import Settings
from service.models import LoadedModel
from service.schemas import ForecastPoint, ForecastRequest, ForecastResponse, PriceRow


class RequestProblem(ValueError):
    """A request the model cannot answer; becomes a 422 naming the field."""

    def __init__(self, field: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


Field = tuple[str | int, ...]


# errors a request can cause that are an answer, not a crash: status, detail, headers
ANSWERABLE = (RequestProblem, ModelNotFoundError, RegistryUnavailableError, DataUnavailableError)


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
    raise TypeError(f"{type(err).__name__} is not an answerable error") from err


def _check_history(
    rows: Sequence[PriceRow], forecaster: Forecaster, settings: Settings, at: Field
) -> None:
    field = (*at, "history")
    if len(rows) > settings.max_history_rows:
        raise RequestProblem(
            field, f"history has {len(rows)} rows; at most {settings.max_history_rows} are accepted"
        )
    needed = forecaster.window.history_rows
    if len(rows) < needed:
        raise RequestProblem(
            field,
            f"history has {len(rows)} rows; this model needs at least {needed} "
            f"(lookback {forecaster.window.lookback})",
        )
    for i in range(1, len(rows)):
        if rows[i].date <= rows[i - 1].date:
            raise RequestProblem(
                (*field, i, "date"),
                f"dates must be strictly increasing (oldest first); "
                f"{rows[i].date} follows {rows[i - 1].date}",
            )
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    if rows[-1].date > tomorrow:
        raise RequestProblem(
            (*field, len(rows) - 1, "date"), f"date {rows[-1].date} is in the future"
        )


def features_from_history(
    rows: Sequence[PriceRow], forecaster: Forecaster, settings: Settings, at: Field = ("body",)
) -> Features:
    """The model's features from request rows; only the rows the model reads, and no I/O.
    `at` locates the request in the body, for error messages."""
    _check_history(rows, forecaster, settings, at)
    recent = rows[-forecaster.window.history_rows :]
    window = forecaster.window
    if window.features == "close":  # the target price alone: skip the price frame
        adjusted = window.target == "adj_close"
        target = np.fromiter(
            (r.adj_close if adjusted and r.adj_close is not None else r.close for r in recent),
            dtype=np.float64,
            count=len(recent),
        )
        return target_features(target, pd.DatetimeIndex([r.date for r in recent]), window.target)
    frame = pd.DataFrame([r.model_dump(exclude_none=True) for r in recent])
    try:
        return forecaster.features(prices_from_rows(frame, window.features))
    except ValueError as err:
        raise RequestProblem((*at, "history"), str(err)) from err


def features_from_data_layer(
    ticker: str, forecaster: Forecaster, settings: Settings, at: Field = ("body",)
) -> tuple[Features, str]:
    """The model's features from the data layer's prices for `ticker`, and their source."""
    prices = load_prices(ticker, source=settings.data_source, data_dir=settings.data_dir)
    if len(prices) < forecaster.window.history_rows:
        raise RequestProblem(
            (*at, "ticker"), f"only {len(prices)} days of {ticker} prices are available"
        )
    return forecaster.features(prices), str(prices.attrs["source"])


@dataclass(frozen=True)
class Prepared:
    """A request checked against its model: what to forecast from, and how far."""

    ticker: str
    steps: int
    level: float | None  # the interval level to answer with (None: the model has none)
    features: Features
    source: str


def prepare(
    request: ForecastRequest, model: LoadedModel, settings: Settings, at: Field = ("body",)
) -> Prepared:
    """Check one request against its model and build its features (RequestProblem naming the
    field under `at`; the data layer's errors when it has no prices)."""
    forecaster = model.registered.forecaster
    try:
        steps = forecaster.check_horizon(request.horizon)
    except ValueError as err:
        raise RequestProblem((*at, "horizon"), str(err)) from err
    try:
        level = forecaster.check_level(request.level)
    except ValueError as err:
        raise RequestProblem((*at, "level"), str(err)) from err
    if request.history is None:
        features, source = features_from_data_layer(request.ticker, forecaster, settings, at)
    else:
        features = features_from_history(request.history, forecaster, settings, at)
        source = "request"
    return Prepared(request.ticker, steps, level, features, source)


def forecast_many(prepared: Sequence[Prepared], model: LoadedModel) -> list[ForecastResponse]:
    """Forecasts for prepared requests of one model, in one forward pass."""
    forecasts = model.registered.forecaster.forecast(
        [p.features for p in prepared], max(p.steps for p in prepared)
    )
    return [
        ForecastResponse(
            ticker=p.ticker,
            as_of=p.features.index[-1].date(),
            history_source=p.source,
            forecasts=_points(p, forecast),
            model=model.ref,
        )
        for p, forecast in zip(prepared, forecasts, strict=True)
    ]


def _points(prepared: Prepared, forecast: Forecast) -> list[ForecastPoint]:
    """The request's steps (the pass ran to the batch's longest), each with its interval at the
    request's level where the model calibrated that step."""
    steps = prepared.steps
    no_interval: tuple[Sequence[float], Sequence[float]] = ((), ())
    lower, upper = no_interval if prepared.level is None else forecast.intervals[prepared.level]
    points = []
    dates, values = forecast.dates[:steps], forecast.values[:steps]
    for step, (date, value) in enumerate(zip(dates, values, strict=True)):
        bounded = step < len(lower)
        points.append(
            ForecastPoint(
                date=date.date(),
                value=float(value),
                lower=float(lower[step]) if bounded else None,
                upper=float(upper[step]) if bounded else None,
                level=prepared.level if bounded else None,
            )
        )
    return points
