import os

import numpy as np
import pytest

from forecast.config import CVConfig, LSTMConfig, TrainConfig, WindowConfig
from forecast.data import load_prices
from forecast.evaluation.cv import CrossValidation
from forecast.fitting import FinalFit, FitTask, run_fit
from forecast.parallel.executors import LocalExecutor, auto_workers
from forecast.parallel.scheduler import FINAL_FIT, Scheduler
from tests.helpers import cross_validate

TINY_LSTM = LSTMConfig(hidden_sizes=(8,))
TINY_TRAIN = TrainConfig(epochs=2, batch_size=64, device="cpu", threads=1, progress=False)
WINDOW = WindowConfig(lookback=10)
CV = CVConfig(n_folds=3, test_size=30, repeats=2)


@pytest.fixture(scope="module")
def prices():
    return load_prices("IBM", start="2011-01-01", end="2012-12-31", source="sample")


def test_worker_processes_give_bit_identical_folds(prices):
    inline = list(cross_validate(prices, WINDOW, TINY_LSTM, TINY_TRAIN, CV))
    scheduler = Scheduler(LocalExecutor(2))
    try:
        pooled = list(
            cross_validate(prices, WINDOW, TINY_LSTM, TINY_TRAIN, CV, scheduler=scheduler)
        )
        workers = scheduler.executor.pids()
    finally:
        scheduler.close()
    assert len(workers) == 2 and os.getpid() not in workers  # it did run elsewhere
    for a, b in zip(inline, pooled, strict=True):
        for x, y in zip(a.forecasts, b.forecasts, strict=True):
            np.testing.assert_array_equal(x, y)
        assert a.metrics == b.metrics and a.histories == b.histories
        assert a.intervals == b.intervals


def test_callbacks_get_every_epoch_live_or_replayed(prices):
    seen = {}

    class Recorder:
        def __init__(self, key):
            self.key = key

        def on_epoch_end(self, epoch, metrics):
            seen.setdefault(self.key, []).append((epoch, metrics["train_loss"]))

    def callbacks_for(fold, repeat):
        return [Recorder((fold, repeat))]

    list(cross_validate(prices, WINDOW, TINY_LSTM, TINY_TRAIN, CV, callbacks_for))
    live = dict(seen)
    seen.clear()
    scheduler = Scheduler(LocalExecutor(2))
    try:
        list(cross_validate(prices, WINDOW, TINY_LSTM, TINY_TRAIN, CV, callbacks_for, scheduler))
    finally:
        scheduler.close()
    assert seen == live and len(live) == 6 and all(len(v) == 2 for v in live.values())


def test_a_final_fit_waits_behind_no_queued_cv_fit(prices):
    run = CrossValidation(prices, WINDOW, TINY_LSTM, TINY_TRAIN, CV)
    order = []

    class Started:
        def __init__(self, label):
            self.label = label

        def __call__(self):
            order.append(self.label)
            return ()

    scheduler = Scheduler()  # in process: each task runs when its result is asked for
    tickets = [
        scheduler.submit(run.task(fold, 0), Started(f"cv {fold.number}")) for fold in run.folds
    ]
    final = FinalFit("final", prices.iloc[:300], WINDOW, TINY_LSTM, TINY_TRAIN)
    ticket = scheduler.submit(final, Started("final"), priority=FINAL_FIT)
    outcome = scheduler.result(ticket)
    assert order == ["final"] and outcome.forecaster is not None and outcome.forecasts is None
    scheduler.cancel(tickets)
    assert scheduler._pending == []


def test_a_failing_task_raises_where_its_result_is_read(prices):
    bad = FitTask(
        "too short", np.ones((5, 1)), np.ones(5), 0, 5, WINDOW, TINY_LSTM, TINY_TRAIN, np.array([5])
    )
    scheduler = Scheduler(LocalExecutor(1))
    try:
        ticket = scheduler.submit(bad)
        with pytest.raises(ValueError, match="need at least 11 rows to train; got 5"):
            scheduler.result(ticket)
    finally:
        scheduler.close()
    with pytest.raises(ValueError, match="need at least 11 rows"):
        run_fit(bad)


def test_workers_times_threads_stay_within_the_cores():
    assert auto_workers(1, cores=2) == 2
    assert auto_workers(2, cores=2) == 1
    assert auto_workers(3, cores=2) == 1  # never zero
    assert auto_workers(2, cores=16) == 8
