"""MLflow, and only here: runs.py (runs, metrics, plots), registry.py (versions, the champion
rule, loading by alias), pyfunc.py (the logged model), names.py (names without mlflow).

Re-exports only. They load lazily: `import mlflow` costs seconds, and names.py must stay free.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from forecast.tracking.names import (
    BEATS_NAIVE_TAG,
    CHAMPION,
    CV_FORECASTS_ARTIFACT,
    CV_TAG_PREFIX,
    EXPERIMENT,
    FOLDS_TAG,
    INTERVAL_RULE_TAG,
    MODEL_PREFIX,
    RETRAIN_OF_TAG,
    RUN_ID_TAG,
    SKILL_STDERR_TAG,
    SKILL_TAG,
    TRAINED_UNTIL_TAG,
    interval_tag,
    model_name,
    pipeline_run_name,
)

if TYPE_CHECKING:  # the names below, for type checkers; at run time __getattr__ loads them
    from forecast.tracking.pyfunc import log_forecaster, pip_requirements
    from forecast.tracking.registry import (
        MIN_SKILL_GAIN,
        Decision,
        ModelNotFoundError,
        RegisteredForecaster,
        RegistryUnavailableError,
        alias_version,
        beats,
        champion,
        champion_tickers,
        load_registered,
        promote,
        promote_or_keep,
        refreshes,
        register,
        run_dict,
        settle_champion,
        version_cards,
    )
    from forecast.tracking.runs import (
        EpochLogger,
        Interrupted,
        MetricBuffer,
        configure,
        log_dict,
        log_figure,
        log_params,
        log_text,
        mark_dead_runs_killed,
        open_ui_hint,
        process_tags,
        rename_run,
        run,
        set_tags,
        tracking_uri,
        use_tracking_uri,
    )

_MODULES = ("runs", "registry", "pyfunc")  # where the names above live, imported on first use


def __getattr__(name: str) -> Any:
    for home in _MODULES:
        module = import_module(f"forecast.tracking.{home}")
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module 'forecast.tracking' has no attribute {name!r}")
