"""Ray Core tasks: the cluster at $RAY_ADDRESS, or a local Ray started for the run when none is
set (`pip install -e ".[ray]"`). Each fit is a task asking for its threads as CPUs, so Ray never
runs more fits on a node than it has cores for them."""

from __future__ import annotations

import os
import time
from typing import Any

from forecast.fitting import FitOutcome, Task, run_fit
from forecast.parallel.executors import WAIT_SLICE_S

RAY_MISSING = '--executor ray needs Ray: pip install -e ".[ray]"'


class RayExecutor:
    def __init__(self, threads: int, workers: int | None = None) -> None:
        try:
            import ray
        except ImportError as err:
            raise RuntimeError(RAY_MISSING) from err
        self.ray = ray
        address = os.environ.get("RAY_ADDRESS") or None
        if not ray.is_initialized():
            ray.init(
                address=address,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = workers or max(1, cpus // max(1, threads))
        self.remote = ray.remote(num_cpus=max(1, threads), max_retries=0)(run_fit)
        self.running: set[Any] = set()

    def submit(self, task: Task) -> Any:
        ref = self.remote.remote(task)
        self.running.add(ref)
        return ref

    def wait(self, handles: list[Any]) -> list[Any]:
        # sleeping in Python, not in Ray's core: a signal's handler raises here, where Ray can
        # neither wrap its exception in a SystemError nor hold it until a fit of minutes ends
        ready, _ = self.ray.wait(handles, num_returns=len(handles), timeout=0)
        if not ready:
            time.sleep(WAIT_SLICE_S)
        return list(ready)

    def result(self, handle: Any) -> FitOutcome:
        self.running.discard(handle)
        return self.ray.get(handle)

    def close(self, kill: bool = False) -> None:
        if kill:
            for ref in list(self.running):
                self.ray.cancel(ref, force=True)
        self.running.clear()
        self.ray.shutdown()
