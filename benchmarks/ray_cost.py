"""What Ray costs the pipeline on this machine: a head's start-up, its memory, the memory per
Ray worker, and the default AAPL pipeline through it against the local executor.

    python benchmarks/ray_cost.py [-- options for both pipeline runs]

Starts `ray start --head --block` on a free port (stopped by its PID at the end), runs
`python -m pipelines.train AAPL --source sample --no-register --executor ray` with RAY_ADDRESS
set (sampling the resident memory of every Ray process while it runs), then the same with the
local executor; prints the seconds and megabytes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from pipelines.processes import free_port


def accepting(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def ray_processes(head: psutil.Process) -> list[psutil.Process]:
    return [head, *head.children(recursive=True)]


def pipeline(executor: str, env: dict[str, str], extra: list[str]) -> float:
    store = Path(tempfile.mkdtemp(prefix="stockcast-ray-"))
    command = [sys.executable, "-m", "pipelines.train", "AAPL", "--source", "sample"]
    command += ["--no-register", "--tracking-uri", f"sqlite:///{store / 'mlflow.db'}"]
    command += ["--executor", executor, *extra]
    started = time.perf_counter()
    subprocess.run(command, cwd=store, env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - started


def main() -> None:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    port = free_port()
    ray_cli = Path(sys.executable).with_name("ray")
    started = time.perf_counter()
    head = subprocess.Popen(
        [str(ray_cli), "start", "--head", f"--port={port}", "--include-dashboard=false"]
        + ["--disable-usage-stats", "--block"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while not accepting(port):
            if head.poll() is not None or time.perf_counter() - started > 120:
                sys.exit("the Ray head did not start")
            time.sleep(0.05)
        startup = time.perf_counter() - started
        root = psutil.Process(head.pid)
        time.sleep(2)  # the raylet and its helpers settle
        idle = sum(p.memory_info().rss for p in ray_processes(root)) / 2**20
        print(f"ray head: accepting after {startup:.1f} s; {idle:.0f} MB resident when idle")
        peak = {"total": 0.0, "workers": 0.0, "count": 0}
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                processes = ray_processes(root)
                workers = [p for p in processes if "ray::" in " ".join(p.cmdline()[:1])]
                try:
                    total = sum(p.memory_info().rss for p in processes) / 2**20
                    mine = [p.memory_info().rss / 2**20 for p in workers]
                except psutil.Error:
                    continue
                peak["total"] = max(peak["total"], total)
                if mine:
                    peak["workers"] = max(peak["workers"], max(mine))
                    peak["count"] = max(peak["count"], len(mine))
                stop.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        env = {**os.environ, "RAY_ADDRESS": f"127.0.0.1:{port}"}
        on_ray = pipeline("ray", env, extra)
        stop.set()
        sampler.join()
        print(
            f"pipeline --executor ray: {on_ray:.1f} s; Ray processes peaked at "
            f"{peak['total']:.0f} MB resident, {peak['count']} workers of up to "
            f"{peak['workers']:.0f} MB each"
        )
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        head.wait(timeout=60)
    local = pipeline("local", {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}, extra)
    print(f"pipeline --executor local: {local:.1f} s")


if __name__ == "__main__":
    main()
