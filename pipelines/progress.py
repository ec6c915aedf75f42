"""Pipeline progress: stage, fold, repeat and epoch with an ETA on a terminal; a line per fold
in logs otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from forecast.models.progress import ProgressBar

log = logging.getLogger("pipelines.train")


class PipelineProgress:
    def __init__(self, ticker: str, n_folds: int, repeats: int, epochs: int) -> None:
        self.ticker, self.n_folds, self.repeats, self.epochs = ticker, n_folds, repeats, epochs
        # the final fit's epochs are not known yet: count them as a full run for the ETA
        self.total = (n_folds * repeats + 1) * epochs
        self.done = 0
        self.started = time.perf_counter()
        self.bar = ProgressBar(self.total) if ProgressBar.wanted(sys.stderr) else None

    def for_run(self, fold: int, repeat: int) -> _EpochTick:
        return _EpochTick(
            self,
            f"{self.ticker} cv fold {fold + 1}/{self.n_folds} repeat {repeat + 1}/{self.repeats}",
            offset=(fold * self.repeats + repeat) * self.epochs,
        )

    def for_final(self, epochs: int) -> _EpochTick:
        self.total = self.n_folds * self.repeats * self.epochs + epochs
        if self.bar is not None:
            self.bar.total = self.total
        return _EpochTick(
            self, f"{self.ticker} final fit", offset=self.n_folds * self.repeats * self.epochs
        )

    def fold_done(self, result: Any) -> None:
        model, naive = result.metrics["model"], result.metrics["naive"]
        message = (
            f"{self.ticker} fold {result.fold.index + 1}/{self.n_folds}: RMSE {model['rmse']:.4f} "
            f"(naive {naive['rmse']:.4f}), skill {model['skill']:+.4f}, {result.diagnosis}, "
            f"{time.perf_counter() - self.started:.0f} s elapsed"
        )
        if self.bar is not None:
            self.bar.write(message)
        else:
            log.info(message)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _EpochTick:
    def __init__(self, progress: PipelineProgress, label: str, offset: int) -> None:
        self.progress, self.label, self.offset = progress, label, offset

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        progress = self.progress
        progress.done = self.offset + epoch
        if progress.bar is not None:
            progress.bar.label = self.label + " epoch"
            progress.bar.update(progress.done, metrics)
