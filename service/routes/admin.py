"""POST /admin/reload: check every alias now and swap in moved versions."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from service.deps import StoreDep, require_api_key

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_api_key)])


@router.post("/reload")
async def reload(store: StoreDep) -> dict[str, object]:
    """Reload moved aliases; answers with the version now served per ticker."""
    served = await run_in_threadpool(store.refresh)
    return {
        "served": served,
        "registry": "ok" if store.registry_error is None else store.registry_error,
    }
