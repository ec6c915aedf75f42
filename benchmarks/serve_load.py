"""Stockcast's POST /forecast against `mlflow models serve` on the same registered model.

    python benchmarks/serve_load.py [--duration 20] [--store DIR]

Needs `wrk` (Debian: apt install wrk). In a store folder (default: a new temp folder) it trains
and registers small default-architecture models for AAPL, MSFT, IBM and GOOG from the bundled
sample prices (skipped when they exist), then, measured in this run on loopback:
- Stockcast (uvicorn, 1 worker, 1 torch thread) and MLflow's scoring server (1 worker) with the
  same stockcast-AAPL@champion, each under 1 and 16 connections for --duration seconds (wrk,
  history of 70 days given in every request): requests/s, p50, p99, errors;
- Stockcast's startup time to a green /ready, and its resident memory with the 4 models loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from forecast.tracking.names import CHAMPION, model_name
from pipelines.processes import free_port, http_ok, terminate, wait_for
from service.launch import api_command

TICKERS = ("AAPL", "MSFT", "IBM", "GOOG")
TRAIN = [
    "--source",
    "sample",
    "--folds",
    "1",
    "--repeats",
    "1",
    "--epochs",
    "1",
    "--test-size",
    "100",
]


def wait_until(url: str, timeout: float, process: subprocess.Popen | None = None) -> float:
    """Seconds until `url` answers 200 (the startup time reported)."""
    started = time.perf_counter()
    wait_for(lambda: http_ok(url, 1.0), timeout, url, process=process, interval=0.1)
    return time.perf_counter() - started


def ensure_models(store: Path, env: dict[str, str], tickers: tuple[str, ...] = TICKERS) -> None:
    import mlflow

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    client = mlflow.MlflowClient()
    for ticker in tickers:
        try:
            client.get_model_version_by_alias(model_name(ticker), CHAMPION)
            continue
        except mlflow.exceptions.MlflowException:
            pass
        print(f"training a small model for {ticker} ...", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "pipelines.train", ticker, *TRAIN],
            cwd=store,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )


def history_rows(days: int = 70, every_column: bool = False) -> list[dict[str, object]]:
    """The last `days` of the AAPL sample as request rows: date and close, or with
    `every_column` all of them (a model serving the lstm interval rule reads open, high, low)."""
    from forecast.data import load_prices
    from forecast.data.history import rows_of

    prices = load_prices("AAPL", source="sample").iloc[-days:]
    rows = rows_of(prices, "range" if every_column else "close", "adj_close")
    return [
        {k: v if k == "date" else round(float(v), 4) for k, v in row.items()}
        for row in rows.to_dict("records")
    ]


def wrk(url: str, body: dict, connections: int, duration: int, workdir: Path) -> dict[str, float]:
    body_file = workdir / f"body-{abs(hash(url))}.json"
    body_file.write_text(json.dumps(body))
    script = workdir / f"post-{abs(hash(url))}.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f'local f = io.open("{body_file}")\nwrk.body = f:read("*a")\nf:close()\n'
    )
    threads = min(2, connections)
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{duration}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    bad = int(non2xx.group(1)) if non2xx else 0
    sockets = [int(g) for g in socket_errors.groups()] if socket_errors else [0, 0, 0, 0]
    return {
        "rps": rps,
        "p50": ms("50%"),
        "p99": ms("99%"),
        "errors": bad + sum(sockets),
        "non2xx": bad,
        "timeouts": sockets[3],
        "requests": total,
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument(
        "--store", type=Path, help="MLflow folder to reuse (default: a new temp folder)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt install wrk")
    store = args.store or Path(tempfile.mkdtemp(prefix="stockcast-serve-"))
    store.mkdir(parents=True, exist_ok=True)
    # MLflow's scorer execs `uvicorn` from PATH: use the one beside this Python
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{store.resolve() / 'mlflow.db'}",
        "STOCKCAST_DATA_DIR": str(store / "cache"),
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    ensure_models(store, env)
    history = history_rows()
    results: dict[str, dict[int, dict[str, float]]] = {}
    processes = []
    try:
        port = free_port()
        api_env = {**env, "STOCKCAST_TICKERS": ",".join(TICKERS), "STOCKCAST_TORCH_THREADS": "1"}
        started = time.perf_counter()
        api = start(
            api_command(port, log_level="warning", python=True),
            api_env,
            store,
            store / "api.log",
        )
        processes.append(api)
        wait_until(f"http://127.0.0.1:{port}/ready", 120, process=api)
        ready_s = time.perf_counter() - started
        memory = rss_mb(api.pid)
        mlflow_port = free_port()
        scorer = start(
            [
                sys.executable,
                "-m",
                "mlflow",
                "models",
                "serve",
                "-m",
                f"models:/{model_name('AAPL')}@{CHAMPION}",
                "--env-manager",
                "local",
                "-p",
                str(mlflow_port),
                "-h",
                "127.0.0.1",
            ],
            env,
            store,
            store / "mlflow-serve.log",
        )
        processes.append(scorer)
        wait_until(f"http://127.0.0.1:{mlflow_port}/ping", 120, process=scorer)
        stockcast_body = {"ticker": "AAPL", "history": history}
        mlflow_body = {
            "dataframe_split": {
                "columns": ["date", "close"],
                "data": [[r["date"], r["close"]] for r in history],
            }
        }
        for name, url, body in (
            ("Stockcast POST /forecast", f"http://127.0.0.1:{port}/forecast", stockcast_body),
            (
                "mlflow models serve POST /invocations",
                f"http://127.0.0.1:{mlflow_port}/invocations",
                mlflow_body,
            ),
        ):
            check = httpx.post(url, json=body, timeout=30)
            check.raise_for_status()
            wrk(url, body, 4, 3, store)  # warm-up
            results[name] = {c: wrk(url, body, c, args.duration, store) for c in (1, 16)}
    finally:
        for process in processes:
            terminate(process)

    print(
        f"machine: {os.cpu_count()} logical CPUs; wrk on loopback, {args.duration} s per cell; "
        "history of 70 days in every request"
    )
    print()
    print("| server | connections | requests/s | p50 ms | p99 ms | errors / requests |")
    print("|---|---|---|---|---|---|")
    for name, cells in results.items():
        for connections, r in cells.items():
            print(
                f"| {name} | {connections} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | "
                f"{r['errors']:.0f} / {r['requests']:.0f} |"
            )
    ours, theirs = (
        results["Stockcast POST /forecast"],
        results["mlflow models serve POST /invocations"],
    )
    print()
    print(f"throughput at 16 connections: {ours[16]['rps'] / theirs[16]['rps']:.1f}x MLflow's")
    print(
        f"Stockcast startup (process start to green /ready) with {len(TICKERS)} models: "
        f"{ready_s:.1f} s; resident memory then: {memory:.0f} MB"
    )


if __name__ == "__main__":
    main()
