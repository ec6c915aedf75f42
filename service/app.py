"""The FastAPI app: `create_app(settings)`; `uvicorn service.app:app` serves the default one."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from forecast.calendar import trading_days
from forecast.data import load_prices, loader
from forecast.online.ledger import LEDGER_OFF, Ledger, default_ledger_uri
from service.config import Settings, get_settings
from service.forecasting import ANSWERABLE, problem
from service.models import ModelStore
from service.observability import Metrics, OncePerInterval, RequestContext
from service.online import Online
from service.prices import Clock, PriceBook, utc_now
from service.routes import admin, forecast, health, performance

log = logging.getLogger("service")


REFRESH_TICK_S = 1.0  # the refresher looks at its schedule at least this often


async def _keep_prices_fresh(book: PriceBook) -> None:
    """Refresh every ticker whose time has come (start-up, NYSE closes, the interval)."""
    while True:
        await run_in_threadpool(book.refresh_due)
        await asyncio.sleep(min(book.seconds_to_next(), REFRESH_TICK_S))


async def _keep_models_fresh(app: FastAPI, settings: Settings) -> None:
    """Load the configured models (retrying while the registry is down), then follow aliases."""
    store: ModelStore = app.state.store
    while True:
        await run_in_threadpool(store.refresh)
        ready, _ = store.readiness()
        if ready and settings.reload_interval_s == 0:
            return
        await asyncio.sleep(settings.registry_retry_s if not ready else settings.reload_interval_s)


def create_app(settings: Settings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    """The app for `settings`; `clock` (now, UTC) drives the price refresher and staleness."""
    settings = settings or get_settings()
    online = _online(settings, clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import torch

        from forecast import tracking

        torch.set_num_threads(settings.torch_threads)
        trading_days()  # the calendar table, built before the first request rather than in it
        _fail_fast_registry(settings)
        tracking.use_tracking_uri(settings.tracking_uri)
        data_log = logging.getLogger(loader.__name__)  # warns when Yahoo is unreachable
        quieter = OncePerInterval(settings.data_warning_interval_s)
        data_log.addFilter(quieter)
        online.start()
        for ticker in settings.tickers:
            online.book.add(ticker)
        # what start-up imported (torch, pandas, MLflow: millions of objects) never becomes
        # garbage; left in the collector's oldest generation, each full collection walks it all
        # and stalls every request in flight for 100+ ms under load
        gc.freeze()
        tasks = [
            asyncio.create_task(_keep_models_fresh(app, settings)),
            asyncio.create_task(_keep_prices_fresh(online.book)),
        ]
        try:
            yield
        finally:
            data_log.removeFilter(quieter)
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await run_in_threadpool(online.close)

    # FastAPIOffline: /docs and /redoc load Swagger UI and ReDoc from the installed package, not
    # from a CDN, so they work on an offline box
    app = FastAPIOffline(
        title="Stockcast",
        version="0.1.0",
        summary="LSTM stock forecasts from the MLflow registry, in price units, on trading days.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = ModelStore(settings.model_alias, settings.tickers)
    app.state.metrics = Metrics()
    app.state.online = online
    app.include_router(forecast.router)
    app.include_router(health.router)
    app.include_router(admin.router)
    app.include_router(performance.router)
    _add_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        )
    app.add_middleware(
        RequestContext, metrics=app.state.metrics, max_body_bytes=settings.max_body_bytes
    )
    return app


def _online(settings: Settings, clock: Clock) -> Online:
    load = functools.partial(load_prices, source=settings.data_source, data_dir=settings.data_dir)
    book = PriceBook(
        load,
        interval_s=settings.refresh_interval_s,
        retry_s=settings.refresh_retry_s,
        after_close_s=settings.refresh_after_close_s,
        warn_interval_s=settings.data_warning_interval_s,
        clock=clock,
    )
    uri = settings.ledger_uri or default_ledger_uri(settings.tracking_uri)
    ledger = None if uri.strip().lower() == LEDGER_OFF else Ledger(uri)
    return Online(book, ledger, settings.ledger_max_pending)


def _fail_fast_registry(settings: Settings) -> None:
    """MLflow's REST client retries with backoff for minutes by default: a down registry would
    then stall alias checks (and /ready's report) instead of failing fast."""
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = str(settings.registry_retries)
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(int(max(1, settings.registry_timeout_s)))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")


def _request_id(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


def _problem(
    request: Request, status: int, detail: Any, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"detail": detail, "request_id": _request_id(request)}, status_code=status, headers=headers
    )


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in err.errors()
        ]
        return _problem(request, 422, errors)

    async def answerable(request: Request, err: Exception) -> JSONResponse:
        status, detail, headers = problem(err)
        return _problem(request, status, detail, headers or None)

    for error in ANSWERABLE:
        app.add_exception_handler(error, answerable)

    @app.exception_handler(Exception)
    async def crashed(request: Request, err: Exception) -> JSONResponse:
        request_id = _request_id(request)
        log.exception("request %s failed", request_id)
        return _problem(request, 500, f"internal error; quote request id {request_id}")


app = create_app()
