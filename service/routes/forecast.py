"""POST /forecast and POST /forecast/batch."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from service.config import Settings
from service.deps import OnlineDep, SettingsDep, StoreDep, require_api_key
from service.forecasting import (
    ANSWERABLE,
    Prepared,
    RequestProblem,
    forecast_many,
    prepare,
    problem,
)
from service.models import LoadedModel
from service.online import Online
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
    503: {
        "model": Problem,
        "description": "registry or price data unavailable, or a ticker's first prices still "
        "loading (Retry-After)",
    },
}

router = APIRouter(prefix="/forecast", tags=["forecast"], dependencies=[Depends(require_api_key)])


# the body POST /forecast documents: it parses the body itself (body_of), so FastAPI does not
FORECAST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ForecastRequest"}}
        },
    }
}


async def body_of(raw: Request) -> ForecastRequest:
    """The request body as a ForecastRequest, parsed by pydantic from the bytes in one step
    (half the time of FastAPI's json.loads then validation on a 70-row history); errors as
    FastAPI's own 422s, each located under "body". As FastAPI, only a JSON content type (or
    none) is read as JSON: other bodies are refused as not being an object."""
    body = await raw.body()
    try:
        if _is_json(raw.headers.get("content-type")):
            return ForecastRequest.model_validate_json(body)
        return ForecastRequest.model_validate(body)
    except ValidationError as err:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in err.errors()]
        ) from None


def _is_json(content_type: str | None) -> bool:
    """FastAPI's rule: no content type, application/json or application/*+json."""
    if not content_type:
        return True
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


@router.post(
    "",
    response_model=ForecastResponse,
    responses=ERRORS,  # type: ignore[arg-type]
    openapi_extra=FORECAST_BODY,
)
async def forecast(
    request: Annotated[ForecastRequest, Depends(body_of)],
    store: StoreDep,
    settings: SettingsDep,
    online: OnlineDep,
) -> Response:
    """Forecast the next trading days of one ticker with its registered champion model.

    With `history`, forecasts from those prices. Without, from the latest prices the service
    keeps in memory (refreshed after each NYSE close: cache, Yahoo when reachable, or the
    bundled sample); `as_of` says which day that was and `stale` whether newer prices were due.
    Those answers are computed once per model version and day, and recorded in the forecast
    ledger to be judged when their dates' closes arrive.
    """
    model = store.models.get(request.ticker)
    if model is None:  # the first request for a ticker: may wait on the registry
        model = await run_in_threadpool(store.get, request.ticker)
    if request.history is None:
        latest = online.book.get(request.ticker)
        if latest is None:  # never loaded: wait for it, at most first_load_timeout_s
            latest = await online.book.first(request.ticker, settings.first_load_timeout_s)
        return rendered(online.answer(request, model, latest))
    # a given history: about a millisecond of CPU, cheaper inline than a thread hop
    return rendered(_one(request, model, settings, online))


def rendered(answer: ForecastResponse) -> Response:
    """The answer as JSON, rendered by pydantic in one step: the service built it from the
    schema, so FastAPI's re-validation and encoding of the returned model (a third of a
    history-less request's time) would only repeat that work. The schema stays the documented
    response (response_model)."""
    return Response(answer.model_dump_json(), media_type="application/json")


def _one(
    request: ForecastRequest, model: LoadedModel, settings: Settings, online: Online
) -> ForecastResponse:
    (answer,) = forecast_many([prepare(request, model, settings)], model, online.last_closed())
    if isinstance(answer, RequestProblem):
        raise answer
    return answer


@router.post("/batch", response_model=BatchResponse, responses=ERRORS)  # type: ignore[arg-type]
def forecast_batch(
    batch: BatchRequest, store: StoreDep, settings: SettingsDep, online: OnlineDep
) -> BatchResponse:
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
            request, at = batch.requests[i], ("body", "requests", i)
            try:
                if request.history is None:
                    latest = online.book.first_blocking(ticker, settings.first_load_timeout_s)
                    served = online.answer(request, model, latest, at)
                    items[i] = BatchItem(ticker=ticker, status=200, forecast=served)
                else:
                    ready.append((i, prepare(request, model, settings, at)))
            except ANSWERABLE as err:
                items[i] = _failed(ticker, err)
        if ready:
            answers = forecast_many([p for _, p in ready], model, online.last_closed())
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
