"""What one pipeline invocation runs: its configs and run settings (pipelines/options.py builds
them from the command line and config files)."""

from __future__ import annotations

from dataclasses import dataclass, field

from forecast.config import BacktestConfig, CVConfig, LSTMConfig, TrainConfig, WindowConfig
from forecast.tracking.names import EXPERIMENT

# torch threads per fit in the pipeline: a small LSTM's serial recurrence gains little from more,
# and results depend on this number (never on the worker count), so it has one default
FIT_THREADS = 1
DEFAULT_WINDOWS = 64  # pipelines.inspect: windows the gates and the saliency are averaged over


@dataclass(frozen=True)
class PipelineOptions:
    tickers: tuple[str, ...]
    window: WindowConfig
    lstm: LSTMConfig
    train: TrainConfig
    cv: CVConfig
    source: str = "auto"
    csv: str | None = None
    start: str | None = None
    end: str | None = None
    data_dir: str | None = None
    tracking_uri: str | None = None
    experiment: str = EXPERIMENT
    register: bool = True
    promote: bool = False
    workers: int | None = None  # None: auto, physical cores // threads per fit
    executor: str = "local"
    backtest: BacktestConfig = field(default_factory=BacktestConfig)  # of the CV forecasts
    retrain_of: str | None = None  # pipelines.retrain: the champion version this run refreshes
