"""Fits as tasks on worker processes: the same results as one process, tickers side by side,
one failing ticker leaving the others alone, and a signal stopping every worker."""

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys

import psutil
import pytest
from mlflow.tracking import MlflowClient

import forecast.pipeline.run
from forecast.parallel.executors import FIT_TITLE
from pipelines.train import main
from tests.helpers import wait_for
from tests.pipelines.test_train import TINY, runs


def tree(uri):
    """Every run's name, status, params and metrics, minus what differs run to run."""
    client = MlflowClient(uri)
    out = {}
    for run in runs(client):
        name = "parent" if "mlflow.parentRunId" not in run.data.tags else run.info.run_name
        params = {k: v for k, v in run.data.params.items() if not k.startswith("run.")}
        metrics = {
            k: v
            for k, v in run.data.metrics.items()
            if "seconds" not in k and not k.endswith("/lr")
        }
        out[(run.data.tags["ticker"], name)] = (run.info.status, params, metrics)
    return out


def tree_of_a_run(store, monkeypatch, *options):
    """The run tree of a tiny AAPL pipeline run with `options` in a new store folder."""
    store.mkdir()
    monkeypatch.chdir(store)
    uri = f"sqlite:///{store / 'mlflow.db'}"
    assert main(["AAPL", *TINY, *options, "--tracking-uri", uri]) == 0
    return tree(uri)


def test_workers_give_the_run_tree_and_metrics_of_one_process(tmp_path, monkeypatch):
    trees = {w: tree_of_a_run(tmp_path / w, monkeypatch, "--workers", w) for w in ("1", "2")}
    assert trees["1"] == trees["2"]  # same runs, params and metrics, to the last bit
    assert len(trees["1"]) == 4  # parent, 2 folds, the final fit


def test_one_failing_ticker_leaves_the_others_to_finish(store_dir, monkeypatch, capsys):
    original = forecast.pipeline.run.log_folds

    def diverging(job, results, clock):
        if job.ticker == "MSFT":
            raise FloatingPointError("training diverged at epoch 2 (loss nan)")
        return original(job, results, clock)

    monkeypatch.setattr(forecast.pipeline.run, "log_folds", diverging)
    uri = f"sqlite:///{store_dir / 'mlflow.db'}"
    code = main(["AAPL", "MSFT", "ZZZZ", "IBM", *TINY, "--workers", "2", "--tracking-uri", uri])
    assert code == 1
    captured = capsys.readouterr()
    assert "error: ZZZZ: " in captured.err  # no data: not even queued
    assert "error: MSFT: training diverged at epoch 2" in captured.err
    assert captured.err.rstrip().endswith("failed: ZZZZ, MSFT")
    client = MlflowClient(uri)
    for ticker in ("AAPL", "IBM"):
        assert client.get_model_version_by_alias(f"stockcast-{ticker}", "champion").version
    assert not client.search_model_versions("name='stockcast-MSFT'")
    statuses = {
        r.data.tags["ticker"]: r.info.status
        for r in runs(client)
        if "mlflow.parentRunId" not in r.data.tags
    }
    assert statuses == {"AAPL": "FINISHED", "MSFT": "FAILED", "IBM": "FINISHED"}
    lines = captured.out.splitlines()
    summary = lines.index("summary")
    # the trained ones, then the failed ones in the order they failed
    assert [line.split()[0] for line in lines[summary + 2 : summary + 6]] == [
        "AAPL",
        "IBM",
        "ZZZZ",
        "MSFT",
    ]


def run_status(db, name):
    """A run's status straight from the SQLite store (None until it exists)."""
    if not db.exists():
        return None
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as store:
        try:
            row = store.execute("SELECT status FROM runs WHERE name LIKE ?", (name,)).fetchone()
        except sqlite3.OperationalError:  # the tables are being created
            return None
    return row[0] if row else None


@pytest.fixture
def store_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# fits of minutes: the signal always lands mid-training
SLOW = [*TINY, "--epochs", "5000", "--hidden-sizes", "32,16", "--workers", "2"]


def start_slow_pipeline(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.train", "AAPL", *SLOW, "--tracking-uri", uri],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, uri


def busy_workers(driver):
    """The driver's descendants, once two worker processes are inside a fit (a worker names
    itself FIT_TITLE while it runs one)."""
    children = driver.children(recursive=True)
    busy = [p for p in children if _name(p) == FIT_TITLE]
    return children if len(busy) >= 2 else None


def _name(process):
    try:
        return process.name()
    except psutil.NoSuchProcess:
        return None


def stop_with_sigterm(process):
    """SIGTERM the pipeline; it must exit 130 (killed here after a 60 s deadline)."""
    process.send_signal(signal.SIGTERM)
    try:
        assert process.wait(timeout=60) == 130
    finally:
        if process.poll() is None:
            process.kill()


def all_gone(processes):
    return all(not p.is_running() or p.status() == psutil.STATUS_ZOMBIE for p in processes)


def test_workers_of_a_driver_killed_outright_exit_on_their_own(tmp_path):
    process, _ = start_slow_pipeline(tmp_path)
    try:
        children = wait_for(lambda: busy_workers(psutil.Process(process.pid)), 120, "workers")
        process.kill()  # SIGKILL: the driver cannot stop anything itself
        process.wait(timeout=30)
        wait_for(lambda: all_gone(children), 15, "every worker process to exit")
    finally:
        if process.poll() is None:
            process.kill()


def test_sigterm_stops_every_worker_marks_the_runs_killed_and_registers_nothing(tmp_path):
    process, uri = start_slow_pipeline(tmp_path)
    driver = psutil.Process(process.pid)
    try:
        children = wait_for(lambda: busy_workers(driver), 120, "two workers to be training")
        # read the store without MLflow's client: it would race the driver's table creation
        parent = wait_for(lambda: run_status(tmp_path / "mlflow.db", "AAPL %"), 60, "the run")
        assert parent == "RUNNING"
    except BaseException:
        process.kill()
        raise
    stop_with_sigterm(process)
    assert "interrupted" in process.stderr.read()

    wait_for(lambda: all_gone(children), 10, "every worker process to exit")
    client = MlflowClient(uri)
    statuses = {r.info.run_name.split(" ")[0]: r.info.status for r in runs(client)}
    assert statuses == {"AAPL": "KILLED"}  # stopped in CV: no fold was logged yet
    assert not client.search_registered_models()
    assert os.path.exists(tmp_path / "mlflow.db")
