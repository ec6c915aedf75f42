"""--executor ray against a real Ray head started here (`ray start --head` on a free port,
stopped by its PID afterwards): the same MLflow run tree as the local executor."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from mlflow.tracking import MlflowClient

from pipelines.processes import free_port
from tests.helpers import wait_for
from tests.pipelines.test_parallel import (
    SLOW,
    all_gone,
    run_status,
    stop_with_sigterm,
    tree_of_a_run,
)


def accepting(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("ray") / "head.log"
    ray_cli = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [
            str(ray_cli),
            "start",
            "--head",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--disable-usage-stats",
            "--block",  # in the foreground: stopping this process stops the cluster
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: accepting(port) or head.poll() is not None, 90, "the Ray head")
        assert head.poll() is None, log.read_text()[-3000:]
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()


def test_a_pipeline_on_a_ray_cluster_logs_the_local_executors_run_tree(
    ray_head, tmp_path, monkeypatch
):
    trees = {"local": tree_of_a_run(tmp_path / "local", monkeypatch, "--executor", "local")}
    monkeypatch.setenv("RAY_ADDRESS", ray_head)
    trees["ray"] = tree_of_a_run(tmp_path / "ray", monkeypatch, "--executor", "ray")
    assert trees["ray"] == trees["local"]
    assert len(trees["ray"]) == 4


def test_sigterm_cancels_the_ray_tasks_marks_the_run_killed_and_registers_nothing(
    ray_head, tmp_path
):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    slow = [*SLOW[: SLOW.index("--workers")], "--executor", "ray"]
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.train", "AAPL", *slow, "--tracking-uri", uri],
        cwd=tmp_path,
        env={**os.environ, "RAY_ADDRESS": ray_head},
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "stderr.log").open("w"),  # a pipe nobody reads could fill and block it
    )

    def training():
        """Ray's worker processes running a fit (a task's name in their title, using CPU)."""
        found = []
        for proc in psutil.process_iter(["cmdline"]):
            title = " ".join(proc.info["cmdline"] or [])
            try:
                if "ray::run_fit" in title and proc.cpu_times().user > 1.0:
                    found.append(proc)
            except psutil.Error:
                continue
        return found if len(found) >= 2 else None

    try:
        busy = wait_for(training, 120, "two Ray tasks to be training")
        db = tmp_path / "mlflow.db"
        wait_for(lambda: run_status(db, "AAPL %") == "RUNNING", 60, "the ticker's run")
    except BaseException:
        process.kill()
        raise
    stop_with_sigterm(process)
    wait_for(lambda: all_gone(busy), 15, "the Ray tasks' processes to be killed")
    assert run_status(tmp_path / "mlflow.db", "AAPL %") == "KILLED"
    assert not MlflowClient(uri).search_registered_models()
