"""The scheduler: tasks wait in a priority queue and go to the executor as workers free up, so a
ticker's final fit is not stuck behind every other ticker's CV fits; results are collected in
whatever order the driver asks for them."""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from forecast.fitting import FitOutcome, Task, replay, run_fit
from forecast.parallel.executors import Executor

if TYPE_CHECKING:
    from forecast.models.training import Callback

CallbackFactory = Callable[[], Sequence["Callback"]]

FINAL_FIT, CV_FIT = 0, 1  # priorities: lower runs first

# set by a signal handler: the handler's own exception can be swallowed where it lands (an
# "Exception ignored in" GC callback), so a waiting scheduler also stops when it sees this
STOP = threading.Event()


class Scheduler:
    """submit() tasks with a priority, then result() each. Without an executor a task runs in
    this process when its result is asked for, its callbacks live; with one, callbacks get a
    finished fit's curves epoch by epoch (replay) as soon as the driver sees it done."""

    def __init__(self, executor: Executor | None = None) -> None:
        self.executor = executor
        self._order = itertools.count()
        self._pending: list[tuple[int, int, int]] = []  # (priority, order, ticket)
        self._tasks: dict[int, tuple[Task, CallbackFactory | None]] = {}
        self._running: dict[Any, int] = {}  # executor handle -> ticket
        # ticket -> its outcome, or the error its fit raised (read once, when it is done)
        self._finished: dict[int, FitOutcome | Exception] = {}

    @property
    def workers(self) -> int:
        return 1 if self.executor is None else self.executor.workers

    def submit(
        self, task: Task, callbacks: CallbackFactory | None = None, priority: int = CV_FIT
    ) -> int:
        ticket = next(self._order)
        self._tasks[ticket] = (task, callbacks)
        heapq.heappush(self._pending, (priority, ticket, ticket))
        self._top_up()
        return ticket

    def result(self, ticket: int) -> FitOutcome:
        """The task's outcome (its exception, raised here); waits for it, keeping workers busy."""
        task, callbacks = self._tasks[ticket]
        if self.executor is None:
            self._pending = [entry for entry in self._pending if entry[2] != ticket]
            heapq.heapify(self._pending)
            del self._tasks[ticket]
            return run_fit(task, callbacks() if callbacks else ())
        while ticket not in self._finished:
            if STOP.is_set():  # a signal whose exception something swallowed (a GC callback)
                raise KeyboardInterrupt("stop requested")
            self._top_up()
            for handle in self.executor.wait(list(self._running)):
                done = self._running.pop(handle)
                self._finished[done] = self._read(done, handle)
        outcome = self._finished.pop(ticket)
        del self._tasks[ticket]
        self._top_up()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _read(self, ticket: int, handle: Any) -> FitOutcome | Exception:
        """A worker's fit is done: its outcome (or the error it raised, for result() to raise),
        and its callbacks get the curves now."""
        assert self.executor is not None
        try:
            outcome = self.executor.result(handle)
        except Exception as err:  # noqa: BLE001 - result() raises it
            return err
        callbacks = self._tasks[ticket][1] if ticket in self._tasks else None
        if callbacks is not None:
            replay(callbacks(), outcome.history)
        return outcome

    def cancel(self, tickets: Sequence[int]) -> None:
        """Drop tasks that have not started (a failed ticker's); running ones finish unread."""
        dropped = set(tickets)
        self._pending = [entry for entry in self._pending if entry[2] not in dropped]
        heapq.heapify(self._pending)
        for ticket in dropped:
            if ticket not in self._running.values():
                self._tasks.pop(ticket, None)
                self._finished.pop(ticket, None)

    def _top_up(self) -> None:
        if self.executor is None:
            return
        while self._pending and len(self._running) < self.executor.workers:
            _, _, ticket = heapq.heappop(self._pending)
            self._running[self.executor.submit(self._tasks[ticket][0])] = ticket

    def close(self, kill: bool = False) -> None:
        if self.executor is not None:
            self.executor.close(kill=kill)


def scheduler_for(executor: str, workers: int | None, threads: int) -> Scheduler:
    """The scheduler a run asks for: `local` with one worker runs in this process; more (None:
    auto, physical cores // threads) in worker processes; `ray` on Ray."""
    from forecast.config import check_executor
    from forecast.parallel.executors import LocalExecutor, auto_workers

    STOP.clear()  # a new run
    if check_executor(executor) == "ray":
        from forecast.parallel.ray_executor import RayExecutor

        return Scheduler(RayExecutor(threads, workers))
    count = workers or auto_workers(threads)
    return Scheduler(LocalExecutor(count) if count > 1 else None)
