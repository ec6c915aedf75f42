"""From a validated request to forecasts in price units: history checks, features, dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecast.calendar import next_trading_days
from forecast.data import load_prices
from forecast.data.history import prices_from_rows
from forecast.forecaster import Forecaster
from forecast.prep.features import build_features
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


def series_from_history(
    rows: Sequence[PriceRow], forecaster: Forecaster, settings: Settings
) -> tuple[np.ndarray, np.ndarray, dt.date]:
    """(values (T, F), target (T,), last date) from request rows; only the rows the model reads."""
    _check_history(rows, forecaster, settings)
    recent = rows[-forecaster.window.history_rows :]
    if forecaster.window.features == "close":  # the fast path: no pandas
        target = np.fromiter(
            (
                r.adj_close
                if r.adj_close is not None and forecaster.window.target == "adj_close"
                else r.close
                for r in recent
            ),
            dtype=np.float64,
            count=len(recent),
        )
        return target[:, None].astype(np.float32), target, recent[-1].date
    frame = pd.DataFrame([r.model_dump(exclude_none=True) for r in recent])
    try:
        prices = prices_from_rows(frame, forecaster.window.features)
        features = build_features(prices, forecaster.window.features, forecaster.window.target)
    except ValueError as err:
        raise RequestProblem(("body", "history"), str(err)) from err
    return features.values, features.target, recent[-1].date


def series_from_data_layer(
    ticker: str, forecaster: Forecaster, settings: Settings
) -> tuple[np.ndarray, np.ndarray, dt.date, str]:
    prices = load_prices(ticker, source=settings.data_source, data_dir=settings.data_dir)
    features = build_features(prices, forecaster.window.features, forecaster.window.target)
    if len(prices) < forecaster.window.history_rows:
        raise RequestProblem(
            ("body", "ticker"), f"only {len(prices)} days of {ticker} prices are available"
        )
    return features.values, features.target, features.index[-1].date(), str(prices.attrs["source"])


def respond(
    ticker: str, model: LoadedModel, values: np.ndarray, last: dt.date, source: str
) -> ForecastResponse:
    registered = model.registered
    dates = next_trading_days(pd.Timestamp(last), len(values))
    return ForecastResponse(
        ticker=ticker,
        as_of=last,
        history_source=source,
        forecasts=[
            ForecastPoint(date=d.date(), value=float(v)) for d, v in zip(dates, values, strict=True)
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
    series, lasts, sources = [], [], []
    for request in requests:
        ticker = request.ticker
        if request.history is None:
            values, target, last, source = series_from_data_layer(ticker, forecaster, settings)
        else:
            (values, target, last), source = (
                series_from_history(request.history, forecaster, settings),
                "request",
            )
        series.append((values, target))
        lasts.append(last)
        sources.append(source)
    forecasts = forecaster.forecast_latest(series, max(steps))
    return [
        respond(request.ticker, model, forecasts[i, : steps[i]], lasts[i], sources[i])
        for i, request in enumerate(requests)
    ]
