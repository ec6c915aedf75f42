"""End to end on the team topology without Docker: PostgreSQL + mlflow server + the API."""

import os
import threading

import pytest

from forecast.data import load_prices
from pipelines.team_stack import Stack, postgres_bin
from tests.helpers import TINY_PIPELINE, call, history_rows, run_pipeline, wait_for

pytestmark = pytest.mark.slow

TRAIN = TINY_PIPELINE


def train(stack, tmp_path, *extra):
    return run_pipeline(stack.mlflow_uri, tmp_path, *TRAIN, *extra)


@pytest.fixture(scope="module")
def needs_postgres():
    try:
        postgres_bin()
    except RuntimeError as err:
        pytest.fail(f"{err} (.ci/run installs it)")


def test_train_track_serve_and_swap_on_the_team_stack(tmp_path, needs_postgres):
    prices = load_prices("AAPL", source="sample").iloc[-30:]
    history = history_rows(prices)
    api_env = {"STOCKCAST_RELOAD_INTERVAL_S": "1", "STOCKCAST_REGISTRY_RETRY_S": "0.5"}
    with Stack(tmp_path / "stack", ("AAPL",), api_env) as stack:
        pids = stack.pids
        status, body = call("GET", f"{stack.api_url}/ready")
        assert status == 503 and body["status"] == "not ready"

        printed = train(stack, tmp_path)
        assert "promoted (first champion)" in printed

        # the runs, through MLflow's REST API
        status, experiment = call(
            "GET",
            f"{stack.mlflow_uri}/api/2.0/mlflow/experiments/get-by-name?experiment_name=stockcast",
        )
        assert status == 200
        status, found = call(
            "POST",
            f"{stack.mlflow_uri}/api/2.0/mlflow/runs/search",
            {"experiment_ids": [experiment["experiment"]["experiment_id"]]},
        )
        names = {run["info"]["run_name"]: run["info"]["status"] for run in found["runs"]}
        assert {"cv/fold-1", "final-fit"} <= set(names) and set(names.values()) == {"FINISHED"}
        status, alias = call(
            "GET",
            f"{stack.mlflow_uri}/api/2.0/mlflow/registered-models/alias?name=stockcast-AAPL&alias=champion",
        )
        assert status == 200 and str(alias["model_version"]["version"]) == "1"

        wait_for(lambda: call("GET", f"{stack.api_url}/ready")[0] == 200)
        status, answer = call(
            "POST", f"{stack.api_url}/forecast", {"ticker": "AAPL", "history": history}
        )
        assert (
            status == 200 and answer["model"]["version"] == "1" and answer["as_of"] == "2013-03-01"
        )

        # retrain with --promote: the alias moves and the API follows without a failed request
        seen, failures, stop = set(), [], threading.Event()

        def hammer():
            while not stop.is_set():
                code, reply = call(
                    "POST", f"{stack.api_url}/forecast", {"ticker": "AAPL", "history": history}
                )
                if code == 200:
                    seen.add(reply["model"]["version"])
                else:
                    failures.append((code, reply))

        worker = threading.Thread(target=hammer)
        worker.start()
        try:
            assert "promoted (--promote)" in train(stack, tmp_path, "--promote", "--seed", "3")
            wait_for(lambda: "2" in seen, timeout=60)
        finally:
            stop.set()
            worker.join()
        assert failures == [] and seen == {"1", "2"}
        assert call("GET", f"{stack.api_url}/ready")[1]["models"] == {"AAPL": "2"}
    for pid in pids:  # nothing left behind
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert stack.pg_dir is not None and not stack.pg_dir.exists()


def test_the_up_command_runs_under_its_new_name_and_stops_everything(tmp_path, needs_postgres):
    """`python -m pipelines.team_stack up`: the harness left the service package."""
    import re
    import signal
    import subprocess
    import sys

    from pipelines.processes import http_ok

    out = tmp_path / "up.out"
    command = [sys.executable, "-m", "pipelines.team_stack", "up", "--dir", str(tmp_path / "s")]
    with out.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_for(
            lambda: "Ctrl-C stops everything." in out.read_text(),
            240,
            "the stack",
            process=process,
            log=out,
        )
        api = re.search(r"Stockcast\s+(http://127\.0\.0\.1:\d+)", out.read_text()).group(1)
        mlflow = re.search(r"MLflow\s+(http://127\.0\.0\.1:\d+)", out.read_text()).group(1)
        assert http_ok(f"{api}/health") and http_ok(f"{mlflow}/health")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 0
        assert not http_ok(f"{api}/health") and not http_ok(f"{mlflow}/health")  # all stopped
    finally:
        if process.poll() is None:
            process.kill()
