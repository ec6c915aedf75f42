"""GET /health, /ready, /models, /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.deps import MetricsDep, StoreDep, require_api_key
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
                loaded_at=loaded.loaded_at,
                cv_metrics=card.cv_metrics,
            )
        )
    return ModelsResponse(models=infos)


@router.get("/metrics", response_class=Response)
def metrics(store: StoreDep, metrics: MetricsDep) -> Response:
    """Prometheus text format: requests and latency per route and status, model versions."""
    metrics.model_version.clear()
    for ticker, loaded in store.models.items():
        version = loaded.registered.version
        metrics.model_version.labels(ticker, loaded.registered.name, loaded.registered.alias).set(
            float(version) if version.isdigit() else 0.0
        )
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
