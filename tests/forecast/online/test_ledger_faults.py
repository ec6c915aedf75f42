"""The ledger writer killed mid-write: whole batches or none, and a rerun completes it once."""

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys

from forecast.online.ledger import ForecastRecord, Ledger
from forecast.online.writer import LedgerWriter
from tests.helpers import wait_for

TOTAL, BATCH = 60_000, 100
LEVELS = (0.8, 0.95)

WRITER = """
import sys
from tests.forecast.online.test_ledger_faults import records
from forecast.online.ledger import Ledger
from forecast.online.writer import LedgerWriter
writer = LedgerWriter(Ledger(sys.argv[1]), batch_rows=int(sys.argv[2])).start()
writer.submit(records())
writer.flush(600)
"""


def records():
    """TOTAL forecast steps: as_of days of 5 steps each, with bounds at two levels."""
    start = dt.date(2000, 1, 3)
    return [
        ForecastRecord(
            "AAPL",
            "1",
            start + dt.timedelta(days=i // 5),
            i % 5 + 1,
            start + dt.timedelta(days=i // 5 + i % 5 + 1),
            "adj_close",
            100.0 + i,
            100.0,
            {level: (99.0 - level, 101.0 + level) for level in LEVELS},
        )
        for i in range(TOTAL)
    ]


def counts(path):
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        steps = db.execute("SELECT count(*) FROM forecasts").fetchone()[0]
        limits = db.execute("SELECT count(*) FROM bounds").fetchone()[0]
    return steps, limits


def steps_written(path):
    """Forecast steps in the ledger so far: 0 until the writer has created its tables."""
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    if ("forecasts",) not in tables:
        return 0
    return counts(path)[0]


def test_a_sigkill_in_the_middle_of_ledger_writes_loses_no_recorded_forecast(tmp_path):
    path = tmp_path / "ledger.db"
    uri = f"sqlite:///{path}"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, uri, str(BATCH)],
        cwd=os.getcwd(),
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(
            lambda: steps_written(path) >= 20 * BATCH,
            120,
            "the writer to be well into its batches",
            process=writer,
        )
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.wait(30)
    assert writer.returncode == -signal.SIGKILL
    steps, limits = counts(path)
    assert 0 < steps < TOTAL  # killed in the middle, not after the end
    assert steps % BATCH == 0 and limits == len(LEVELS) * steps  # whole batches, none half

    # the service records the same forecasts again when it comes back: each step once
    again = LedgerWriter(Ledger(uri), batch_rows=5_000).start()
    again.submit(records())
    assert again.flush(300)
    again.close()
    assert counts(path) == (TOTAL, len(LEVELS) * TOTAL)
