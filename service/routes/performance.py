"""GET /models/{ticker}/performance: how the served forecasts did, from the forecast ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from forecast.online.ledger import LedgerError
from forecast.online.performance import DEFAULT_DAYS, NothingRecorded
from service.deps import OnlineDep, StoreDep, require_api_key
from service.schemas import PerformanceResponse, Problem, Ticker, VersionPerformanceInfo

router = APIRouter(prefix="/models", tags=["operations"], dependencies=[Depends(require_api_key)])

MAX_DAYS = 2520  # ten years of trading days


@router.get(
    "/{ticker}/performance",
    response_model=PerformanceResponse,
    responses={
        404: {"model": Problem, "description": "no ledger yet, or no forecast of the ticker"},
        503: {"model": Problem, "description": "the ledger database is unreachable"},
    },
)
def performance(
    ticker: Annotated[Ticker, Path(description="the ticker, any case")],
    online: OnlineDep,
    store: StoreDep,
    days: Annotated[
        int, Query(ge=1, le=MAX_DAYS, description="the last trading days with outcomes")
    ] = DEFAULT_DAYS,
) -> PerformanceResponse:
    """Per model version, over the last `days` trading days whose closes have arrived: n, RMSE,
    skill against naive, and coverage and mean width per level, each beside what the version's
    cross-validation promised; `drifting` when live coverage leaves its binomial tolerance."""
    try:
        report = online.outcomes.report(ticker, days)
    except NothingRecorded as err:
        raise HTTPException(404, str(err)) from err
    except LedgerError as err:
        raise HTTPException(503, str(err), headers={"Retry-After": "30"}) from err
    serving = store.models.get(ticker)
    return PerformanceResponse(
        ticker=ticker,
        days=days,
        serving=None if serving is None else serving.registered.version,
        versions=[VersionPerformanceInfo(**p.to_dict()) for p in report],
    )
