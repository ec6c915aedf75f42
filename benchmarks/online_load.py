"""History-less POST /forecast under load: the README's own request, answered from the prices
the service keeps in memory, against requests carrying 70 rows of history, in the same run.

    python benchmarks/online_load.py [--duration 20] [--store DIR]

Needs `wrk` (Debian: apt install wrk). It trains a small stockcast-AAPL in the store folder
(skipped when one is registered), then measures two services, one after the other:
- "Yahoo unreachable": the service as shipped, with no price cache, on a machine where Yahoo
  cannot be reached (the refresher falls back to the bundled sample, once, at start-up);
- "recorded Yahoo response": the same service whose Yahoo download answers from a recorded chart
  response (tests/yahoo_replay.py: yfinance's real parsing path, no network).
For each: wrk against `{"ticker": "AAPL"}` at 1 and 16 connections and against 70 rows of
history at 16 connections, --duration seconds each: requests/s, p50, p99, timeouts, non-2xx.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from functools import partial
from pathlib import Path

import httpx

from pipelines.processes import free_port, terminate
from service.launch import APP, api_command

sys.path.insert(0, str(Path(__file__).parent))
from serve_load import ensure_models, history_rows, start, wait_until, wrk  # noqa: E402


def serve_with_recorded_yahoo(port: int) -> None:
    """This process serves the API with Yahoo's download answered by a recorded response."""
    import uvicorn

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from yahoo_replay import replay_session

    from forecast.data import load_prices, loader
    from forecast.data.yahoo import download_yahoo

    session, _ = replay_session({"AAPL": load_prices("AAPL", source="sample")})
    loader.download_yahoo = partial(download_yahoo, session=session, preflight=False)  # type: ignore[assignment]
    uvicorn.run(APP, host="127.0.0.1", port=port, access_log=False, log_level="warning")


def measure(
    command: list[str], port: int, env: dict[str, str], store: Path, name: str, duration: int
) -> tuple[str, dict[tuple[str, int], dict[str, float]]]:
    """Where the service's prices came from, and wrk's figures per (request, connections)."""
    process = start(command, env, store, store / f"{name}.log")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(f"{url}/ready", 120, process=process)
        first = httpx.post(f"{url}/forecast", json={"ticker": "AAPL"}, timeout=60)
        first.raise_for_status()
        source = first.json()["history_source"]
        bodies = {
            "no history": {"ticker": "AAPL"},
            "70 rows of history": {"ticker": "AAPL", "history": history_rows(70)},
        }
        for body in bodies.values():
            wrk(f"{url}/forecast", body, 4, 3, store)  # warm-up
        cells = {
            ("no history", 1): wrk(f"{url}/forecast", bodies["no history"], 1, duration, store),
            ("no history", 16): wrk(f"{url}/forecast", bodies["no history"], 16, duration, store),
            ("70 rows of history", 16): wrk(
                f"{url}/forecast", bodies["70 rows of history"], 16, duration, store
            ),
        }
        return source, cells
    finally:
        terminate(process)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--store", type=Path, help="MLflow folder (default: a new temp folder)")
    parser.add_argument("--serve-recorded-yahoo", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_recorded_yahoo:
        serve_with_recorded_yahoo(args.serve_recorded_yahoo)
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt install wrk")
    store = (args.store or Path(tempfile.mkdtemp(prefix="stockcast-online-"))).resolve()
    store.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}",
        "STOCKCAST_TICKERS": "AAPL",
        "STOCKCAST_TORCH_THREADS": "1",
    }
    ensure_models(store, env, ("AAPL",))
    results = {}
    for name in ("Yahoo unreachable", "recorded Yahoo response"):
        cache = store / f"cache-{name.split()[0].lower()}"
        shutil.rmtree(cache, ignore_errors=True)  # no price cache: the refresher must load
        port = free_port()
        if name == "Yahoo unreachable":
            command = api_command(port, log_level="warning", python=True)
        else:
            command = [sys.executable, __file__, "--serve-recorded-yahoo", str(port)]
        results[name] = measure(
            command, port, {**env, "STOCKCAST_DATA_DIR": str(cache)}, store, name, args.duration
        )
    print(
        f"machine: {os.cpu_count()} logical CPUs; one uvicorn worker, 1 torch thread; wrk on "
        f"loopback, {args.duration} s per cell, 10 s timeout"
    )
    print()
    print("| prices | request | connections | req/s | p50 ms | p99 ms | timeouts | non-2xx |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (source, cells) in results.items():
        for (request, connections), r in cells.items():
            print(
                f"| {name} (as_of from {source}) | {request} | {connections} | {r['rps']:.0f} | "
                f"{r['p50']:.2f} | {r['p99']:.2f} | {r['timeouts']:.0f} | {r['non2xx']:.0f} |"
            )


if __name__ == "__main__":
    main()
