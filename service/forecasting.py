"""From a validated request to forecasts in price units: history checks, features, dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecast.data import load_prices
from forecast.data.history import prices_from_rows
from forecast.forecaster import Forecast, Forecaster
from forecast.prep.features import Features, target_features
from service.config import Settings
from service.models import LoadedModel
from service.schemas import ForecastPoint, ForecastRequest, ForecastResponse, ModelRef, PriceRow


class RequestProblem(ValueError):
    """A request the model cannot answer; becomes a 422 naming the field."""

    def __init__(self, field: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _check_history(rows: Sequence[PriceRow], forecaster: Forecaster, settings: Settings) -> None:
    field = ("body", "history")
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
    rows: Sequence[PriceRow], forecaster: Forecaster, settings: Settings
) -> Features:
    """The model's features from request rows; only the rows the model reads, and no I/O."""
    _check_history(rows, forecaster, settings)
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
        raise RequestProblem(("body", "history"), str(err)) from err


def features_from_data_layer(
    ticker: str, forecaster: Forecaster, settings: Settings
) -> tuple[Features, str]:
    """The model's features from the data layer's prices for `ticker`, and their source."""
    prices = load_prices(ticker, source=settings.data_source, data_dir=settings.data_dir)
    if len(prices) < forecaster.window.history_rows:
        raise RequestProblem(
            ("body", "ticker"), f"only {len(prices)} days of {ticker} prices are available"
        )
    return forecaster.features(prices), str(prices.attrs["source"])


def respond(
    ticker: str, model: LoadedModel, forecast: Forecast, last: pd.Timestamp, source: str
) -> ForecastResponse:
    registered = model.registered
    return ForecastResponse(
        ticker=ticker,
        as_of=last.date(),
        history_source=source,
        forecasts=[
            ForecastPoint(date=d.date(), value=float(v))
            for d, v in zip(forecast.dates, forecast.values, strict=True)
        ],
        model=ModelRef(
            name=registered.name,
            version=registered.version,
            alias=registered.alias,
            run_id=registered.run_id,
        ),
    )


def forecast_many(
    requests: Sequence[ForecastRequest], model: LoadedModel, settings: Settings
) -> list[ForecastResponse]:
    """Forecasts for requests of one ticker, in one forward pass."""
    forecaster = model.registered.forecaster
    steps = []
    for i, request in enumerate(requests):
        try:
            steps.append(forecaster.check_horizon(request.horizon))
        except ValueError as err:
            field: tuple[str | int, ...] = (
                ("body", "horizon") if len(requests) == 1 else ("body", "requests", i, "horizon")
            )
            raise RequestProblem(field, str(err)) from err
    series, sources = [], []
    for request in requests:
        if request.history is None:
            features, source = features_from_data_layer(request.ticker, forecaster, settings)
        else:
            features = features_from_history(request.history, forecaster, settings)
            source = "request"
        series.append(features)
        sources.append(source)
    forecasts = forecaster.forecast(series, max(steps))
    return [
        respond(
            request.ticker,
            model,
            Forecast(forecast.dates[:step], forecast.values[:step]),
            features.index[-1],
            source,
        )
        for request, forecast, step, features, source in zip(
            requests, forecasts, steps, series, sources, strict=True
        )
    ]
