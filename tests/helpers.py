"""Helpers shared by the end-to-end style tests."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from pipelines.processes import wait_for  # noqa: F401  (the one polling wait, for the tests)

# a pipeline run that takes seconds: AAPL sample data from 2011, one or two tiny folds
TINY_PIPELINE = [
    "--source",
    "sample",
    "--start",
    "2011-01-01",
    "--folds",
    "1",
    "--test-size",
    "30",
    "--repeats",
    "1",
    "--epochs",
    "2",
    "--hidden-sizes",
    "8",
    "--lookback",
    "10",
    "--threads",
    "1",
]


# the pyfunc's output at the default levels and quantiles (forecast.tracking.pyfunc)
PYFUNC_COLUMNS = [
    *("date", "forecast", "lower_80", "upper_80", "lower_95", "upper_95"),
    *("quantile_0.05", "quantile_0.5", "quantile_0.95"),
]


def run_pipeline(tracking_uri: str, cwd: Path, *args: str) -> str:
    """`python -m pipelines.train AAPL *args` against `tracking_uri`; asserts success, returns stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.train", "AAPL", *args, "--tracking-uri", tracking_uri],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "STOCKCAST_DATA_DIR": str(cwd / "cache")},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def call(method: str, url: str, body: object = None) -> tuple[int, object]:
    """(status, JSON body) of an HTTP call; HTTP errors are answers, not exceptions."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def history_rows(prices) -> list[dict[str, object]]:
    """A price frame's rows as a POST /forecast `history`: date and (split-adjusted) close."""
    return [
        {"date": f"{d:%Y-%m-%d}", "close": float(c)}
        for d, c in zip(prices.index, prices["adj_close"], strict=True)
    ]


def cross_validate(prices, window, lstm, train, cv, callbacks_for=None, scheduler=None):
    """Each fold's result as the pipeline gets it: CrossValidation's fits queued on `scheduler`
    (default: one after another in this process)."""
    from forecast.evaluation.cv import CrossValidation
    from forecast.parallel.scheduler import Scheduler

    run = CrossValidation(prices, window, lstm, train, cv)
    return run.submit(scheduler or Scheduler(), callbacks_for).results()
