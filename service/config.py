"""Service settings from the environment (prefix STOCKCAST_), read once through get_settings()."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from forecast.data.tickers import normalize_ticker
from forecast.online.writer import MAX_PENDING
from forecast.tracking.names import CHAMPION


class Settings(BaseSettings):
    """Every knob of the API; STOCKCAST_<NAME> sets it (lists as comma-separated values)."""

    model_config = SettingsConfigDict(env_prefix="STOCKCAST_", extra="ignore")

    tracking_uri: str | None = Field(
        None, description="MLflow tracking URI; default $MLFLOW_TRACKING_URI or ./mlflow.db"
    )
    tickers: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="models loaded at startup"
    )
    model_alias: str = Field(CHAMPION, description="registry alias served")
    api_key: SecretStr | None = Field(
        None, description="Bearer key; when set, all but health/ready/metrics/docs need it"
    )
    max_history_rows: int = Field(10_000, ge=1, description="rows accepted in one history")
    max_body_bytes: int = Field(2_000_000, ge=1_000, description="largest request body")
    max_batch_items: int = Field(64, ge=1, description="forecasts in one /forecast/batch call")
    torch_threads: int = Field(
        1, ge=1, description="torch CPU threads (one per worker serves best)"
    )
    reload_interval_s: float = Field(30.0, ge=0, description="alias check period; 0 turns it off")
    registry_retry_s: float = Field(
        5.0, gt=0, description="retry period while the registry is down"
    )
    registry_timeout_s: float = Field(
        10.0, gt=0, description="per registry request; MLflow's default retries for minutes"
    )
    registry_retries: int = Field(1, ge=0, description="retries per registry request")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="CORS allowed origins"
    )
    data_source: str = Field(
        "auto", description="where the refresher loads prices from (requests without history)"
    )
    data_dir: str | None = Field(None, description="price cache folder for that")
    refresh_interval_s: float = Field(
        3600.0, gt=0, description="prices are reloaded this often, and after each NYSE close"
    )
    refresh_after_close_s: float = Field(
        900.0, ge=0, description="how long after an NYSE close its prices are loaded"
    )
    refresh_retry_s: float = Field(
        30.0, gt=0, description="first retry after a failed refresh; doubles up to the interval"
    )
    first_load_timeout_s: float = Field(
        10.0,
        ge=0,
        description="the first request for a ticker waits this long for its prices, then 503",
    )
    ledger_uri: str | None = Field(
        None,
        description="forecast ledger (SQLAlchemy URL); default ledger.db beside a SQLite MLflow "
        "store, else in the working directory; 'off' records nothing",
    )
    ledger_max_pending: int = Field(
        MAX_PENDING, ge=1, description="records queued while the ledger is down; more are dropped"
    )
    data_warning_interval_s: float = Field(
        600.0,
        ge=0,
        description="a data-layer warning (Yahoo unreachable) repeats at most this often",
    )

    @field_validator("tickers", "cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        # docker-compose passes STOCKCAST_API_KEY= when no key is set: that means no key
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("tickers")
    @classmethod
    def _normalized(cls, value: list[str]) -> list[str]:
        return [normalize_ticker(ticker) for ticker in value]


@lru_cache
def get_settings() -> Settings:
    return Settings()
