"""Forecaster: configs + fitted encoder + weights. Knows prices and dates; the model does not."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, cast

import numpy as np
import pandas as pd
import torch
from numpy.lib.stride_tricks import sliding_window_view

from forecast.calendar import next_trading_days
from forecast.config import (
    LEVELS,
    LSTMConfig,
    TrainConfig,
    WindowConfig,
    check_model,
    naive_column,
)
from forecast.data.history import HistoryError, Rows, price_columns, row_count
from forecast.intervals import (
    DEFAULT_RULE,
    Calibration,
    Volatility,
    check_rule,
    lower_column,
    rule_name,
    scale_rule,
    upper_column,
)
from forecast.models import NetworkFit, StackedLSTM
from forecast.models.scale_head import ScaleWindows, windows_at
from forecast.models.training import (
    INFERENCE_CHUNK,
    Callback,
    TrainResult,
    WindowedData,
    seed_everything,
    train,
)
from forecast.prep.encoding import WindowEncoder
from forecast.prep.features import (
    RANGE_SET,
    Features,
    aligned_ranges,
    build_features,
    features_of,
    with_ranges,
)
from forecast.queries import Answer, Query, QueryError

if TYPE_CHECKING:
    from forecast.garch import Garch
    from forecast.models.scale_head import ScaleHead

MAX_ROLL_STEPS = 60  # how far a per_step head may feed its own forecasts back


@dataclass(frozen=True)
class Forecast:
    """Forecast prices `values` (steps,) on trading `dates` after the series' last day, and
    each calibrated level's (lower, upper) bounds for the first calibrated steps."""

    dates: pd.DatetimeIndex
    values: np.ndarray
    intervals: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    quantiles: dict[float, np.ndarray] = field(default_factory=dict)  # for the calibrated steps


def quantile_column(q: float) -> str:
    return f"quantile_{q:g}"


def _is_price_frame(frame: pd.DataFrame) -> bool:
    """A validated price frame (dates on the index), not request rows (a `date` column)."""
    return isinstance(frame.index, pd.DatetimeIndex) and "date" not in frame.columns


class Forecaster:
    """fit(prices) -> predict(prices) in price units on future trading dates; save / load."""

    def __init__(
        self,
        window: WindowConfig | None = None,
        lstm: LSTMConfig | None = None,
        train: TrainConfig | None = None,
    ) -> None:
        self.window = window or WindowConfig()
        self.lstm = lstm or LSTMConfig()
        check_model(self.lstm, self.window)
        self.train = train or TrainConfig()
        self.calibration_: Calibration | None = None  # intervals: see fit()

    def fit(
        self,
        prices: pd.DataFrame,
        callbacks: Sequence[Callback] = (),
        *,
        calibration_scores: np.ndarray | None = None,
        levels: tuple[float, ...] = LEVELS,
        rule: str = DEFAULT_RULE,
    ) -> Self:
        """Fit scaling and the model on every row of `prices` (a validated price frame): what
        the pipeline's final fit does. With `calibration_scores` (N, H), the conformal scores of
        forecasts this configuration made on rows it never trained on (walk-forward CV's, see
        forecast.evaluation.cv.calibration_scores), forecasts get intervals at each of `levels`
        that those scores can bound, their width following `rule` (INTERVAL_RULES, fitted on
        these prices; the scores must have been divided by the same rule's scale in CV).
        ValueError when the rows are too few, the rule unknown or the scores not (N, horizon)."""
        check_rule(rule)
        if calibration_scores is not None and np.shape(calibration_scores)[1:] != (
            self.window.horizon,
        ):
            raise ValueError(
                f"calibration scores of shape {np.shape(calibration_scores)}; this model "
                f"forecasts {self.window.horizon} steps: (N, {self.window.horizon})"
            )
        features = build_features(prices, self.window.features, self.window.target)
        self.fit_arrays(features.values, features.target, callbacks)
        self.columns_ = features.columns
        self.trained_until_ = features.index[-1]
        self.calibration_ = (
            None
            if calibration_scores is None
            else Calibration.fit(
                calibration_scores, levels, self._width_rule(rule, features, prices)
            ).finite()
        )
        return self

    def _width_rule(
        self, rule: str, features: Features, prices: pd.DataFrame
    ) -> Volatility | Garch | ScaleHead | None:
        """The width rule `rule` fitted on every row: the lstm rule's head (on the rows' range
        features, with the point model's windows and seed), or scale_rule's."""
        if rule != "lstm":
            return scale_rule(rule, features.target)
        from forecast.models.scale_head import ScaleHead

        ranges = cast(np.ndarray, with_ranges(features, prices).ranges)
        return ScaleHead.fit(
            ranges,
            features.target,
            self.encoder_.first_origin,
            self.window.horizon,
            seed=self.train.seed,
        )

    def fit_arrays(
        self, values: np.ndarray, target: np.ndarray, callbacks: Sequence[Callback] = ()
    ) -> TrainResult:
        """Fit on feature rows (T, F) and target (T,), all of them training rows: a CV fold's
        fit, which forecasts with `forecast_origins` only (no dates, no intervals; `fit` is the
        whole model)."""
        window = self.window
        encoder = WindowEncoder.for_window(window).fit(values, target)
        last_origin = len(target) - window.horizon
        if last_origin < encoder.first_origin:
            raise ValueError(
                f"lookback={window.lookback} and horizon={window.horizon} need at least "
                f"{encoder.first_origin + window.horizon} rows to train; got {len(target)}"
            )
        origins = np.arange(encoder.first_origin, last_origin + 1, window.stride)
        encoded = encoder.encode(values, target, origins)
        if encoded.y is None:
            raise RuntimeError("encode(targets=True) returned no targets")
        column = naive_column(self.lstm, window)
        if column is not None and not encoder.transforms_alike(values, target, column):
            raise ValueError(
                f"residual=True reads the naive forecast from input column {column}, but it "
                "is not the target scaled alike; use residual=False"
            )
        level = encoder.naive_level() if self.lstm.residual else 0.0
        fitted = NetworkFit(values.shape[1], window.horizon, column, level)
        seed_everything(self.train.seed)
        model = StackedLSTM(self.lstm, fitted)
        self.result_ = train(
            model, WindowedData(encoded.X, encoded.y, encoded.y_steps), self.train, callbacks
        )
        self.model_, self.encoder_ = model.cpu().eval(), encoder
        return self.result_

    @property
    def interval_levels(self) -> tuple[float, ...]:
        """The calibrated prediction interval levels (none without a calibration)."""
        return () if self.calibration_ is None else self.calibration_.levels

    @property
    def interval_rule(self) -> str | None:
        """The intervals' width rule (INTERVAL_RULES), None without intervals."""
        return None if self.calibration_ is None else rule_name(self.calibration_.volatility)

    def check_quantiles(self, quantiles: tuple[float, ...]) -> tuple[float, ...]:
        """`quantiles` when this model's calibration can serve each, else ValueError naming
        the smallest and largest it can."""
        if self.calibration_ is None:
            raise ValueError(
                "this model has no calibrated intervals, so it serves no quantiles; retrain it"
            )
        return self.calibration_.check_quantiles(quantiles)

    def check_level(self, level: float | None) -> float | None:
        """The interval level to answer with: `level` when calibrated (None: the first
        calibrated, or None when the model has no intervals), or ValueError naming those
        available."""
        if self.calibration_ is None:
            if level is None:
                return None
            raise ValueError(
                f"level={level!r} is not available: this model has no calibrated intervals "
                "(it was saved before Stockcast calibrated them, or CV had too few forecasts); "
                "retrain it to get them"
            )
        return self.calibration_.levels[0] if level is None else self.calibration_.level(level)

    def _require_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise RuntimeError("this Forecaster is not fitted yet; call fit() or Forecaster.load()")

    @property
    def max_horizon(self) -> int:
        """The furthest step `predict` reaches: the trained horizon, or up to MAX_ROLL_STEPS for a
        single-feature per_step head, which feeds its own forecasts back."""
        self._require_fitted()
        fitted = self.model_.fitted
        if self.lstm.head == "per_step" and fitted.n_features == 1:
            return max(MAX_ROLL_STEPS, fitted.horizon)
        return fitted.horizon

    def check_horizon(self, horizon: int | None) -> int:
        """The number of steps to forecast, or ValueError saying the allowed range."""
        steps = self.window.horizon if horizon is None else horizon
        if not 1 <= steps <= self.max_horizon:
            raise ValueError(f"horizon={horizon} must be between 1 and {self.max_horizon}")
        return steps

    def inputs(self, values: np.ndarray, target: np.ndarray, origins: np.ndarray) -> torch.Tensor:
        """The network's input windows (N, lookback, F) for each origin t, from rows before t."""
        self._require_fitted()
        encoded = self.encoder_.encode(values, target, origins, targets=False)
        return torch.from_numpy(np.ascontiguousarray(encoded.X))

    @torch.inference_mode()
    def forecast_origins(
        self, values: np.ndarray, target: np.ndarray, origins: np.ndarray, steps: int | None = None
    ) -> np.ndarray:
        """Price forecasts (N, steps or horizon) from each origin t, seeing only rows before t."""
        self._require_fitted()
        encoded = self.encoder_.encode(values, target, origins, targets=False)
        X = torch.from_numpy(np.ascontiguousarray(encoded.X))
        roll = steps if steps is not None and steps > self.window.horizon else None
        chunks = range(0, len(X), INFERENCE_CHUNK)
        pred = torch.cat([self.model_(X[i : i + INFERENCE_CHUNK], roll) for i in chunks])
        out = self.encoder_.decode(pred.numpy(), encoded.anchor)
        return out if steps is None else out[:, :steps]

    def features(self, prices: pd.DataFrame) -> Features:
        """This model's inputs from a validated price frame: the features it was fit on, from
        the last `window.history_rows` rows (all it reads). ValueError when rows or columns
        fall short."""
        self._require_fitted()
        needed = self.window.history_rows
        if len(prices) < needed:
            raise ValueError(
                f"lookback={self.window.lookback} needs at least {needed} rows of "
                f"prices; got {len(prices)}"
            )
        recent = prices.iloc[-needed:]
        features = build_features(recent, self.window.features, self.window.target)
        if features.columns != self.columns_:
            raise ValueError(
                f"prices give features {features.columns}; the model was fit on {self.columns_}"
            )
        return with_ranges(features, recent) if self.interval_rule == "lstm" else features

    def _row_features(self, rows: Rows) -> Features:
        """The features of request rows, by forecast.data.history's rule, from the last
        `window.history_rows` of them."""
        needed = self.window.history_rows
        if (count := row_count(rows)) < needed:
            raise ValueError(
                f"history has {count} rows; this model needs at least {needed} "
                f"(lookback {self.window.lookback})"
            )
        lstm = self.interval_rule == "lstm"  # its head reads open, high, low and close
        days, columns = price_columns(rows, self.window.features, also=(RANGE_SET,) if lstm else ())
        recent = {name: values[-needed:] for name, values in columns.items()}
        index = pd.DatetimeIndex(days[-needed:].astype("datetime64[ns]"), name="date")
        features = features_of(recent, index, self.window.features, self.window.target)
        if features.columns != self.columns_:
            raise ValueError(
                f"rows give features {features.columns}; the model was fit on {self.columns_}"
            )
        if not lstm:
            return features
        ranges = aligned_ranges(recent, self.window.target, len(features.target))
        return replace(features, ranges=ranges)

    def answer(self, queries: Sequence[Query]) -> list[Answer | QueryError]:
        """Each query's forecast, in order, from one forward pass over those this model can
        answer; a QueryError for each it cannot (its horizon, level, rows or prices)."""
        checked = [self._checked(query) for query in queries]
        ready = [
            (q, c) for q, c in zip(queries, checked, strict=True) if not isinstance(c, QueryError)
        ]
        steps = max((c[1] for _, c in ready), default=1)
        asked = tuple(sorted({x for query, _ in ready for x in query.quantiles}))
        forecasts = iter(self.forecast([c[0] for _, c in ready], steps, asked) if ready else ())
        answers: list[Answer | QueryError] = []
        for query, c in zip(queries, checked, strict=True):
            if isinstance(c, QueryError):
                answers.append(c)
                continue
            features, steps, level = c
            out = next(forecasts)
            none = np.empty(0)  # no level: the model has no intervals
            low, high = (none, none) if level is None else out.intervals.get(level, (none, none))
            answers.append(
                Answer(
                    features.index[-1],
                    out.dates[:steps],
                    out.values[:steps],
                    level,
                    low[:steps],
                    high[:steps],
                    {q: out.quantiles[q][:steps] for q in query.quantiles},
                )
            )
        return answers

    def _checked(self, query: Query) -> tuple[Features, int, float | None] | QueryError:
        """A query's features, steps and level, or the QueryError naming what is wrong."""
        try:
            steps = self.check_horizon(query.horizon)
        except ValueError as err:
            return QueryError("horizon", str(err))
        try:
            level = self.check_level(query.level)
        except ValueError as err:
            return QueryError("level", str(err))
        if query.quantiles:
            try:
                self.check_quantiles(query.quantiles)
            except ValueError as err:
                return QueryError("quantiles", str(err))
        try:
            if query.rows is not None:
                return self._row_features(query.rows), steps, level
            return self.features(cast(pd.DataFrame, query.prices)), steps, level
        except HistoryError as err:
            return QueryError("history", str(err), err.row, err.column)
        except ValueError as err:
            return QueryError("history" if query.rows is not None else "prices", str(err))

    @torch.inference_mode()
    def forecast(
        self,
        series: Sequence[Features],
        steps: int | None = None,
        quantiles: tuple[float, ...] = (),
    ) -> list[Forecast]:
        """One forecast after the end of each feature series (see `features`), in a single
        forward pass, each on the next NYSE trading days. `steps` as in `check_horizon`;
        `quantiles` as in `check_quantiles`."""
        steps = self.check_horizon(steps)
        needed = self.encoder_.first_origin
        encoded = []
        for one in series:
            if one.columns != self.columns_ or len(one.target) < needed:
                raise ValueError(
                    f"features {one.columns} x {len(one.target)} rows; the model reads "
                    f"{self.columns_} x at least {needed} rows"
                )
            origin = np.array([len(one.target)])
            encoded.append(self.encoder_.encode(one.values, one.target, origin, targets=False))
        X = torch.from_numpy(np.ascontiguousarray(np.concatenate([e.X for e in encoded])))
        roll = steps if steps > self.window.horizon else None
        pred = self.model_(X, roll).numpy()
        values = self.encoder_.decode(pred, np.concatenate([e.anchor for e in encoded]))[:, :steps]
        bounds: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        quantile_values: dict[float, np.ndarray] = {}
        if self.calibration_ is not None:  # the rows the model read: as in CV
            windows = self._rule_windows(series)
            if quantiles:
                self.calibration_.check_quantiles(quantiles)
            bounds, quantile_values = self.calibration_.answer(values, windows, quantiles)
        return [
            Forecast(
                next_trading_days(one.index[-1], steps),
                row,
                {level: (low[i], high[i]) for level, (low, high) in bounds.items()},
                {q: values_[i] for q, values_ in quantile_values.items()},
            )
            for i, (one, row) in enumerate(zip(series, values, strict=True))
        ]

    def _rule_windows(self, series: Sequence[Features]) -> np.ndarray | ScaleWindows:
        """What the width rule reads at the end of each series: `_rule_inputs` at the origin
        after its last row, for all of them."""
        parts = [self._rule_inputs(one, np.array([len(one.target)])) for one in series]
        if len(parts) == 1:
            return parts[0]
        if isinstance(parts[0], ScaleWindows):
            heads = cast(list[ScaleWindows], parts)
            return ScaleWindows(
                np.concatenate([p.ranges for p in heads]), np.concatenate([p.last for p in heads])
            )
        return np.concatenate(cast(list[np.ndarray], parts))

    def _rule_inputs(self, features: Features, origins: np.ndarray) -> np.ndarray | ScaleWindows:
        """What the width rule reads at each origin of a feature series, from the rows the
        model read before it (as in CV): their prices, or for the lstm rule their range
        features (ValueError when the series lacks them)."""
        rows = self.encoder_.first_origin
        if self.interval_rule != "lstm":
            return sliding_window_view(features.target, rows)[origins - rows]
        if features.ranges is None:
            raise ValueError(
                "this model's intervals follow the lstm rule, which reads the range features "
                "(open, high, low, close): build the features with Forecaster.features or "
                "with_ranges"
            )
        return windows_at(features.ranges, features.target, origins, rows)

    def scale_at(self, features: Features, origins: np.ndarray, steps: int) -> np.ndarray | None:
        """The served width rule's price-unit scale (N, steps) at `origins` of a feature series
        (Forecaster.features of a long price frame, or build_features + with_ranges), each from
        the rows before it, as in CV; None when the intervals have constant width or none."""
        self._require_fitted()
        if self.calibration_ is None or self.calibration_.volatility is None:
            return None
        windows = self._rule_inputs(features, origins)
        return self.calibration_.volatility.scale(windows, steps)  # type: ignore[arg-type]

    def predict(
        self, prices: pd.DataFrame, horizon: int | None = None, quantiles: tuple[float, ...] = ()
    ) -> pd.DataFrame:
        """Forecasts after the last row of `prices` (a validated price frame, or request rows:
        forecast.data.history): index `date` (next NYSE trading days), column `forecast` in
        price units, and per calibrated level `lower_80`, `upper_80`... (NaN past the calibrated
        steps). `horizon` defaults to (and may not exceed) the model's. QueryError otherwise."""
        is_frame = _is_price_frame(prices)
        query = (
            Query(prices, horizon=horizon, quantiles=quantiles)
            if is_frame
            else Query(rows=prices, horizon=horizon, quantiles=quantiles)
        )
        checked = self._checked(query)
        if isinstance(checked, QueryError):
            raise checked
        features, steps, _ = checked
        (out,) = self.forecast([features], steps, quantiles)
        frame = pd.DataFrame({"forecast": out.values}, index=out.dates)

        def padded(values: np.ndarray) -> np.ndarray:
            return np.pad(values, (0, steps - len(values)), constant_values=np.nan)

        for level, (low, high) in out.intervals.items():
            frame[lower_column(level)], frame[upper_column(level)] = padded(low), padded(high)
        for q, values_ in out.quantiles.items():
            frame[quantile_column(q)] = padded(values_)
        return frame

    def save(self, directory: str | Path) -> Path:
        """JSON config + safetensors weights (+ JSON calibration); no pickle. Returns the
        directory (forecast/saving.py)."""
        from forecast.saving import save

        self._require_fitted()
        return save(self, directory)

    def to_dict(self) -> dict[str, Any]:
        """The saved forecaster.json: configs, the network's fitted state, scaling."""
        from forecast.saving import to_dict

        self._require_fitted()
        return to_dict(self)

    @classmethod
    def load(cls, directory: str | Path) -> Forecaster:
        """Rebuild a saved Forecaster on the CPU (whatever device trained it)."""
        from forecast.saving import load

        return load(directory)
