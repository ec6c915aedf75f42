"""Request and response bodies, with OpenAPI examples."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from forecast.config import LEVELS
from forecast.data.tickers import MAX_TICKER_LENGTH, TICKER_PATTERN, normalize_ticker
from forecast.tracking.names import CHAMPION, model_name

if TYPE_CHECKING:
    from forecast.tracking.registry import RegisteredForecaster

Ticker = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_TICKER_LENGTH,
        pattern=TICKER_PATTERN,
        description="Yahoo-style symbol, any case (aapl is AAPL)",
        examples=["AAPL"],
    ),
    AfterValidator(normalize_ticker),  # where the ticker enters over HTTP: AAPL from here on
]


class PriceRow(BaseModel):
    """One trading day. `close` is required; the others only for models that read them."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"date": "2013-02-28", "close": 57.56}]}
    )

    date: dt.date
    close: float = Field(
        gt=0, allow_inf_nan=False, description="price (split-adjusted for an adj_close model)"
    )
    open: float | None = Field(None, gt=0, allow_inf_nan=False)
    high: float | None = Field(None, gt=0, allow_inf_nan=False)
    low: float | None = Field(None, gt=0, allow_inf_nan=False)
    adj_close: float | None = Field(None, gt=0, allow_inf_nan=False)
    volume: float | None = Field(None, ge=0, allow_inf_nan=False)


_HISTORY_EXAMPLE: Any = [
    {"date": f"2013-02-{d:02d}", "close": 56.0 + d / 10} for d in (25, 26, 27, 28)
]


class ForecastRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"ticker": "AAPL", "horizon": 1, "history": None},
                {"ticker": "AAPL", "horizon": 1, "history": _HISTORY_EXAMPLE},
            ]
        },
    )

    ticker: Ticker
    horizon: int | None = Field(
        None, ge=1, le=1000, description="steps ahead; default the model's horizon"
    )
    history: list[PriceRow] | None = Field(
        None,
        description="recent trading days, oldest first, at least the model's lookback; "
        "omit to use the latest prices Stockcast has",
    )
    level: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="prediction interval level, one the model calibrated (GET /models lists "
        f"them: {' and '.join(f'{v:g}' for v in LEVELS)} by default); omit for the model's first",
        examples=[0.95],
    )
    quantiles: (
        Annotated[list[Annotated[float, Field(gt=0, lt=1)]], Field(min_length=1, max_length=19)]
        | None
    ) = Field(
        None,
        description="quantiles to answer each calibrated step with, each strictly between 0 "
        "and 1 (at most 19), from the model's calibrated width rule; one too extreme for its "
        "calibration sample is a 422 naming the smallest and largest it can serve",
        examples=[[0.05, 0.5, 0.95]],
    )


class ForecastPoint(BaseModel):
    date: dt.date
    value: float
    lower: float | None = Field(
        None,
        description="lower bound of the prediction interval at `level` (split conformal on the "
        "walk-forward CV errors, scaled by recent volatility); null for a model without "
        "calibrated intervals and for steps past its calibrated horizon",
    )
    upper: float | None = Field(None, description="upper bound, like `lower`")
    level: float | None = Field(
        None, description="the interval's level: the share of outcomes it should cover"
    )
    quantiles: dict[str, float] | None = Field(
        None,
        description="the asked quantiles of this step's price (null when none were asked, or "
        "past the calibrated steps)",
        examples=[{"0.05": 54.31, "0.5": 56.2, "0.95": 58.02}],
    )


class ModelRef(BaseModel):
    name: str = Field(examples=[model_name("AAPL")])
    version: str = Field(examples=["3"])
    alias: str = Field(examples=[CHAMPION])
    model_run_id: str = Field(description="the final-fit run that logged the model's weights")
    pipeline_run_id: str | None = Field(
        description="the pipeline's parent run (CV folds, final fit), as the console printed it"
    )
    cv_skill: float | None = Field(
        description="mean walk-forward CV skill vs the naive forecast (1 - RMSE/RMSE_naive)"
    )
    cv_skill_stderr: float | None = Field(description="its standard error over the folds")
    beats_naive: bool | None = Field(
        description="skill above zero by more than its standard error: is the point worth more "
        "than 'tomorrow equals today'?"
    )

    @classmethod
    def of(cls, registered: RegisteredForecaster) -> Self:
        card = registered.card  # the tracking layer reads the tags
        return cls(
            name=registered.name,
            version=registered.version,
            alias=registered.alias,
            model_run_id=registered.run_id,
            pipeline_run_id=card.pipeline_run_id,
            cv_skill=card.skill,
            cv_skill_stderr=card.skill_stderr,
            beats_naive=card.beats_naive,
        )


class ForecastResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ticker": "AAPL",
                    "as_of": "2013-03-01",
                    "stale": False,
                    "history_source": "request",
                    "forecasts": [
                        {
                            "date": "2013-03-04",
                            "value": 56.21,
                            "lower": 55.14,
                            "upper": 57.28,
                            "level": LEVELS[0],
                        }
                    ],
                    "model": {
                        "name": model_name("AAPL"),
                        "version": "3",
                        "alias": CHAMPION,
                        "model_run_id": "2c53...",
                        "pipeline_run_id": "9f1e...",
                        "cv_skill": -0.0004,
                        "cv_skill_stderr": 0.0021,
                        "beats_naive": False,
                    },
                }
            ]
        }
    )

    ticker: str
    as_of: dt.date = Field(description="last observed day the forecast starts from")
    stale: bool = Field(
        description="as_of is older than the last NYSE session that has closed: newer prices "
        "could not be loaded (the forecast still stands, from older prices)"
    )
    history_source: str = Field(description="request, cache, yahoo or sample")
    forecasts: list[ForecastPoint]
    model: ModelRef


class BatchRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"requests": [{"ticker": "AAPL", "horizon": 1, "history": _HISTORY_EXAMPLE}]}
            ]
        },
    )

    requests: list[ForecastRequest] = Field(min_length=1)


class BatchItem(BaseModel):
    """One batch request's answer: `status` 200 with `forecast`, or the status and `detail` the
    same request alone would have got (404 no model, 422 a bad field, 503 no prices)."""

    ticker: str
    status: int = Field(examples=[200, 404])
    forecast: ForecastResponse | None = None
    detail: str | list | None = Field(None, description="what is wrong, when status is not 200")


class BatchResponse(BaseModel):
    results: list[BatchItem] = Field(description="one per request, in the request order")


class ModelInfo(ModelRef):
    ticker: str
    trained_until: str | None
    lookback: int
    horizon: int
    max_horizon: int
    features: str
    interval_levels: list[float] = Field(
        description="the prediction interval levels a forecast request may ask for"
    )
    interval_rule: str | None = Field(
        description="how interval width follows volatility: ewma, garch, lstm (the LSTM's scale "
        "head) or constant, the rule "
        "walk-forward CV measured best (null for a model without intervals)"
    )
    loaded_at: dt.datetime
    cv_metrics: dict[str, float] = Field(description="the version's cv.* tags")


class ModelsResponse(BaseModel):
    models: list[ModelInfo]


class Problem(BaseModel):
    detail: str | list = Field(description="what is wrong, naming the field and the rule")
    request_id: str | None = None


class LevelPerformanceInfo(BaseModel):
    level: float
    n: int = Field(description="interval outcomes judged")
    coverage: float = Field(description="share of outcomes inside the interval")
    mean_width: float = Field(description="mean width in price units")
    tolerance: tuple[float, float] = Field(
        description="the coverage band a calibrated interval stays in (binomial, 99%)"
    )
    drifting: bool = Field(description="coverage outside the tolerance band")
    promised_coverage: float | None = Field(description="the version's CV coverage")
    promised_width: float | None = Field(description="the version's CV mean width")


class VersionPerformanceInfo(BaseModel):
    version: str
    n: int = Field(description="forecast steps judged over the window")
    days: int = Field(description="trading days among them")
    first_date: dt.date
    last_date: dt.date
    rmse: float
    naive_rmse: float = Field(description="'tomorrow equals today' on the same steps")
    skill: float = Field(description="1 - rmse / naive_rmse")
    promised_rmse: float | None = Field(description="the version's mean CV RMSE")
    promised_skill: float | None = Field(description="the version's mean CV skill")
    drifting: bool = Field(description="some level's coverage is drifting")
    levels: list[LevelPerformanceInfo]


class PerformanceResponse(BaseModel):
    ticker: str
    days: int = Field(description="the last trading days with outcomes the figures cover")
    serving: str | None = Field(description="the version served now")
    versions: list[VersionPerformanceInfo] = Field(description="newest version first")
