"""A one-line progress bar on stderr for interactive runs; silent when piped or in CI."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO


class ProgressBar:
    """`epoch k/n [=====     ] train 0.0012 val 0.0015 ETA 12s`, redrawn in place."""

    def __init__(self, total: int, label: str = "epoch", stream: TextIO | None = None) -> None:
        self.total, self.label = total, label
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()

    @staticmethod
    def wanted(stream: TextIO | None = None) -> bool:
        """Only on a terminal, and never under CI."""
        target = stream or sys.stderr
        return bool(getattr(target, "isatty", lambda: False)()) and not os.environ.get("CI")

    def update(self, done: int, metrics: dict[str, float]) -> None:
        elapsed = time.perf_counter() - self.started
        eta = elapsed / done * (self.total - done) if done else 0.0
        filled = int(20 * done / self.total)
        losses = " ".join(
            f"{k.removesuffix('_loss')} {v:.4g}" for k, v in metrics.items() if k.endswith("_loss")
        )
        self.stream.write(
            f"\r{self.label} {done}/{self.total} [{'=' * filled}{' ' * (20 - filled)}] {losses} "
            f"ETA {eta:.0f}s "
        )
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
