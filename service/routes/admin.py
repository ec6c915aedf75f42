"""POST /admin/reload: check every alias now and swap in moved versions."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from service.deps import OnlineDep, StoreDep, require_api_key

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_api_key)])


@router.post("/reload")
async def reload(store: StoreDep) -> dict[str, object]:
    """Reload moved aliases; answers with the version now served per ticker."""
    served = await run_in_threadpool(store.refresh)
    return {
        "served": served,
        "registry": "ok" if store.registry_error is None else store.registry_error,
    }


@router.post("/refresh")
async def refresh(online: OnlineDep) -> dict[str, object]:
    """Reload every served ticker's prices now (and judge the forecasts whose closes arrived);
    answers with each ticker's as_of and whether its load succeeded."""
    book = online.book
    done = await run_in_threadpool(
        lambda: {ticker: book.refresh(ticker) is not None for ticker in sorted(book.schedule)}
    )
    return {
        "refreshed": done,
        "as_of": {t: f"{latest.as_of:%Y-%m-%d}" for t, latest in sorted(book.latest.items())},
    }
