"""Look inside a registered model: its LSTM's states, gates and saliency on a ticker's recent
windows, logged to a new MLflow run linked to the version (python -m pipelines.inspect), and
the same for the final fit of every pipeline run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from forecast import tracking
from forecast.pipeline.options import DEFAULT_WINDOWS
from forecast.tracking.names import CHAMPION

if TYPE_CHECKING:
    import torch

    from forecast.forecaster import Forecaster
    from forecast.models.internals import Inspection
    from forecast.prep.features import Features

FINAL_FIT_WINDOWS = 128  # the pipeline's final fit: its most recent training windows, one batch


@dataclass(frozen=True)
class InspectionReport:
    """What an inspection found and where it was logged."""

    label: str  # stockcast-AAPL v3
    windows: int
    windows_end: pd.Timestamp
    lookback: int
    metrics: dict[str, float]
    forget_open: list[float]  # per layer, the share of forget gates above 0.9
    run_id: str
    model_summary: str  # the Keras-style parameter table

    def text(self) -> str:
        """What `python -m pipelines.inspect` prints."""
        metrics = self.metrics
        return (
            f"{self.label}: {self.windows} windows to {self.windows_end:%Y-%m-%d}; the forecast "
            f"looks back {metrics['saliency/lags_for_90pct']:.0f} of {self.lookback} days for 90% "
            f"of its input gradient (peak lag {metrics['saliency/peak_lag']:.0f}); forget gates "
            f"open (>0.9) {', '.join(f'{share:.0%}' for share in self.forget_open)} per layer\n"
            f"{self.model_summary}\nMLflow run {self.run_id}"
        )


def inspect_registered(
    ticker: str,
    prices: Any,
    registered: tracking.RegisteredForecaster,
    windows: int = DEFAULT_WINDOWS,
    date: pd.Timestamp | None = None,
) -> InspectionReport:
    """Inspect `registered` on the last `windows` windows of `prices` up to `date` (default the
    latest) and log it to a new run. ValueError when the prices end before `date` or hold too
    little history."""
    from forecast.models.internals import Inspection
    from forecast.prep.features import build_features

    forecaster = registered.forecaster
    prices = _up_to(prices, date, ticker)
    window = forecaster.window
    features = build_features(prices, window.features, window.target)
    X, origins = recent_windows(forecaster, features, windows)
    inspection = Inspection.of(forecaster.model_, X)
    last = origins[-1]
    lookback = window.lookback
    states = (features.target[last - lookback : last], features.index[last - lookback : last])
    label = f"{registered.name} v{registered.version}"
    tags = {
        "ticker": ticker,
        "inspects": f"{registered.name}/{registered.version}",
        "model_name": registered.name,
        "model_version": registered.version,
        "model_run_id": registered.run_id,
        "windows": str(len(origins)),
        "windows_end": f"{features.index[-1]:%Y-%m-%d}",
    }
    with tracking.run(f"inspect {label}", tags=tags) as run_id:
        log_inspection(inspection, run_id, label, states)
    return InspectionReport(
        label,
        len(origins),
        features.index[-1],
        lookback,
        inspection.metrics(),
        [g["forget"]["high"] for g in inspection.saturation.values()],
        run_id,
        forecaster.model_.summary(),
    )


def registered_model(ticker: str, version: str | None, alias: str | None) -> Any:
    """The registered Forecaster to inspect: `version`, else `alias` (default champion)."""
    return tracking.load_registered(
        tracking.model_name(ticker), None if version else alias or CHAMPION, version=version
    )


def _up_to(prices: pd.DataFrame, date: pd.Timestamp | None, ticker: str) -> pd.DataFrame:
    if date is None:
        return prices
    if date > prices.index[-1]:
        raise ValueError(
            f"--date {date:%Y-%m-%d} is after the last {ticker} price "
            f"({prices.index[-1]:%Y-%m-%d}, from {prices.attrs.get('source', '?')})"
        )
    prices = prices.loc[:date]
    if prices.empty:
        raise ValueError(f"no {ticker} prices on or before --date {date:%Y-%m-%d}")
    return prices


def recent_windows(
    forecaster: Forecaster, features: Features, count: int
) -> tuple[torch.Tensor, np.ndarray]:
    """The model's input windows for the last `count` origins of its `features` (the last one
    forecasts the day after their last row), fewer when they hold fewer; with the origins.
    ValueError when not even one window fits."""
    window = forecaster.window
    first = forecaster.encoder_.first_origin
    rows = len(features.target)
    if rows < first:
        raise ValueError(
            f"{rows} days of prices up to {features.index[-1]:%Y-%m-%d}; the model reads "
            f"{window.history_rows} (lookback {window.lookback})"
        )
    origins = np.arange(max(first, rows - count + 1), rows + 1)
    return forecaster.inputs(features.values, features.target, origins), origins


def log_inspection(
    inspection: Inspection, run_id: str, title: str, states: tuple[Any, Any] | None = None
) -> None:
    """Into the active run: the saliency plot, the gate histograms, the metrics (saliency at
    every lag as steps of `saliency/by_lag`) and inspection/summary.json; with `states`
    (one window's prices and dates), the cell and hidden state heatmaps."""
    from forecast import tracking
    from forecast.evaluation.plots import gate_histograms, lstm_states, saliency_by_lag

    buffer = tracking.MetricBuffer(run_id)
    buffer.add_all(inspection.metrics())
    for lag, share in enumerate(inspection.saliency, start=1):
        buffer.add("saliency/by_lag", float(share), step=lag)
    buffer.flush()
    tracking.log_dict(inspection.summary(), "inspection/summary.json")
    tracking.log_figure(
        saliency_by_lag(inspection.saliency, f"{title}: how far back the forecast looks"),
        "plots/saliency.png",
    )
    tracking.log_figure(
        gate_histograms(inspection.layers, f"{title}: gate activations"),
        "plots/gate_saturation.png",
    )
    if states is not None:
        prices, dates = states
        last = len(inspection.layers[0].hidden) - 1
        tracking.log_figure(
            lstm_states(
                inspection.layers,
                last,
                prices,
                dates,
                f"{title}: the window to {dates[-1]:%Y-%m-%d}",
            ),
            "plots/lstm_states.png",
        )
