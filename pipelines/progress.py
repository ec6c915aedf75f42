"""Pipeline progress: stage, fold, repeat and epoch with an ETA on a terminal; in logs (piped,
CI) a line as each fit starts, with elapsed time and an ETA, and a line per fold."""

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
        label = (
            f"{self.ticker} cv fold {fold + 1}/{self.n_folds}, repeat {repeat + 1}/{self.repeats}"
        )
        self._starting(label, fits_done=fold * self.repeats + repeat)
        return _EpochTick(self, label, offset=(fold * self.repeats + repeat) * self.epochs)

    def for_final(self, epochs: int) -> _EpochTick:
        self.total = self.n_folds * self.repeats * self.epochs + epochs
        if self.bar is not None:
            self.bar.total = self.total
        label = f"{self.ticker} final fit"
        self._starting(label, fits_done=self.n_folds * self.repeats)
        return _EpochTick(self, label, offset=self.n_folds * self.repeats * self.epochs)

    def _starting(self, label: str, fits_done: int) -> None:
        """Without a bar (piped, logged, CI): a line as each fit starts, with elapsed and ETA."""
        if self.bar is not None:
            return
        fits = self.n_folds * self.repeats + 1
        elapsed = time.perf_counter() - self.started
        eta = (
            f"ETA {_duration(elapsed / fits_done * (fits - fits_done))}"
            if fits_done
            else "ETA after the first fit"
        )
        log.info(
            "%s: starting; %d/%d fits done, %s elapsed, %s",
            label,
            fits_done,
            fits,
            _duration(elapsed),
            eta,
        )

    def fold_done(self, result: Any) -> None:
        model, naive = result.metrics["model"], result.metrics["naive"]
        message = (
            f"{self.ticker} fold {result.fold.number}/{self.n_folds}: RMSE {model['rmse']:.4f} "
            f"(naive {naive['rmse']:.4f}), skill {model['skill']:+.4f}, {result.diagnosis.label}, "
            f"{_duration(time.perf_counter() - self.started)} elapsed"
        )
        if self.bar is not None:
            self.bar.write(message)
        else:
            log.info(message)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _duration(seconds: float) -> str:
    """12 s, 3 m 05 s, 1 h 02 m."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} m {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} m"


class _EpochTick:
    def __init__(self, progress: PipelineProgress, label: str, offset: int) -> None:
        self.progress, self.label, self.offset = progress, label, offset

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        progress = self.progress
        progress.done = self.offset + epoch
        if progress.bar is not None:
            progress.bar.label = self.label + " epoch"
            progress.bar.update(progress.done, metrics)
