"""POST /forecast and POST /forecast/batch."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from service.config import Settings
from service.deps import SettingsDep, StoreDep, require_api_key
from service.forecasting import (
    ANSWERABLE,
    Prepared,
    RequestProblem,
    forecast_many,
    prepare,
    problem,
)
from service.models import LoadedModel, ModelStore
from service.schemas import (
    BatchItem,
    BatchRequest,
    BatchResponse,
    ForecastRequest,
    ForecastResponse,
    Problem,
)

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
    return _one(request, model, settings)


def _forecast_blocking(
    request: ForecastRequest, store: ModelStore, settings: Settings
) -> ForecastResponse:
    return _one(request, store.get(request.ticker), settings)


def _one(request: ForecastRequest, model: LoadedModel, settings: Settings) -> ForecastResponse:
    (answer,) = forecast_many([prepare(request, model, settings)], model)
    if isinstance(answer, RequestProblem):
        raise answer
    return answer


@router.post("/batch", response_model=BatchResponse, responses=ERRORS)  # type: ignore[arg-type]
def forecast_batch(batch: BatchRequest, store: StoreDep, settings: SettingsDep) -> BatchResponse:
    """Many forecasts in one call, one forward pass per model, answered item by item in the
    request order: each item has the status (and detail) that request alone would have got."""
    if len(batch.requests) > settings.max_batch_items:
        raise RequestProblem(
            ("body", "requests"),
            f"{len(batch.requests)} requests; at most {settings.max_batch_items} per batch",
        )
    by_ticker: dict[str, list[int]] = defaultdict(list)
    for i, request in enumerate(batch.requests):
        by_ticker[request.ticker].append(i)
    items: dict[int, BatchItem] = {}
    for ticker, indices in by_ticker.items():
        try:
            model = store.get(ticker)
        except ANSWERABLE as err:
            items.update((i, _failed(ticker, err)) for i in indices)
            continue
        ready: list[tuple[int, Prepared]] = []
        for i in indices:
            try:
                at = ("body", "requests", i)
                ready.append((i, prepare(batch.requests[i], model, settings, at)))
            except ANSWERABLE as err:
                items[i] = _failed(ticker, err)
        if ready:
            answers = forecast_many([p for _, p in ready], model)
            for (i, _), answer in zip(ready, answers, strict=True):
                items[i] = (
                    _failed(ticker, answer)
                    if isinstance(answer, RequestProblem)
                    else BatchItem(ticker=ticker, status=200, forecast=answer)
                )
    return BatchResponse(results=[items[i] for i in range(len(batch.requests))])


def _failed(ticker: str, err: Exception) -> BatchItem:
    status, detail, _ = problem(err)
    return BatchItem(ticker=ticker, status=status, detail=detail)
