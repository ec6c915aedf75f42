"""Where tasks run: worker processes on this machine, or Ray. A Scheduler (scheduler.py) keeps
them busy; without an executor it runs each task in this process when its result is asked for."""

from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import os
import signal
from typing import Any, Protocol

from forecast.models.device import physical_cores
from forecast.parallel.tasks import FitOutcome, FitTask, run_fit

EXECUTORS = ("local", "ray")


class Executor(Protocol):
    workers: int  # tasks it runs at once

    def submit(self, task: FitTask) -> Any: ...

    def wait(self, handles: list[Any]) -> list[Any]:
        """Block until one or more of `handles` is done; those that are."""
        ...

    def result(self, handle: Any) -> FitOutcome: ...

    def close(self, kill: bool = False) -> None:
        """Release the workers; with `kill`, stop running tasks now."""
        ...


def auto_workers(threads: int, cores: int | None = None) -> int:
    """Workers so that workers x threads never exceeds the physical cores (at least one)."""
    return max(1, (cores or physical_cores()) // max(1, threads))


def _ignore_interrupts() -> None:
    """In a worker: Ctrl-C reaches the whole process group, but the driver decides what stops
    (it kills the workers itself), so a worker never dies half-way through a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalExecutor:
    """Worker processes on this machine (concurrent.futures: in the standard library, with
    futures the driver can wait on together, and its processes can be killed on a signal;
    joblib's map-style API would hide both). Workers fork from a server process that imported
    torch once and never ran it: fast starts, and no OpenMP state copied from the driver."""

    def __init__(self, workers: int) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["torch", "forecast.parallel.tasks"])
        self.workers = workers
        self.pool = futures.ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_ignore_interrupts
        )

    def submit(self, task: FitTask) -> futures.Future[FitOutcome]:
        return self.pool.submit(run_fit, task)

    def wait(self, handles: list[Any]) -> list[Any]:
        done, _ = futures.wait(handles, return_when=futures.FIRST_COMPLETED)
        return list(done)

    def result(self, handle: futures.Future[FitOutcome]) -> FitOutcome:
        return handle.result()

    def pids(self) -> list[int]:
        return [p.pid for p in list((self.pool._processes or {}).values()) if p.pid]

    def close(self, kill: bool = False) -> None:
        if kill:
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.pool.shutdown(wait=True, cancel_futures=True)
