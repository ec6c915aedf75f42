"""A fold's fit diagnosis from its repeats' loss curves, against the right floor.

On near-random-walk prices no model explains half the variance, so comparing losses with a
constant predictor's (what this replaced) called almost every fold "underfit". The floor here is
the naive forecast's validation loss, which a residual network has at epoch 0, and the noise is
the larger of two: the standard error of the paired per-window gain over naive on the
validation windows (what chance alone gives), and the spread of the best loss across repeats:

- no-signal: the fits do not beat naive on validation by more than that noise;
- underfit:  most repeats were still improving when training stopped (lowest loss at the last
             epoch, falling there): more epochs or capacity would help;
- overfit:   validation bottomed out at least 2 epochs before the end and rose since, giving
             back more than 10% of its gain over naive (of its loss, without a naive floor);
- good:      beats naive, stopped near its best.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DIAGNOSES = ("no-signal", "underfit", "overfit", "good", "unknown")
OVERFIT_RISE = 0.10  # the share of the gain over naive that validation gave back since its best


@dataclass(frozen=True)
class Diagnosis:
    label: str
    naive_val_loss: float  # median over repeats of epoch 0's validation loss (the naive forecast)
    best_val_loss: float  # median over repeats of the best validation loss, epoch 0 included
    spread: float  # std over repeats of the best validation loss (0 for one repeat)
    gain_stderr: float  # median over repeats of the best epoch's paired gain standard error
    still_falling: float  # share of repeats lowest and still falling at their last epoch
    rising: float  # median over repeats: the last epoch's rise above the lowest validation loss,
    # as a share of the gain over naive (of the lowest loss without a naive floor)

    @property
    def gain(self) -> float:
        """How much of naive's validation loss the fits removed (NaN without a naive floor)."""
        return 1.0 - self.best_val_loss / self.naive_val_loss

    def tags(self) -> dict[str, str]:
        """The label and the numbers behind it, for MLflow."""
        figures = {
            "naive_val_loss": self.naive_val_loss,
            "best_val_loss": self.best_val_loss,
            "gain_vs_naive": self.gain,
            "spread": self.spread,
            "gain_stderr": self.gain_stderr,
            "still_falling": self.still_falling,
            "rising": self.rising,
        }
        return {
            "fit_diagnosis": self.label,
            **{f"fit_diagnosis.{name}": f"{value:.6g}" for name, value in figures.items()},
        }


def diagnose(
    histories: Sequence[dict[str, list[float]]], naive_val_losses: Sequence[float]
) -> Diagnosis:
    """The fold's label from every repeat's curves and epoch-0 validation loss (NaN for a level
    network, which has no naive floor: then no-signal is never the label)."""
    curves, bests, stderrs = [], [], []
    for history, epoch0 in zip(histories, naive_val_losses, strict=True):
        curve = np.asarray(history.get("val_loss", []), dtype=np.float64)
        if curve.size == 0 or np.isnan(curve).all():
            continue  # no validation rows in this fit
        curves.append(curve)
        lowest = int(np.nanargmin(curve))
        bests.append(min(float(curve[lowest]), epoch0 if np.isfinite(epoch0) else math.inf))
        stderrs.append(history.get("naive_gain_se", [math.nan] * len(curve))[lowest])
    naive = float(np.median(naive_val_losses)) if len(naive_val_losses) else math.nan
    if not curves:
        return Diagnosis("unknown", naive, *[math.nan] * 5)
    best = float(np.median(bests))
    spread = float(np.std(bests, ddof=1)) if len(bests) > 1 else 0.0
    stderr = float(np.median(stderrs))
    still_falling = float(
        np.mean(
            [len(c) > 1 and int(np.nanargmin(c)) == len(c) - 1 and c[-1] < c[-2] for c in curves]
        )
    )
    rises = [_rise(c, naive) for c in curves]
    early = [len(c) - 1 - int(np.nanargmin(c)) for c in curves]
    rising = float(np.median(rises))
    noise = max(spread, stderr if math.isfinite(stderr) else 0.0)
    if math.isfinite(naive) and naive - best <= noise:
        label = "no-signal"
    elif still_falling > 0.5:
        label = "underfit"
    elif rising > OVERFIT_RISE and float(np.median(early)) >= 2:
        label = "overfit"
    else:
        label = "good"
    return Diagnosis(label, naive, best, spread, stderr, still_falling, rising)


def _rise(curve: np.ndarray, naive: float) -> float:
    """How far the last epoch's validation loss is above the lowest, as a share of the gain
    over naive (of the lowest loss itself without a naive floor)."""
    lowest = float(np.nanmin(curve))
    scale = abs(naive - lowest) if math.isfinite(naive) else abs(lowest)
    above = float(curve[-1]) - lowest
    if scale > 0:
        return above / scale
    return math.inf if above > 0 else 0.0
