"""POST /forecast and POST /forecast/batch."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from service.config import Settings
from service.deps import SettingsDep, StoreDep, require_api_key
from service.forecasting import RequestProblem, forecast_many
from service.models import ModelStore
from service.schemas import BatchRequest, BatchResponse, ForecastRequest, ForecastResponse, Problem

ERRORS = {
    401: {"model": Problem, "description": "API key missing or wrong"},
    404: {"model": Problem, "description": "no registered model for the ticker"},
    413: {"model": Problem, "description": "body too large"},
    422: {
        "model": Problem,
        "description": "invalid request: the detail names the field and the rule",
    },
    503: {"model": Problem, "description": "registry or price data unavailable"},
}

router = APIRouter(prefix="/forecast", tags=["forecast"], dependencies=[Depends(require_api_key)])


@router.post("", response_model=ForecastResponse, responses=ERRORS)  # type: ignore[arg-type]
async def forecast(
    request: ForecastRequest, store: StoreDep, settings: SettingsDep
) -> ForecastResponse:
    """Forecast the next trading days of one ticker with its registered champion model.

    With `history`, forecasts from those prices; without, from the latest prices Stockcast has
    (cache, Yahoo when reachable, or the bundled sample) and `as_of` says which day that was.
    """
    model = store.models.get(request.ticker)
    if model is None or request.history is None:  # may wait on the registry or the network
        return await run_in_threadpool(_forecast_blocking, request, store, settings)
    # a warm model and a given history: about a millisecond of CPU, cheaper inline than a thread hop
    return forecast_many([request], model, settings)[0]


def _forecast_blocking(
    request: ForecastRequest, store: ModelStore, settings: Settings
) -> ForecastResponse:
    return forecast_many([request], store.get(request.ticker), settings)[0]


@router.post("/batch", response_model=BatchResponse, responses=ERRORS)  # type: ignore[arg-type]
def forecast_batch(batch: BatchRequest, store: StoreDep, settings: SettingsDep) -> BatchResponse:
    """Many forecasts in one call: one forward pass per model. Results keep the request order."""
    if len(batch.requests) > settings.max_batch_items:
        raise RequestProblem(
            ("body", "requests"),
            f"{len(batch.requests)} requests; at most {settings.max_batch_items} per batch",
        )
    by_ticker: dict[str, list[int]] = defaultdict(list)
    for i, request in enumerate(batch.requests):
        by_ticker[request.ticker].append(i)
    results: list[ForecastResponse | None] = [None] * len(batch.requests)
    for ticker, indices in by_ticker.items():
        model = store.get(ticker)
        answers = forecast_many([batch.requests[i] for i in indices], model, settings)
        for i, answer in zip(indices, answers, strict=True):
            results[i] = answer
    return BatchResponse(results=[r for r in results if r is not None])
