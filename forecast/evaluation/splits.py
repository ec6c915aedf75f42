"""Walk-forward splits over time rows: every test block follows its training rows in time.

scikit-learn's TimeSeriesSplit makes them (test_size, gap; max_train_size for sliding); the
guards here give Stockcast's errors with the numbers, and Folds number them from 1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import TimeSeriesSplit

from forecast.config import CV_MODES


@dataclass(frozen=True)
class Fold:
    """Row ranges of one fold: train [train_start, train_end), test [test_start, test_end)."""

    index: int
    train_start: int
    train_end: int
    test_start: int
    test_end: int

    @property
    def number(self) -> int:
        """The fold as people count it, from 1: in logs, run names, tags, plots and tables."""
        return self.index + 1

    @property
    def gap(self) -> int:
        return self.test_start - self.train_end


def walk_forward_splits(
    n_rows: int,
    n_folds: int,
    test_size: int,
    *,
    mode: str = "expanding",
    train_size: int | None = None,
    gap: int = 0,
    min_train_rows: int = 1,
) -> Iterator[Fold]:
    """Consecutive test blocks of `test_size` rows at the end of the series, oldest first.

    Fold k trains on rows before its test block minus `gap` rows: all of them ("expanding") or
    the last `train_size` ("sliding"). Raises ValueError, with the numbers, when the series is
    too short for the request.
    """
    for name, value in (
        ("n_folds", n_folds),
        ("test_size", test_size),
        ("min_train_rows", min_train_rows),
    ):
        if value < 1:
            raise ValueError(f"{name} must be >= 1; got {value}")
    if gap < 0:
        raise ValueError(f"gap must be >= 0; got {gap}")
    if mode not in CV_MODES:
        raise ValueError(f"mode={mode!r} is not one of {', '.join(CV_MODES)}")
    if mode == "sliding" and (train_size is None or train_size < min_train_rows):
        raise ValueError(
            f"mode='sliding' needs train_size >= {min_train_rows} rows; got train_size={train_size}"
        )
    first_test = n_rows - n_folds * test_size
    first_train_rows = first_test - gap if mode == "expanding" else train_size
    if first_test - gap < (first_train_rows or 0) or first_test - gap < min_train_rows:
        need = n_folds * test_size + gap + max(min_train_rows, train_size or 0)
        raise ValueError(
            f"n_folds={n_folds} x test_size={test_size} with gap={gap} and at least "
            f"{max(min_train_rows, train_size or 0)} training rows need {need} rows; got {n_rows}"
        )
    max_train_size = train_size if mode == "sliding" else None
    if n_folds == 1:  # a hold-out: TimeSeriesSplit's last split, which needs 2 or more of them
        train_end = n_rows - test_size - gap
        train_start = 0 if max_train_size is None else max(0, train_end - max_train_size)
        yield Fold(0, train_start, train_end, n_rows - test_size, n_rows)
        return
    splitter = TimeSeriesSplit(n_folds, max_train_size=max_train_size, test_size=test_size, gap=gap)
    for k, (train, test) in enumerate(splitter.split(np.empty((n_rows, 0)))):
        yield Fold(k, int(train[0]), int(train[-1]) + 1, int(test[0]), int(test[-1]) + 1)
