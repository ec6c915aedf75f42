"""Dependencies: settings, the model store, metrics, the online state, the API key check.

All `async def`: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per
dependency per request for what is a dict lookup."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.config import Settings, get_settings
from service.models import ModelStore
from service.observability import Metrics
from service.online import Online

_bearer = HTTPBearer(auto_error=False, description="the STOCKCAST_API_KEY, when one is set")


async def get_store(request: Request) -> ModelStore:
    return request.app.state.store


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def get_online(request: Request) -> Online:
    return request.app.state.online


async def app_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(app_settings)]
StoreDep = Annotated[ModelStore, Depends(get_store)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
OnlineDep = Annotated[Online, Depends(get_online)]


async def require_api_key(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Nothing without a configured key; else a matching Bearer token, compared in constant time."""
    if settings.api_key is None:
        return
    expected = settings.api_key.get_secret_value().encode()
    given = credentials.credentials.encode() if credentials is not None else b""
    if credentials is None or not hmac.compare_digest(given, expected):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong API key: send Authorization: Bearer <STOCKCAST_API_KEY>",
            headers={"WWW-Authenticate": "Bearer"},
        )


__all__ = ["MetricsDep", "OnlineDep", "SettingsDep", "StoreDep", "get_settings", "require_api_key"]
