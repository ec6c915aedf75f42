"""A one-line progress bar on stderr for interactive runs; silent when piped or in CI.

tqdm draws it (ETA, redraw in place, terminal width, writing lines above the bar): small, no
dependencies of its own, and what PyTorch users already read; rich would bring a console framework
for one line.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO


class ProgressBar:
    """`epoch k/n [=====     ], train 0.0012 val 0.0015 ETA 00:12`, redrawn in place."""

    def __init__(self, total: int, label: str = "epoch", stream: TextIO | None = None) -> None:
        from tqdm import tqdm

        self.stream = stream or sys.stderr
        self._bar = tqdm(
            total=total,
            desc=label,
            file=self.stream,
            ascii=" =",
            bar_format="{desc} {n_fmt}/{total_fmt} [{bar:20}]{postfix} ETA {remaining}",
        )

    @staticmethod
    def wanted(stream: TextIO | None = None) -> bool:
        """Only on a terminal, and never under CI."""
        target = stream or sys.stderr
        return bool(getattr(target, "isatty", lambda: False)()) and not os.environ.get("CI")

    @property
    def label(self) -> str:
        return str(self._bar.desc)

    @label.setter
    def label(self, value: str) -> None:
        self._bar.set_description_str(value, refresh=False)

    @property
    def total(self) -> int:
        return int(self._bar.total or 0)

    @total.setter
    def total(self, value: int) -> None:
        self._bar.total = value

    def update(self, done: int, metrics: dict[str, float]) -> None:
        """Show `done` of `total` with the losses in `metrics` (keys ending in _loss)."""
        losses = " ".join(
            f"{k.removesuffix('_loss')} {v:.4g}" for k, v in metrics.items() if k.endswith("_loss")
        )
        self._bar.n = done
        self._bar.set_postfix_str(losses, refresh=False)
        self._bar.refresh()

    def write(self, message: str) -> None:
        """A line above the bar (the bar redraws below it)."""
        self._bar.write(message, file=self.stream)

    def close(self) -> None:
        self._bar.close()
