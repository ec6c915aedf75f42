"""MLflow: experiment setup, batched metrics, nested runs, the pyfunc model, registry and aliases.

The only place that imports mlflow (with pyfunc_model.py, the file MLflow loads the model from).
Import it lazily: `import mlflow` costs seconds.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

import forecast
from forecast.forecaster import Forecaster

log = logging.getLogger(__name__)

CHAMPION = "champion"
_BATCH = 1000  # MLflow's limit of metrics per log_batch call
_PARAM_VALUE_LIMIT = 6000


class Interrupted(BaseException):
    """Raised in the main thread on SIGTERM so runs end KILLED like on Ctrl-C."""


def use_tracking_uri(tracking_uri: str | None = None) -> str | None:
    """Point MLflow at `tracking_uri`, $MLFLOW_TRACKING_URI, or the embedded default:
    ./mlflow.db with artifacts in ./mlartifacts (what a plain `mlflow ui` here shows).
    Returns the artifact location new experiments need: `mlartifacts` beside a SQLite file,
    else None (a server decides)."""
    uri = (
        tracking_uri
        or os.environ.get("MLFLOW_TRACKING_URI")
        or f"sqlite:///{Path.cwd() / 'mlflow.db'}"
    )
    mlflow.set_tracking_uri(uri)
    if uri.startswith("sqlite:///"):
        database = Path(uri.removeprefix("sqlite:///"))
        return (database.resolve().parent / "mlartifacts").as_uri()
    return None


@contextmanager
def _store_lock(uri: str) -> Iterator[None]:
    """For a SQLite store, one process at a time creates or migrates it: two pipelines starting
    on a new mlflow.db would otherwise both create its tables and one would fail."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    import fcntl

    database = Path(uri.removeprefix("sqlite:///")).resolve()
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(database.with_name(database.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def configure(tracking_uri: str | None = None, experiment: str = "stockcast") -> str:
    """`use_tracking_uri`, then the experiment's id, creating the experiment when needed."""
    artifact_location = use_tracking_uri(tracking_uri)
    with _store_lock(mlflow.get_tracking_uri()):
        return _experiment_id(experiment, artifact_location)


def _experiment_id(experiment: str, artifact_location: str | None) -> str:
    client = MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        try:
            experiment_id = client.create_experiment(
                experiment, artifact_location=artifact_location
            )
        except MlflowException:  # another process created it meanwhile
            found = client.get_experiment_by_name(experiment)
            if found is None:
                raise
            experiment_id = found.experiment_id
    else:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        experiment_id = found.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def tracking_uri() -> str:
    return mlflow.get_tracking_uri()


def _process_start(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22: start time in clock ticks since boot


def process_tags() -> dict[str, str]:
    """Who runs this run, so a later start can tell whether it died."""
    pid = os.getpid()
    return {
        "stockcast.host": socket.gethostname(),
        "stockcast.pid": str(pid),
        "stockcast.pid_start": _process_start(pid) or "",
    }


def mark_dead_runs_killed(experiment_id: str) -> list[str]:
    """End RUNNING runs whose pipeline process on this host is gone (SIGKILL, power loss)."""
    client = MlflowClient()
    host = socket.gethostname()
    killed = []
    for run in client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'"):
        tags = run.data.tags
        if tags.get("stockcast.host") != host or not tags.get("stockcast.pid"):
            continue
        pid = int(tags["stockcast.pid"])
        alive = _process_start(pid) is not None and _process_start(pid) == tags.get(
            "stockcast.pid_start"
        )
        if not alive:
            client.set_terminated(run.info.run_id, status="KILLED")
            killed.append(run.info.run_id)
    if killed:
        log.warning(
            "marked %d runs of dead pipeline processes KILLED: %s", len(killed), ", ".join(killed)
        )
    return killed


class MetricBuffer:
    """Collects metrics and writes them with log_batch: one call per 1,000 values, not per value."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.metrics: list[Metric] = []

    def add(self, key: str, value: float, step: int = 0) -> None:
        self.metrics.append(
            Metric(key, float(value), int(pd.Timestamp.now().timestamp() * 1000), step)
        )

    def add_all(self, values: dict[str, float], step: int = 0) -> None:
        for key, value in values.items():
            self.add(key, value, step)

    def flush(self) -> None:
        client = MlflowClient()
        for start in range(0, len(self.metrics), _BATCH):
            client.log_batch(self.run_id, metrics=self.metrics[start : start + _BATCH])
        self.metrics = []


class EpochLogger:
    """A training callback that buffers per-epoch losses under `prefix` (logged at flush)."""

    def __init__(self, buffer: MetricBuffer, prefix: str = "") -> None:
        self.buffer, self.prefix = buffer, prefix

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        for key in ("train_loss", "val_loss", "lr"):
            value = metrics.get(key)
            if value is not None and value == value:  # NaN: no validation set
                self.buffer.add(f"{self.prefix}{key}", value, step=epoch)


def log_params(run_id: str, params: dict[str, Any], tags: dict[str, str] | None = None) -> None:
    items = [Param(k, str(v)[:_PARAM_VALUE_LIMIT]) for k, v in params.items()]
    tag_items = [RunTag(k, str(v)) for k, v in (tags or {}).items()]
    client = MlflowClient()
    for start in range(0, max(len(items), 1), 100):
        client.log_batch(
            run_id, params=items[start : start + 100], tags=tag_items if start == 0 else []
        )


@contextmanager
def run(name: str, *, nested: bool = False, tags: dict[str, str] | None = None) -> Iterator[str]:
    """A run that ends FINISHED, FAILED on an error, or KILLED on Ctrl-C / SIGTERM."""
    active = mlflow.start_run(run_name=name, nested=nested, tags={**process_tags(), **(tags or {})})
    status = RunStatus.to_string(RunStatus.FINISHED)
    try:
        yield active.info.run_id
    except (KeyboardInterrupt, Interrupted):
        status = RunStatus.to_string(RunStatus.KILLED)
        raise
    except BaseException:
        status = RunStatus.to_string(RunStatus.FAILED)
        raise
    finally:
        mlflow.end_run(status=status)


def log_figure(figure: Any, path: str) -> None:
    import matplotlib.pyplot as plt

    mlflow.log_figure(figure, path)
    plt.close(figure)


def log_text(text: str, path: str) -> None:
    mlflow.log_text(text, path)


def log_dict(data: dict[str, Any], path: str) -> None:
    mlflow.log_dict(data, path)


def set_tags(tags: dict[str, str]) -> None:
    mlflow.set_tags(tags)


def pip_requirements() -> list[str]:
    """Exact versions of what the pyfunc imports, so the model runs where it was trained."""
    from importlib.metadata import version

    return [
        f"{name}=={version(name).split('+')[0]}"
        for name in ("mlflow", "torch", "numpy", "pandas", "safetensors")
    ]


def log_forecaster(forecaster: Forecaster, example: pd.DataFrame, step: int) -> str:
    """Log the fitted Forecaster as a pyfunc model from code; returns its model URI."""
    model_code = Path(__file__).with_name("pyfunc_model.py")
    package = Path(forecast.__file__).parent
    with tempfile.TemporaryDirectory() as tmp:
        saved = forecaster.save(Path(tmp) / "forecaster")
        output = forecaster.predict(_example_prices(example, forecaster))
        output_frame = pd.DataFrame(
            {
                "date": pd.DatetimeIndex(output.index).strftime("%Y-%m-%d"),
                "forecast": output["forecast"],
            }
        )
        signature = infer_signature(
            example, output_frame, params={"horizon": forecaster.window.horizon}
        )
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(model_code),
            artifacts={"forecaster": str(saved)},
            code_paths=[str(package)],
            signature=signature,
            input_example=example,
            pip_requirements=pip_requirements(),
            step=step,
        )
    return info.model_uri


def _example_prices(example: pd.DataFrame, forecaster: Forecaster) -> pd.DataFrame:
    from forecast.data.history import prices_from_rows

    return prices_from_rows(example, forecaster.window.features)


class ModelNotFoundError(LookupError):
    """The registry has no such model, version or alias."""


class RegistryUnavailableError(RuntimeError):
    """The tracking server or store could not be reached."""


@dataclass(frozen=True)
class RegisteredForecaster:
    """A Forecaster loaded from the registry, with where it came from."""

    forecaster: Forecaster
    name: str
    version: str
    alias: str
    run_id: str
    tags: dict[str, str]


def _registry_call(func: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except MlflowException as err:
        if err.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            raise ModelNotFoundError(str(err)) from err
        raise RegistryUnavailableError(f"MLflow registry error at {tracking_uri()}: {err}") from err
    except (OSError, ConnectionError) as err:
        raise RegistryUnavailableError(
            f"MLflow registry unreachable at {tracking_uri()}: {err}"
        ) from err
    except Exception as err:  # sqlalchemy and requests errors, without importing them here
        module = type(err).__module__
        if module.startswith(("sqlalchemy", "requests", "urllib3")):
            raise RegistryUnavailableError(
                f"MLflow registry unreachable at {tracking_uri()}: {err}"
            ) from err
        raise


def alias_version(name: str, alias: str) -> str:
    """The version `alias` points at; ModelNotFoundError or RegistryUnavailableError otherwise."""
    return str(_registry_call(MlflowClient().get_model_version_by_alias, name, alias).version)


def load_registered(name: str, alias: str) -> RegisteredForecaster:
    """Download `models:/name@alias` and load its Forecaster directly (no pyfunc wrapper)."""
    version = _registry_call(MlflowClient().get_model_version_by_alias, name, alias)
    with tempfile.TemporaryDirectory() as tmp:
        local = _registry_call(
            lambda: mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{version.version}", dst_path=tmp
            )
        )
        forecaster = Forecaster.load(Path(local) / "artifacts" / "forecaster")
    return RegisteredForecaster(
        forecaster, name, str(version.version), alias, version.run_id or "", dict(version.tags)
    )


def champion(name: str) -> Any | None:
    """The version holding the champion alias, or None (no model, or no alias yet)."""
    try:
        return MlflowClient().get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def register(model_uri: str, name: str, tags: dict[str, str]) -> Any:
    """Register a new version carrying `tags` (CV metrics, data range); returns it."""
    client = MlflowClient()
    try:
        client.create_registered_model(
            name, description="Stockcast LSTM forecasts; alias champion is served"
        )
    except MlflowException as err:
        if "already exists" not in str(err).lower() and "RESOURCE_ALREADY_EXISTS" not in str(err):
            raise
    version = mlflow.register_model(model_uri, name, tags=tags)
    return version


def promote(name: str, version: str) -> None:
    MlflowClient().set_registered_model_alias(name, CHAMPION, version)


def settle_champion(name: str, folds_signature: str) -> str | None:
    """Point the champion at the best version cross-validated on these folds, if the current
    champion is one of them and worse (two pipelines that promoted at once converge).
    Returns the champion's version afterwards."""
    client = MlflowClient()
    current = champion(name)
    if current is None or current.tags.get("cv.folds_signature") != folds_signature:
        return None if current is None else str(current.version)
    same = [
        v
        for v in client.search_model_versions(f"name='{name}'")
        if v.tags.get("cv.folds_signature") == folds_signature and "cv.skill_mean" in v.tags
    ]
    best = max(same, key=lambda v: (float(v.tags["cv.skill_mean"]), -int(v.version)))
    if float(best.tags["cv.skill_mean"]) > float(current.tags.get("cv.skill_mean", "-inf")):
        promote(name, str(best.version))
        return str(best.version)
    return str(current.version)


def open_ui_hint() -> str:
    uri = tracking_uri()
    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///"))
        here = path.parent == Path.cwd()
        return (
            "mlflow ui"
            + ("" if here else f" --backend-store-uri {uri}")
            + " (then http://127.0.0.1:5000)"
        )
    return f"open {uri} in a browser"
