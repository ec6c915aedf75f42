"""MLflow runs: the store and experiment, nested runs that end with the right status, batched
metrics and params, figures, and the runs of dead processes."""

from __future__ import annotations

import gc
import logging
import os
import socket
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from forecast.tracking.names import EXPERIMENT

log = logging.getLogger(__name__)

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
    _line_oriented_output()
    if uri.startswith("sqlite:///"):
        database = Path(uri.removeprefix("sqlite:///"))
        return (database.resolve().parent / "mlartifacts").as_uri()
    return None


# MLflow's artifact progress bar: a tqdm line redrawn with carriage returns (3 KB of them per
# model download) that piped or logged output would carry
PROGRESS_BAR_VARIABLE = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


def _line_oriented_output() -> None:
    """No artifact progress bar unless stderr is a terminal (and the user did not say)."""
    if not sys.stderr.isatty():
        os.environ.setdefault(PROGRESS_BAR_VARIABLE, "false")


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


def configure(tracking_uri: str | None = None, experiment: str = EXPERIMENT) -> str:
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


def rename_run(run_id: str, name: str) -> None:
    MlflowClient().update_run(run_id, name=name)


@contextmanager
def run(name: str, *, nested: bool = False, tags: dict[str, str] | None = None) -> Iterator[str]:
    """A run that ends FINISHED, FAILED on an error, or KILLED on Ctrl-C / SIGTERM."""
    active = mlflow.start_run(run_name=name, nested=nested, tags={**process_tags(), **(tags or {})})
    run_id = active.info.run_id
    try:
        yield run_id
    except (KeyboardInterrupt, Interrupted) as stop:
        _release_store(stop)
        try:
            _end_run(run_id, RunStatus.to_string(RunStatus.KILLED))
        except MlflowException as err:  # the stop goes on: the next pipeline marks it KILLED
            log.warning("run %s stays RUNNING until the next pipeline starts: %s", run_id, err)
        raise
    except BaseException as failure:
        _release_store(failure)
        _end_run(run_id, RunStatus.to_string(RunStatus.FAILED))
        raise
    _end_run(run_id, RunStatus.to_string(RunStatus.FINISHED))


def _release_store(stopped: BaseException) -> None:
    """Let go of what the frames a run was stopped in hold: a signal raised inside a store
    call leaves its SQLite cursor open (a read lock on the store, the run's end refused as
    "database is locked") for as long as its traceback's frames keep it; their locals are
    cleared (the traceback still prints) and the cursor collected."""
    traceback.clear_frames(stopped.__traceback__)
    gc.collect()


def _end_run(run_id: str, status: str, patience_s: float = 10.0) -> None:
    """End the active run, waiting out a locked SQLite store: a signal that lands mid-write
    can leave the interrupted session holding the lock until it is collected."""
    try:
        mlflow.end_run(status=status)
        return
    except MlflowException as err:
        if err.error_code != "TEMPORARILY_UNAVAILABLE":
            raise
    # end_run took the run off the active stack before the store refused: finish it directly
    deadline = time.monotonic() + patience_s
    while True:
        gc.collect()  # releases the connection of a session the signal abandoned
        time.sleep(0.1)
        try:
            MlflowClient().set_terminated(run_id, status)
            return
        except MlflowException as err:
            if err.error_code != "TEMPORARILY_UNAVAILABLE" or time.monotonic() > deadline:
                raise


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
