"""What one forecast request asks of a model, and what it gets: the library's side of
`POST /forecast`, the pyfunc model and Forecaster.predict (Forecaster.answer serves them)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecast.data.history import Rows


@dataclass(frozen=True)
class Query:
    """A forecast after the last of `prices` (a validated price frame: the ticker's own) or of
    `rows` (request rows, by the rule of forecast.data.history), one of them; `horizon` steps
    (None: the model's), bounds at `level` (None: the model's first calibrated level)."""

    prices: pd.DataFrame | None = None
    rows: Rows | None = None
    horizon: int | None = None
    level: float | None = None
    quantiles: tuple[float, ...] = ()  # each in (0, 1): served from the calibrated scores

    def __post_init__(self) -> None:
        if (self.prices is None) == (self.rows is None):
            raise TypeError("a Query takes prices or rows, one of them")


class QueryError(ValueError):
    """A query the model cannot answer. `field` is the part to blame (horizon, level, history:
    the rows, prices: the price frame), `row` and `column` the history row (from 0, oldest
    first) and column when one is."""

    def __init__(
        self, field: str, message: str, row: int | None = None, column: str | None = None
    ) -> None:
        super().__init__(message)
        self.field, self.message, self.row, self.column = field, message, row, column


@dataclass(frozen=True)
class Answer:
    """The forecast of one query: `values` (steps,) in price units on trading `dates` after
    `as_of`, the last day it read; `lower` and `upper` at `level` for the first calibrated
    steps (empty when the model has no intervals: level None), and each asked quantile's
    values for those steps."""

    as_of: pd.Timestamp
    dates: pd.DatetimeIndex
    values: np.ndarray
    level: float | None
    lower: np.ndarray
    upper: np.ndarray
    quantiles: dict[float, np.ndarray] = field(default_factory=dict)
