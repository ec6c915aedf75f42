"""Names shared by the pipeline, the service and the registry: no mlflow import, so a CLI's
--help and the service's settings can read them for free."""

from __future__ import annotations

import datetime as dt

EXPERIMENT = "stockcast"  # the MLflow experiment pipelines log to by default
CHAMPION = "champion"  # the registry alias the service serves

# registered model version tags
CV_TAG_PREFIX = "cv."  # the version's CV metrics: cv.<metric>_mean, cv.naive.<metric>_mean, ...
FOLDS_TAG = f"{CV_TAG_PREFIX}folds_signature"  # equal exactly when two versions' CV was alike
SKILL_TAG = f"{CV_TAG_PREFIX}skill_mean"  # mean CV skill vs naive, full precision (float repr)
SKILL_STDERR_TAG = f"{CV_TAG_PREFIX}skill_stderr"  # its standard error over folds
BEATS_NAIVE_TAG = f"{CV_TAG_PREFIX}beats_naive"  # "true" or "false": cards.beats_naive
RUN_ID_TAG = "run_id"  # the pipeline's parent run
TRAINED_UNTIL_TAG = "trained_until"  # the last day of prices the final fit saw
INTERVAL_RULE_TAG = "intervals.rule"  # the width rule the version serves (ewma, garch, constant)
RETRAIN_OF_TAG = "retrain_of"  # the champion version a pipelines.retrain run refreshed
# the parent run's artifact with every CV forecast by origin and step (evaluation.cv.cv_forecasts)
CV_FORECASTS_ARTIFACT = "cv/forecasts.csv"


def interval_tag(level_label: str, metric: str) -> str:
    """The tag of the served interval's CV figure at a level (label 80 for 0.8: see
    forecast.intervals.level_name): cv.intervals.80.coverage, cv.intervals.80.width."""
    return f"{CV_TAG_PREFIX}intervals.{level_label}.{metric}"


def pipeline_run_name(ticker: str, started: dt.datetime, run_id: str) -> str:
    """The parent run of one ticker's pipeline: readable, and unique by the run id's head
    (two runs started in the same second still differ)."""
    return f"{ticker} {started:%Y-%m-%d %H:%M:%S} {run_id[:8]}"


MODEL_PREFIX = "stockcast-"


def model_name(ticker: str) -> str:
    """The registered model of a ticker: stockcast-<TICKER>, the ticker normalized (AAPL, not
    aapl), so a pipeline and the service always agree on it."""
    from forecast.data.tickers import normalize_ticker  # pandas: only when a name is built

    return f"{MODEL_PREFIX}{normalize_ticker(ticker)}"
