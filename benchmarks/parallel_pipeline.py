"""The default pipeline with its fits one after another (--workers 1) and side by side
(--workers auto), in the same run; then auto beside a CPU-heavy process; then several tickers.

    python benchmarks/parallel_pipeline.py [--rounds 3] [--tickers AAPL,MSFT,IBM,GOOG]
        [--skip-contention] [--skip-tickers] [-- options for every run]

Every run: `python -m pipelines.train ... --source sample --no-register` in a fresh store, one at a
time, rounds alternating the two settings. Prints each run's wall time and its CV metrics (they
must be identical: the worker count never changes a result), the medians and the speed-up; then
the auto setting with a second process running torch matmuls on every core (what a second
pipeline does), against the idle median; then the tickers in one run, sequential vs auto.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlflow.tracking import MlflowClient

from forecast.models.device import physical_cores
from forecast.tracking.names import EXPERIMENT

BUSY = (
    "import torch\n"
    "torch.set_num_threads({threads})\n"
    "a = torch.randn(768, 768)\n"
    "while True:\n"
    "    a = torch.tanh(a @ a / 768)\n"
)


def run(tickers: list[str], workers: str, extra: list[str]) -> tuple[float, dict[str, dict]]:
    """Wall seconds, and per ticker the parent run's CV metrics."""
    store = Path(tempfile.mkdtemp(prefix="stockcast-parallel-"))
    uri = f"sqlite:///{store / 'mlflow.db'}"
    command = [sys.executable, "-m", "pipelines.train", *tickers, "--source", "sample"]
    command += ["--no-register", "--tracking-uri", uri, "--workers", workers, *extra]
    started = time.perf_counter()
    subprocess.run(command, cwd=store, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    metrics = {}
    for parent in client.search_runs(
        [experiment.experiment_id], filter_string="tags.mlflow.runName LIKE '% %'"
    ):
        if "mlflow.parentRunId" not in parent.data.tags:
            cv = {k: v for k, v in parent.data.metrics.items() if k.startswith("cv/")}
            metrics[parent.data.tags["ticker"]] = cv
    return seconds, metrics


def describe(metrics: dict[str, dict]) -> str:
    return "; ".join(
        f"{t} skill {m['cv/model/skill_mean']:+.6f} rmse {m['cv/model/rmse_mean']:.6f}"
        for t, m in sorted(metrics.items())
    )


def main() -> None:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tickers", default="AAPL,MSFT,IBM,GOOG")
    parser.add_argument("--skip-contention", action="store_true")
    parser.add_argument("--skip-tickers", action="store_true")
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    cores = physical_cores()
    print(
        f"{cores} physical cores; default AAPL pipeline{' + ' + ' '.join(extra) if extra else ''}"
    )
    times: dict[str, list[float]] = {"1": [], "auto": []}
    reference = None
    for round_ in range(1, args.rounds + 1):
        for workers in ("1", "auto"):
            seconds, metrics = run(["AAPL"], workers, extra)
            times[workers].append(seconds)
            reference = reference or metrics
            same = "identical" if metrics == reference else "DIFFERENT"
            print(
                f"round {round_} --workers {workers:>4}: {seconds:6.1f} s  {describe(metrics)} "
                f"({same} CV metrics)",
                flush=True,
            )
    sequential, auto = statistics.median(times["1"]), statistics.median(times["auto"])
    print(
        f"median --workers 1: {sequential:.1f} s; --workers auto: {auto:.1f} s; "
        f"speed-up {sequential / auto:.2f}x"
    )
    if not args.skip_contention:
        busy = subprocess.Popen([sys.executable, "-c", BUSY.format(threads=cores)])
        try:
            time.sleep(3)  # the busy process is computing before the timed run starts
            loaded = []
            for round_ in range(1, args.rounds + 1):
                seconds, metrics = run(["AAPL"], "auto", extra)
                loaded.append(seconds)
                same = "identical" if metrics == reference else "DIFFERENT"
                print(f"busy machine, round {round_} --workers auto: {seconds:6.1f} s ({same})")
        finally:
            busy.kill()
            busy.wait()
        median = statistics.median(loaded)
        print(
            f"median with a second CPU-heavy process ({cores} torch threads): {median:.1f} s, "
            f"{median / auto:.2f}x the idle auto median"
        )
    if not args.skip_tickers:
        tickers = args.tickers.split(",")
        for workers in ("1", "auto"):
            seconds, metrics = run(tickers, workers, extra)
            print(
                f"{','.join(tickers)} --workers {workers:>4}: {seconds:6.1f} s  {describe(metrics)}"
            )


if __name__ == "__main__":
    main()
