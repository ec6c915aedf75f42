"""Ledger writes off the request path: a bounded queue, flushed in batches by one thread.

A request only appends to the queue (microseconds). The writer takes up to `batch_rows` records,
writes them in one transaction, and while the ledger is down keeps that batch and retries with
backoff: nothing queued is lost while the queue has room. A full queue drops the newest records
and counts them (`dropped`), so a dead ledger never holds up a forecast.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence

from forecast.online.ledger import ForecastRecord, Ledger, LedgerError

log = logging.getLogger(__name__)

MAX_PENDING = 100_000  # records held while the ledger is down (a few KB each at most)
BATCH_ROWS = 500  # records per transaction
RETRY_S = 1.0  # first wait after a failed write; doubles up to MAX_RETRY_S
MAX_RETRY_S = 30.0


class LedgerWriter:
    """Writes submitted records to `ledger` from a background thread (start() it)."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        max_pending: int = MAX_PENDING,
        batch_rows: int = BATCH_ROWS,
        retry_s: float = RETRY_S,
        max_retry_s: float = MAX_RETRY_S,
    ) -> None:
        if max_pending < 1 or batch_rows < 1:
            raise ValueError(
                f"max_pending={max_pending} and batch_rows={batch_rows} must be at least 1"
            )
        self.ledger = ledger
        self.max_pending, self.batch_rows = max_pending, batch_rows
        self.retry_s, self.max_retry_s = retry_s, max_retry_s
        self.written = 0  # records the ledger accepted (new or already there)
        self.dropped = 0  # records refused because the queue was full
        self.failures = 0  # failed write attempts
        self.last_error: str | None = None
        self._queue: deque[ForecastRecord] = deque()
        self._in_flight = 0
        self._created = False
        self._stopping = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="stockcast-ledger", daemon=True)

    @property
    def pending(self) -> int:
        """Records queued or being written."""
        with self._changed:
            return len(self._queue) + self._in_flight

    def start(self) -> LedgerWriter:
        self._thread.start()
        return self

    def submit(self, records: Sequence[ForecastRecord]) -> int:
        """Queue `records`; returns how many were dropped because the queue was full."""
        with self._changed:
            room = max(self.max_pending - len(self._queue) - self._in_flight, 0)
            taken = records[:room]
            self._queue.extend(taken)
            dropped = len(records) - len(taken)
            self.dropped += dropped
            self._changed.notify_all()
        if dropped:
            log.warning("ledger queue full (%d records): dropped %d", self.max_pending, dropped)
        return dropped

    def flush(self, timeout: float) -> bool:
        """Wait until everything submitted so far is written; False when `timeout` ran out."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._queue or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._changed.wait(left)
        return True

    def close(self, timeout: float = 5.0) -> bool:
        """Write what is queued (for up to `timeout`), then stop; False if some was left."""
        flushed = self.flush(timeout) if self._thread.is_alive() else not self.pending
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if not flushed:
            log.warning("ledger writer stopped with %d records not written", self.pending)
        return flushed

    def _next_batch(self) -> list[ForecastRecord] | None:
        with self._changed:
            while not self._queue and not self._stopping:
                self._changed.wait()
            if self._stopping:
                return None
            batch = [self._queue.popleft() for _ in range(min(self.batch_rows, len(self._queue)))]
            self._in_flight = len(batch)
            return batch

    def _run(self) -> None:
        wait = self.retry_s
        while (batch := self._next_batch()) is not None:
            while not self._write(batch):
                with self._changed:  # back off, unless asked to stop
                    if self._changed.wait_for(lambda: self._stopping, timeout=wait):
                        return
                wait = min(wait * 2, self.max_retry_s)
            wait = self.retry_s
            with self._changed:
                self._in_flight = 0
                self.written += len(batch)
                self._changed.notify_all()

    def _write(self, batch: list[ForecastRecord]) -> bool:
        try:
            if not self._created:
                self.ledger.create()
                self._created = True
            self.ledger.record(batch)
        except LedgerError as err:
            self.failures += 1
            if self.last_error is None:  # one warning per outage, not one per retry
                log.warning("ledger unavailable; holding %d records: %s", self.pending, err)
            self.last_error = str(err)
            return False
        if self.last_error is not None:
            log.info("ledger available again")
        self.last_error = None
        return True
