"""The default pipeline and single-request serving, this checkout against an earlier commit, in
one run.

    python benchmarks/before_after.py --base 0a86a98 [--rounds 3] [--duration 10]
        [--own-models] [--quantiles 0.05,0.5,0.95]

Needs `wrk` (Debian: apt install wrk). The earlier commit is checked out with `git worktree`
into a temp folder; each code runs from its own folder (PYTHONPATH), alternating, one at a
time:
- the default pipeline, README command 1 offline: `python -m pipelines.train AAPL --source
  sample` in a new folder (its own MLflow store): wall time, and the printed CV table (which
  must be the same for both);
- single-request serving: uvicorn (1 worker, 1 torch thread) serving the model the earlier
  commit registered in round 1 (a format both codes read), POST /forecast with 70 days of
  history, then without (the service's own prices: one answer per day, cached), over 1
  connection for --duration seconds each (wrk): requests/s and p50. With
  --own-models each code serves the model it registered in round 1 instead (the rows then carry
  every price column: a model may read open, high and low), and --quantiles adds those
  quantiles to the later code's requests (an earlier code may not serve any). --stores DIR
  serves again from the round-1 stores an earlier run left in DIR, without running pipelines.
Medians over the rounds, and each code's change against the earlier one.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from serve_load import history_rows, wrk

from pipelines.processes import free_port, http_ok, terminate, wait_for
from service.launch import api_command

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = ["-m", "pipelines.train", "AAPL", "--source", "sample"]
VOLATILE = re.compile(r"^(AAPL \(sample.*; \d+ s, MLflow logging.*|MLflow run \w+)$", re.M)


def checkout(commit: str, into: Path) -> Path:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(into), commit],
        check=True,
        capture_output=True,
    )
    return into


def environment(code: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "STOCKCAST_"))}
    return {**env, "PYTHONPATH": str(code), **extra}


def run_pipeline(code: Path, folder: Path) -> tuple[float, str]:
    """Seconds of README command 1 from `code`, run in `folder`, and its table."""
    folder.mkdir(parents=True)
    env = environment(code, STOCKCAST_DATA_DIR=str(folder / "cache"))
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, *PIPELINE], cwd=folder, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"{code}: pipeline exited {out.returncode}:\n{out.stderr[-3000:]}")
    return seconds, VOLATILE.sub("", out.stdout)


def serve(code: Path, store: Path, duration: int, bodies: dict[str, dict]) -> dict[str, dict]:
    """wrk against `code`'s service on `store`'s AAPL champion, 1 connection, POSTing each of
    `bodies` in turn: label -> figures."""
    port = free_port()
    env = environment(
        code,
        STOCKCAST_TRACKING_URI=f"sqlite:///{store / 'mlflow.db'}",
        STOCKCAST_TICKERS="AAPL",
        STOCKCAST_TORCH_THREADS="1",
        STOCKCAST_DATA_DIR=str(store / "cache"),
    )
    log = store / f"api-{code.name}.log"
    api = subprocess.Popen(
        api_command(port, log_level="warning", python=True),
        cwd=store,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: http_ok(f"{url}/ready"), 120, f"{code} /ready", process=api, log=log)
        out = {}
        for label, body in bodies.items():
            wrk(f"{url}/forecast", body, 1, 2, store)  # warm-up
            out[label] = wrk(f"{url}/forecast", body, 1, duration, store)
        return out
    finally:
        terminate(api)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the earlier commit")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="wrk seconds per measurement")
    parser.add_argument("--own-models", action="store_true", help="each code serves its own")
    parser.add_argument("--quantiles", default="", help="e.g. 0.05,0.5,0.95: the later code's")
    parser.add_argument(
        "--stores",
        help="serving only: the folder an earlier run printed, whose round-1 stores are served",
    )
    args = parser.parse_args()
    asked = {"quantiles": [float(q) for q in args.quantiles.split(",")]} if args.quantiles else {}
    history = {"ticker": "AAPL", "history": history_rows(70, every_column=args.own_models)}
    # 70 days of history, and none (the service's own prices: one answer per day, cached)
    plain = {"70 rows": history, "no history": {"ticker": "AAPL"}}
    bodies = {"before": plain, "after": {k: v | asked for k, v in plain.items()}}
    work = Path(args.stores or tempfile.mkdtemp(prefix="stockcast-before-after-"))
    print(f"stores in {work}", file=sys.stderr)
    codes = {"before": checkout(args.base, work / "before"), "after": ROOT}
    seconds: dict[str, list[float]] = {name: [] for name in codes}
    served: dict[str, list[dict[str, dict]]] = {name: [] for name in codes}
    tables = {}
    try:
        for round_ in range(args.rounds):
            order = list(codes) if round_ % 2 == 0 else list(codes)[::-1]
            for name in order if args.stores is None else ():
                took, tables[name] = run_pipeline(codes[name], work / f"{name}-{round_}")
                seconds[name].append(took)
                print(f"round {round_ + 1} {name}: pipeline {took:.1f} s", file=sys.stderr)
            for name in order:
                store = work / (f"{name}-0" if args.own_models else "before-0")
                served[name].append(serve(codes[name], store, args.duration, bodies[name]))
                print(f"round {round_ + 1} {name}: {served[name][-1]}", file=sys.stderr)
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(work / "before")]
        )
    report(args, seconds, served, tables)


def report(args, seconds, served, tables) -> None:  # noqa: ANN001
    print(
        f"base {args.base}; {args.rounds} rounds, alternating; wrk {args.duration} s, 1 connection"
        + ("; each code serves its own model" if args.own_models else "")
        + (f"; the later code asked for quantiles {args.quantiles}" if args.quantiles else "")
        + (f"; serving only, the stores of {args.stores}" if args.stores else "")
    )
    if not args.stores:
        _pipeline_report(seconds)
    _serving_report(served)
    if args.stores:
        return
    same = tables["before"] == tables["after"]
    print(f"CV tables identical: {same}")
    if not same:
        print("--- before\n" + tables["before"] + "--- after\n" + tables["after"])


def _pipeline_report(seconds) -> None:  # noqa: ANN001
    print("| code | pipeline s (rounds) | median |")
    print("|---|---|---|")
    for name in ("before", "after"):
        print(
            f"| {name} | {', '.join(f'{s:.1f}' for s in seconds[name])} | "
            f"{statistics.median(seconds[name]):.1f} |"
        )
    b_s, a_s = (statistics.median(seconds[name]) for name in ("before", "after"))
    print(f"after vs before: pipeline {100 * (a_s / b_s - 1):+.1f}% time")


def _serving_report(served) -> None:  # noqa: ANN001
    print("| request | code | req/s (rounds) | median | p50 ms (rounds) | median |")
    print("|---|---|---|---|---|---|")
    for label in served["before"][0]:
        medians = {}
        for name in ("before", "after"):
            rps = [r[label]["rps"] for r in served[name]]
            p50 = [r[label]["p50"] for r in served[name]]
            medians[name] = (statistics.median(rps), statistics.median(p50))
            print(
                f"| {label} | {name} | {', '.join(f'{r:.0f}' for r in rps)} | "
                f"{medians[name][0]:.0f} | {', '.join(f'{p:.2f}' for p in p50)} | "
                f"{medians[name][1]:.2f} |"
            )
        (b_rps, b_p50), (a_rps, a_p50) = medians["before"], medians["after"]
        print(
            f"{label}: after vs before {100 * (a_rps / b_rps - 1):+.1f}% req/s, "
            f"p50 {100 * (a_p50 / b_p50 - 1):+.1f}%"
        )


if __name__ == "__main__":
    main()
