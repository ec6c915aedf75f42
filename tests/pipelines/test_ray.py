"""--executor ray against a real Ray head started here (`ray start --head` on a free port,
stopped by its PID afterwards): the same MLflow run tree as the local executor."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.train import main
from service.processes import free_port
from tests.helpers import wait_for
from tests.pipelines.test_parallel import tree
from tests.pipelines.test_train import TINY


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
    trees = {}
    for executor in ("local", "ray"):
        store = tmp_path / executor
        store.mkdir()
        monkeypatch.chdir(store)
        uri = f"sqlite:///{store / 'mlflow.db'}"
        if executor == "ray":
            monkeypatch.setenv("RAY_ADDRESS", ray_head)
        assert main(["AAPL", *TINY, "--executor", executor, "--tracking-uri", uri]) == 0
        trees[executor] = tree(uri)
    assert trees["ray"] == trees["local"]
    assert len(trees["ray"]) == 4
