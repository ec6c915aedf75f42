import contextlib
import datetime as dt
import math
import os
import subprocess
import sys

import mlflow
import pytest
import sqlalchemy
from mlflow.entities import Param
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import TEMPORARILY_UNAVAILABLE
from mlflow.tracking import MlflowClient

from forecast import tracking
from forecast.tracking import runs


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh embedded store in an empty folder, the experiment configured."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    experiment_id = tracking.configure(None, "runs-test")
    yield tmp_path, experiment_id, MlflowClient()
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


def test_the_embedded_default_is_mlflow_db_and_mlartifacts_here(store):
    folder, experiment_id, client = store
    assert tracking.tracking_uri() == f"sqlite:///{folder / 'mlflow.db'}"
    location = client.get_experiment(experiment_id).artifact_location
    assert location == (folder / "mlartifacts").as_uri()
    # configuring again finds the same experiment, restoring it when deleted
    client.delete_experiment(experiment_id)
    assert tracking.configure(None, "runs-test") == experiment_id
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"


@pytest.mark.parametrize(
    "error,status",
    [(None, "FINISHED"), (ValueError, "FAILED"), (KeyboardInterrupt, "KILLED")]
    + [(tracking.Interrupted, "KILLED")],
)
def test_a_run_ends_with_the_status_its_block_earned(store, error, status):
    _, _, client = store
    with pytest.raises(error) if error else contextlib.nullcontext():
        with tracking.run("parent", tags={"ticker": "AAPL"}) as parent_id:
            with tracking.run("child", nested=True) as child_id:
                if error:
                    raise error("stop")
    parent, child = client.get_run(parent_id), client.get_run(child_id)
    assert parent.info.status == child.info.status == status
    assert child.data.tags["mlflow.parentRunId"] == parent_id
    assert parent.data.tags["ticker"] == "AAPL"
    assert parent.data.tags["stockcast.pid"] == str(os.getpid())


def test_metric_buffer_writes_in_batches_of_the_mlflow_limit(store, monkeypatch):
    _, _, client = store
    calls = []
    real = MlflowClient.log_batch

    def counting(self, run_id, metrics=(), **kwargs):
        calls.append(len(metrics))
        return real(self, run_id, metrics=metrics, **kwargs)

    monkeypatch.setattr(MlflowClient, "log_batch", counting)
    with tracking.run("buffered") as run_id:
        buffer = tracking.MetricBuffer(run_id)
        for step in range(2500):
            buffer.add("loss", 1.0 / (step + 1), step=step)
        buffer.add_all({"a": 1.0, "b": 2.0})
        assert calls == []  # nothing is written before flush
        buffer.flush()
    assert calls == [1000, 1000, 502] and buffer.metrics == []
    history = client.get_metric_history(run_id, "loss")
    assert len(history) == 2500 and {m.step for m in history} == set(range(2500))


def test_epoch_logger_skips_nan_validation(store):
    with tracking.run("epochs") as run_id:
        buffer = tracking.MetricBuffer(run_id)
        logger = tracking.EpochLogger(buffer, prefix="repeat_0/")
        logger.on_epoch_end(1, {"train_loss": 0.5, "val_loss": math.nan, "lr": 1e-3})
        logger.on_epoch_end(2, {"train_loss": 0.4, "val_loss": 0.45, "lr": 1e-3})
        assert sorted({m.key for m in buffer.metrics}) == [
            "repeat_0/lr",
            "repeat_0/train_loss",
            "repeat_0/val_loss",
        ]
        assert [m.step for m in buffer.metrics if m.key == "repeat_0/val_loss"] == [2]


def test_params_beyond_a_batch_and_long_values_are_kept(store):
    _, _, client = store
    params = {f"p{i:03d}": i for i in range(250)} | {"long": "x" * 10_000}
    with tracking.run("params") as run_id:
        tracking.log_params(run_id, params, tags={"kind": "test"})
    run = client.get_run(run_id)
    assert len(run.data.params) == 251 and run.data.params["p249"] == "249"
    assert run.data.params["long"] == "x" * runs._PARAM_VALUE_LIMIT
    assert run.data.tags["kind"] == "test"


def test_rename_run_and_the_pipeline_run_name_format(store):
    _, _, client = store
    with tracking.run("AAPL") as run_id:
        name = tracking.pipeline_run_name("AAPL", dt.datetime(2026, 11, 23, 9, 5, 7), run_id)
        tracking.rename_run(run_id, name)
    assert client.get_run(run_id).info.run_name == f"AAPL 2026-11-23 09:05:07 {run_id[:8]}"


def test_runs_of_a_dead_process_are_marked_killed_and_live_ones_are_not(store):
    _, experiment_id, client = store
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(dead.stdout)  # that process has exited: its pid names no live process of its start
    gone = client.create_run(
        experiment_id,
        tags={
            "stockcast.host": runs.socket.gethostname(),
            "stockcast.pid": str(pid),
            "stockcast.pid_start": "1",
        },
    )
    other_host = client.create_run(
        experiment_id, tags={"stockcast.host": "elsewhere", "stockcast.pid": str(pid)}
    )
    alive = client.create_run(experiment_id, tags=tracking.process_tags())
    assert tracking.mark_dead_runs_killed(experiment_id) == [gone.info.run_id]
    assert client.get_run(gone.info.run_id).info.status == "KILLED"
    assert client.get_run(other_host.info.run_id).info.status == "RUNNING"
    assert client.get_run(alive.info.run_id).info.status == "RUNNING"


def test_a_locked_store_at_the_end_of_a_run_is_waited_out(store, monkeypatch):
    _, _, client = store
    real = MlflowClient.set_terminated
    calls = []

    def locked_once(self, run_id, status=None, end_time=None):
        calls.append(status)
        if len(calls) == 1:
            raise MlflowException("database is locked", error_code=TEMPORARILY_UNAVAILABLE)
        return real(self, run_id, status, end_time)

    monkeypatch.setattr(MlflowClient, "set_terminated", locked_once)
    with pytest.raises(KeyboardInterrupt), tracking.run("interrupted") as run_id:
        raise KeyboardInterrupt
    assert calls == ["KILLED", "KILLED"]
    assert client.get_run(run_id).info.status == "KILLED" and mlflow.active_run() is None


def test_a_signal_landing_inside_a_store_read_still_ends_the_run_killed(store):
    """The stop raised while a store session has a statement open (its SQLite lock held by
    this very process, through the exception's frames) ends the run KILLED and propagates as
    the stop, not as the store's "database is locked"."""
    _, _, client = store
    engine = mlflow.tracking._get_store().engine
    landed = []

    def stop_mid_read(conn, cursor, statement, parameters, context, executemany):
        # executed, not fetched: the statement is open and this connection holds a read lock
        if statement.lstrip().upper().startswith("SELECT") and not landed:
            landed.append(statement)
            raise tracking.Interrupted("signal 15")

    with pytest.raises(tracking.Interrupted), tracking.run("interrupted") as run_id:
        sqlalchemy.event.listen(engine, "after_cursor_execute", stop_mid_read)
        try:
            client.log_batch(run_id, params=[Param("lookback", "60")])
        finally:
            sqlalchemy.event.remove(engine, "after_cursor_execute", stop_mid_read)
    assert landed  # the stop did land inside the store's session
    assert client.get_run(run_id).info.status == "KILLED" and mlflow.active_run() is None


def test_a_store_that_refuses_the_end_of_a_stopped_run_does_not_swallow_the_stop(
    store, monkeypatch, caplog
):
    def refused(run_id, status, patience_s=10.0):
        mlflow.end_run(status)  # as the real one: the run is off the active stack, then refused
        raise MlflowException("database is locked", error_code=TEMPORARILY_UNAVAILABLE)

    monkeypatch.setattr(runs, "_end_run", refused)
    # the stop propagates as itself (a pipeline exits 130), not as the store's error
    with pytest.raises(tracking.Interrupted), tracking.run("stopped") as run_id:
        raise tracking.Interrupted("signal 15")
    assert f"run {run_id} stays RUNNING until the next pipeline starts" in caplog.text
    # any other failure still raises the store's error: nothing hides it
    with pytest.raises(MlflowException, match="database is locked"), tracking.run("failed"):
        raise ValueError("boom")
