"""Where tasks run: worker processes on this machine, or Ray. A Scheduler (scheduler.py) keeps
them busy; without an executor it runs each task in this process when its result is asked for."""

from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import os
import signal
import threading
import time
from typing import Any, Protocol

import psutil

from forecast.fitting import FitOutcome, Task, run_fit
from forecast.machine import physical_cores


class Executor(Protocol):
    workers: int  # tasks it runs at once

    def submit(self, task: Task) -> Any: ...

    def wait(self, handles: list[Any]) -> list[Any]:
        """Wait up to WAIT_SLICE_S for one or more of `handles` to be done; those that are
        (maybe none: the scheduler checks for a stop request between waits)."""
        ...

    def result(self, handle: Any) -> FitOutcome: ...

    def close(self, kill: bool = False) -> None:
        """Release the workers; with `kill`, stop running tasks now."""
        ...


def auto_workers(threads: int, cores: int | None = None) -> int:
    """Workers so that workers x threads never exceeds the physical cores (at least one)."""
    return max(1, (cores or physical_cores()) // max(1, threads))


WAIT_SLICE_S = 0.2  # the longest the driver waits for workers before checking for a stop
WATCH_INTERVAL_S = 1.0  # how often a worker checks that its driver is still alive


def _worker_setup(driver: int) -> None:
    """In a worker: Ctrl-C reaches the whole process group, but the driver decides what stops
    (it kills the workers itself), so a worker never dies half-way through a traceback. And a
    driver killed outright (SIGKILL, OOM) cannot stop its workers: each exits on its own within
    WATCH_INTERVAL_S of the driver's death instead of training for nobody."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _title(IDLE_TITLE)

    def watch() -> None:
        while True:
            time.sleep(WATCH_INTERVAL_S)
            if not psutil.pid_exists(driver):
                os._exit(1)

    threading.Thread(target=watch, name="driver-watch", daemon=True).start()


FIT_TITLE, IDLE_TITLE = "stockcast-fit", "stockcast-idle"  # a worker's name in ps and top


def _title(name: str) -> None:
    """Name this worker process (Linux: /proc/self/comm, what ps, top and psutil show)."""
    try:
        with open("/proc/self/comm", "w") as comm:
            comm.write(name)
    except OSError:  # not Linux: the name is a courtesy to whoever watches the processes
        pass


def _fit_in_worker(task: Task) -> FitOutcome:
    """A task in a worker, which shows FIT_TITLE while it runs it."""
    _title(FIT_TITLE)
    try:
        return run_fit(task)
    finally:
        _title(IDLE_TITLE)


def _warm() -> int:
    """A first task that loads the model code, so that the first fit starts at once."""
    import forecast.forecaster  # noqa: F401

    return os.getpid()


class LocalExecutor:
    """Worker processes on this machine (concurrent.futures: in the standard library, with
    futures the driver can wait on together, and its processes can be killed on a signal;
    joblib's map-style API would hide both). Workers fork from a server process that imported
    torch once and never ran it: fast starts, and no OpenMP state copied from the driver."""

    def __init__(self, workers: int) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["torch", "forecast.fitting"])
        self.workers = workers
        self.pool = futures.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_worker_setup,
            initargs=(os.getpid(),),
        )
        for _ in range(workers):  # start them now: they load while the driver does
            self.pool.submit(_warm)

    def submit(self, task: Task) -> futures.Future[FitOutcome]:
        return self.pool.submit(_fit_in_worker, task)

    def wait(self, handles: list[Any]) -> list[Any]:
        done, _ = futures.wait(handles, timeout=WAIT_SLICE_S, return_when=futures.FIRST_COMPLETED)
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
