"""GET /health, /ready, /models, /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.deps import MetricsDep, OnlineDep, StoreDep, require_api_key
from service.observability import LiveGauges
from service.online import Online
from service.schemas import ModelInfo, ModelsResponse

router = APIRouter(tags=["operations"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get(
    "/ready",
    responses={503: {"description": "a configured model is not loaded; the body says why"}},
)
def ready(store: StoreDep) -> JSONResponse:
    """Every configured model is loaded. Registry trouble after that only degrades: the loaded
    models keep serving."""
    ok, reasons = store.readiness()
    body: dict[str, object] = {
        "status": "ready" if ok else "not ready",
        "models": {t: m.registered.version for t, m in store.models.items()},
        "registry": "ok" if store.registry_error is None else f"degraded: {store.registry_error}",
    }
    if not ok:
        body["reasons"] = reasons
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/models", response_model=ModelsResponse, dependencies=[Depends(require_api_key)])
def models(store: StoreDep) -> ModelsResponse:
    """The loaded models: version, alias, training end and cross-validation metrics."""
    infos = []
    for ticker, loaded in sorted(store.models.items()):
        registered, forecaster = loaded.registered, loaded.registered.forecaster
        card = registered.card  # the tracking layer reads the tags
        infos.append(
            ModelInfo(
                **loaded.ref.model_dump(),
                ticker=ticker,
                trained_until=card.trained_until,
                lookback=forecaster.window.lookback,
                horizon=forecaster.window.horizon,
                max_horizon=forecaster.max_horizon,
                features=forecaster.window.features,
                interval_levels=list(forecaster.interval_levels),
                interval_rule=forecaster.interval_rule,
                loaded_at=loaded.loaded_at,
                cv_metrics=card.cv_metrics,
            )
        )
    return ModelsResponse(models=infos)


@router.get("/metrics", response_class=Response)
def metrics(store: StoreDep, metrics: MetricsDep, online: OnlineDep) -> Response:
    """Prometheus text format: requests and latency per route and status, model versions, the
    prices' age, the ledger's queue and each version's live performance."""
    _set_live(metrics.live, online)
    metrics.model_version.clear()
    for ticker, loaded in store.models.items():
        version = loaded.registered.version
        metrics.model_version.labels(ticker, loaded.registered.name, loaded.registered.alias).set(
            float(version) if version.isdigit() else 0.0
        )
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _set_live(live: LiveGauges, online: Online) -> None:
    live.reset()
    for ticker, latest in online.book.latest.items():
        live.prices_as_of.labels(ticker).set(latest.as_of.timestamp())
        live.prices_stale.labels(ticker).set(float(latest.as_of < online.last_closed()))
    writer = online.writer
    if writer is not None:
        for state, count in (
            ("pending", writer.pending),
            ("written", writer.written),
            ("dropped", writer.dropped),
        ):
            live.ledger.labels(state).set(count)
    for ticker, report in online.outcomes.performance.items():
        for p in report:
            for gauge, value in (
                (live.n, p.n),
                (live.rmse, p.rmse),
                (live.naive_rmse, p.naive_rmse),
                (live.skill, p.skill),
                (live.cv_skill, p.promised_skill),
            ):
                if value is not None:
                    gauge.labels(ticker, p.version).set(value)
            for lv in p.levels:
                labels = (ticker, p.version, f"{lv.level:g}")
                live.coverage.labels(*labels).set(lv.coverage)
                live.width.labels(*labels).set(lv.mean_width)
                live.drifting.labels(*labels).set(float(lv.drifting))
                if lv.promised_coverage is not None:
                    live.cv_coverage.labels(*labels).set(lv.promised_coverage)
