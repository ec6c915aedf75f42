"""Sustained load while the alias moves twice: 60 s at 16 connections against POST /forecast.

A real uvicorn process on loopback, a Python load generator (16 keep-alive connections), and the
champion alias moved to a new version at 1/3 and 2/3 of the run. Zero failed requests, p50/p99
reported, resident memory after warm-up may not grow by more than 10%.
"""

import http.client
import json
import os
import statistics
import subprocess
import threading
import time

import pytest
from mlflow.tracking import MlflowClient

from forecast.data import load_prices
from pipelines.processes import free_port, http_ok, wait_for
from service.launch import api_command

pytestmark = pytest.mark.slow
DURATION_S = float(os.environ.get("STOCKCAST_LOAD_SECONDS", "60"))
CONNECTIONS = 16


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_sixty_seconds_at_16_connections_while_the_alias_moves_twice(registry, tmp_path, capsys):
    uri = f"sqlite:///{registry / 'mlflow.db'}"
    client = MlflowClient(uri)
    source = client.get_model_version_by_alias("stockcast-AAPL", "champion")
    # two more versions of the same model: moving the alias is what is under test, not training
    versions = [
        str(
            client.create_model_version(
                "stockcast-AAPL", source.source, run_id=source.run_id, tags=source.tags
            ).version
        )
        for _ in range(2)
    ]
    client.set_registered_model_alias("stockcast-AAPL", "champion", str(source.version))
    port = free_port()
    env = {
        **os.environ,
        "STOCKCAST_TRACKING_URI": uri,
        "STOCKCAST_TICKERS": "AAPL",
        "STOCKCAST_RELOAD_INTERVAL_S": "1",
        "STOCKCAST_DATA_DIR": str(tmp_path / "cache"),
    }
    server = subprocess.Popen(
        api_command(port, log_level="warning", python=True),
        env=env,
        stdout=(tmp_path / "api.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}/ready"
        wait_for(lambda: http_ok(url), 60, url, process=server, log=tmp_path / "api.log")
        prices = load_prices("AAPL", source="sample").iloc[-30:]
        body = json.dumps(
            {
                "ticker": "AAPL",
                "history": [
                    {"date": f"{d:%Y-%m-%d}", "close": float(c)}
                    for d, c in zip(prices.index, prices["adj_close"], strict=True)
                ],
            }
        )
        latencies: list[float] = []
        failures: list[object] = []
        seen: set[str] = set()
        stop = threading.Event()
        lock = threading.Lock()

        def connection_loop():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    conn.request("POST", "/forecast", body, {"Content-Type": "application/json"})
                    response = conn.getresponse()
                    payload = response.read()
                except (OSError, http.client.HTTPException) as err:
                    failures.append(repr(err))
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    continue
                elapsed = time.perf_counter() - started
                with lock:
                    if response.status == 200:
                        latencies.append(elapsed)
                        seen.add(json.loads(payload)["model"]["version"])
                    else:
                        failures.append((response.status, payload[:200]))
            conn.close()

        threads = [threading.Thread(target=connection_loop) for _ in range(CONNECTIONS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        wait_for(lambda: len(latencies) >= 500, 60, "500 warm-up forecasts")
        warm_rss = rss_mb(server.pid)  # after warm-up
        moves = []
        for version in versions:
            client.set_registered_model_alias("stockcast-AAPL", "champion", version)
            moves.append(version)
            # under load, until the server answers with the version the alias now points at
            wait_for(lambda v=version: v in seen, 60, f"version {version} to be served")
        stop.wait(max(0.0, started + DURATION_S - time.monotonic()))  # the rest of the load
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        end_rss = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    total = len(latencies) + len(failures)
    quantiles = statistics.quantiles(latencies, n=100)
    with capsys.disabled():
        print(
            f"\nload: {total} requests in {elapsed:.0f} s at {CONNECTIONS} connections "  # noqa: T201
            f"({len(latencies) / elapsed:.0f}/s), failures {len(failures)}, p50 {quantiles[49] * 1e3:.1f} ms, "
            f"p99 {quantiles[98] * 1e3:.1f} ms; versions served {sorted(seen)} (alias moved to {moves}); "
            f"RSS after warm-up {warm_rss:.0f} MB, at the end {end_rss:.0f} MB ({100 * (end_rss / warm_rss - 1):+.1f}%)"
        )
    assert failures == []
    assert seen == {str(source.version), *versions}
    assert end_rss <= 1.10 * warm_rss
