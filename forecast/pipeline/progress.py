"""Pipeline progress: stage, fold, repeat and epoch with an ETA on a terminal; in logs (piped,
CI) a line per fit, with elapsed time and an ETA, and a line per fold. Fits run in this process
are logged as they start; fits run by workers side by side, as their results come in."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from forecast.models.progress import ProgressBar

log = logging.getLogger("pipelines.train")


class PipelineProgress:
    def __init__(
        self, ticker: str, n_folds: int, repeats: int, epochs: int, parallel: bool = False
    ) -> None:
        self.ticker, self.n_folds, self.repeats, self.epochs = ticker, n_folds, repeats, epochs
        self.parallel = parallel
        # the final fit's epochs are not known yet: count them as a full run for the ETA
        self.total = (n_folds * repeats + 1) * epochs
        self.done = 0
        self.fits_done = 0
        self.started = time.perf_counter()
        self._bar: ProgressBar | None = None
        self._terminal = ProgressBar.wanted(sys.stderr)

    @property
    def bar(self) -> ProgressBar | None:
        """Drawn from the ticker's first fit on (queued tickers draw nothing yet)."""
        if self._bar is None and self._terminal:
            self._bar = ProgressBar(self.total)
        return self._bar

    def for_run(self, fold: int, repeat: int) -> _EpochTick:
        label = (
            f"{self.ticker} cv fold {fold + 1}/{self.n_folds}, repeat {repeat + 1}/{self.repeats}"
        )
        self._fit(label, fits_done=fold * self.repeats + repeat)
        return _EpochTick(self, label, offset=(fold * self.repeats + repeat) * self.epochs)

    def for_final(self, epochs: int) -> _EpochTick:
        self.total = self.n_folds * self.repeats * self.epochs + epochs
        if self.bar is not None:
            self.bar.total = self.total
        label = f"{self.ticker} final fit"
        self._fit(label, fits_done=self.n_folds * self.repeats)
        return _EpochTick(self, label, offset=self.n_folds * self.repeats * self.epochs)

    def _fit(self, label: str, fits_done: int) -> None:
        """Without a bar (piped, logged, CI): a line per fit, with elapsed time and an ETA: as
        it starts in this process, or as its result comes in from a worker."""
        if self.bar is not None:
            return
        fits = self.n_folds * self.repeats + 1
        elapsed = time.perf_counter() - self.started
        if self.parallel:  # results come in order, each fit done
            self.fits_done += 1
            fits_done = self.fits_done
            log.info(
                "%s: done; %d/%d fits done, %s elapsed, %s",
                label,
                fits_done,
                fits,
                _duration(elapsed),
                f"ETA {_duration(elapsed / fits_done * (fits - fits_done))}",
            )
            return
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
        if self._bar is not None:
            self._bar.close()


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
