"""Retraining when due: a champion is retrained, with its own configuration (the config.json of
the pipeline run that made it), once its ticker has `min_new_days` trading days beyond its
training data, or when the ledger says its live coverage is drifting. The champion rule then
decides (registry.refreshes for a retrain of the champion)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import pandas as pd

from forecast import tracking
from forecast.config import CVConfig, LSTMConfig, TrainConfig, WindowConfig
from forecast.online.ledger import Ledger, LedgerError
from forecast.online.performance import DEFAULT_DAYS, NothingRecorded, performance_of
from forecast.pipeline.options import PipelineOptions
from forecast.pipeline.session import load_ticker_prices

log = logging.getLogger(__name__)

MIN_NEW_DAYS = 20  # trading days beyond the champion's training data that make a retrain due
CONFIG_ARTIFACT = "config.json"  # the pipeline run's configs (forecast.pipeline.run logs it)


class NoChampion(LookupError):
    """The ticker has no registered champion to retrain."""


@dataclass(frozen=True)
class RetrainPlan:
    """What pipelines.retrain does for one ticker, and why."""

    ticker: str
    champion: str  # its version
    trained_until: pd.Timestamp
    new_days: int
    drifting: bool | None  # None: the ledger has no judged forecasts of the champion
    due: bool
    reason: str
    options: PipelineOptions  # the champion's configuration, on the data up to now
    prices: pd.DataFrame  # what those options load: the retrain trains on them


def champion_options(ticker: str, run: PipelineOptions) -> tuple[str, PipelineOptions, dict]:
    """The champion's version, its pipeline configuration with `run`'s data and tracking
    settings (from its first day on, to the newest), and its tags. NoChampion when none."""
    name = tracking.model_name(ticker)
    current = tracking.champion(name)
    if current is None:
        raise NoChampion(
            f"no champion registered ({name}@{tracking.CHAMPION}); train one first: "
            f"python -m pipelines.train {ticker}"
        )
    tags = dict(current.tags)
    run_id = tags.get(tracking.RUN_ID_TAG)
    if not run_id or tracking.TRAINED_UNTIL_TAG not in tags:
        raise NoChampion(
            f"champion v{current.version} has no {tracking.RUN_ID_TAG} or "
            f"{tracking.TRAINED_UNTIL_TAG} tag to retrain it from; train it again with "
            f"python -m pipelines.train {ticker}"
        )
    saved = tracking.run_dict(run_id, CONFIG_ARTIFACT)
    options = replace(
        run,
        tickers=(ticker,),
        window=WindowConfig.from_dict(saved["window"]),
        lstm=LSTMConfig.from_dict(saved["lstm"]),
        train=TrainConfig.from_dict(saved["train"]),
        cv=CVConfig.from_dict(saved["cv"]),
        start=tags.get("data_start"),
        end=None,
        register=True,
        promote=False,
        retrain_of=str(current.version),
    )
    return str(current.version), options, tags


def plan_retrain(
    ticker: str, run: PipelineOptions, min_new_days: int, ledger: Ledger | None
) -> RetrainPlan:
    """Whether `ticker`'s champion is due (NoChampion, and the data layer's errors)."""
    if min_new_days < 1:
        raise ValueError(f"min_new_days={min_new_days} must be at least 1")
    version, options, tags = champion_options(ticker, run)
    trained_until = pd.Timestamp(tags[tracking.TRAINED_UNTIL_TAG])
    prices = load_ticker_prices(ticker, options)
    new_days = int((prices.index > trained_until).sum())
    drifting = _drifting(ticker, version, ledger)
    since = f"{new_days} new trading day{'s' * (new_days != 1)} since {trained_until:%Y-%m-%d}"
    if new_days >= min_new_days:
        due, reason = True, f"{since} (at least {min_new_days})"
    elif drifting and new_days > 0:
        due, reason = True, f"live coverage of v{version} is drifting; {since}"
    elif drifting:
        due, reason = False, f"live coverage of v{version} is drifting, but there are no new prices"
    else:
        health = {None: "no live outcomes yet", False: "live coverage within tolerance"}[drifting]
        due, reason = False, f"{since} (fewer than {min_new_days}); {health}"
    return RetrainPlan(
        ticker, version, trained_until, new_days, drifting, due, reason, options, prices
    )


def _drifting(ticker: str, version: str, ledger: Ledger | None) -> bool | None:
    if ledger is None:
        return None
    try:
        report = performance_of(
            ledger,
            ticker,
            DEFAULT_DAYS,
            {},
            lambda versions: tracking.version_cards(tracking.model_name(ticker), versions),
        )
    except NothingRecorded:
        return None
    except LedgerError as err:
        log.warning("%s: drift not checked: %s", ticker, err)
        return None
    mine = [p for p in report if p.version == version and p.levels]
    return mine[0].drifting if mine else None
