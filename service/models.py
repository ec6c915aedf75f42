"""Registered models kept warm: loaded by alias, refreshed when the alias moves, swapped atomically.

A request takes a reference to the LoadedModel it starts with; a swap replaces the dict entry, so
in-flight requests finish on the old model and new ones get the new model. Nobody waits.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

from forecast import tracking
from forecast.tracking import (
    ModelNotFoundError,
    RegisteredForecaster,
    RegistryUnavailableError,
    model_name,
)
from service.schemas import ModelRef

log = logging.getLogger("service.models")


@dataclass(frozen=True)
class LoadedModel:
    ticker: str
    registered: RegisteredForecaster
    loaded_at: dt.datetime
    ref: ModelRef  # what every response says of the model, built once at load


class ModelStore:
    """Tickers -> loaded models, plus what went wrong for /ready."""

    def __init__(self, alias: str, preload: list[str]) -> None:
        self.alias = alias
        self.preload = list(preload)
        self.models: dict[str, LoadedModel] = {}
        self.load_errors: dict[str, str] = {}
        self.registry_error: str | None = None
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, ticker: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(ticker, threading.Lock())

    def get(self, ticker: str) -> LoadedModel:
        """The warm model, loaded on first use (ModelNotFoundError, RegistryUnavailableError)."""
        loaded = self.models.get(ticker)
        if loaded is not None:
            return loaded
        with self._lock(ticker):  # one load per ticker, however many requests wait for it
            loaded = self.models.get(ticker)
            return loaded if loaded is not None else self._load(ticker)

    def _load(self, ticker: str) -> LoadedModel:
        try:
            registered = tracking.load_registered(model_name(ticker), self.alias)
        except ModelNotFoundError as err:
            message = (
                f"no model {model_name(ticker)} with alias {self.alias!r} is registered for ticker "
                f"{ticker!r}; train one with: python -m pipelines.train {ticker}"
            )
            self.load_errors[ticker] = message
            raise ModelNotFoundError(message) from err
        except RegistryUnavailableError as err:
            self.registry_error = str(err)
            self.load_errors[ticker] = str(err)
            raise
        loaded = LoadedModel(ticker, registered, dt.datetime.now(dt.UTC), ModelRef.of(registered))
        self.models[ticker] = loaded  # the atomic swap
        self.load_errors.pop(ticker, None)
        self.registry_error = None
        log.info("serving %s version %s (%s)", registered.name, registered.version, self.alias)
        return loaded

    def refresh(self) -> dict[str, str]:
        """Load what is missing and every alias that moved; returns ticker -> version served."""
        served = {}
        for ticker in sorted(set(self.preload) | set(self.models)):
            current = self.models.get(ticker)
            try:
                version = tracking.alias_version(model_name(ticker), self.alias)
                if current is None or current.registered.version != version:
                    with self._lock(ticker):
                        current = self._load(ticker)
                self.registry_error = None
            except ModelNotFoundError:
                self.load_errors[ticker] = (
                    f"no model {model_name(ticker)}@{self.alias} is registered"
                )
            except RegistryUnavailableError as err:
                self.registry_error = str(err)  # keep serving what is loaded
                if current is None:
                    self.load_errors[ticker] = str(err)
                log.warning("registry unavailable; serving the loaded models: %s", err)
            if current is not None:
                served[ticker] = current.registered.version
        return served

    def readiness(self) -> tuple[bool, list[str]]:
        """Ready when every preloaded ticker is loaded; the reasons otherwise."""
        missing = [t for t in self.preload if t not in self.models]
        reasons = [f"{t}: {self.load_errors.get(t, 'not loaded yet')}" for t in missing]
        return not missing, reasons
