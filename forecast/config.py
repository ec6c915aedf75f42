"""Frozen configs: one source of truth for every default. `asdict(cfg)` is saved and logged."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Self

SOURCES = ("auto", "yahoo", "cache", "csv", "sample")  # price sources of forecast.data.load_prices
HEADS = ("direct", "per_step", "seq2seq")
INITS = ("keras", "torch")
OPTIMIZERS = ("adam", "adamw")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
EXECUTORS = ("local", "ray")  # where a pipeline's fits run (forecast.parallel)


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(allowed)}")


def check_levels(levels: object) -> tuple[float, ...]:
    """Prediction interval levels as a tuple: one or more numbers strictly between 0 and 1 (the
    one rule for --levels, config files, CVConfig and calibrations). ValueError otherwise."""
    values = tuple(levels) if isinstance(levels, tuple | list) else ()
    if not values or any(
        isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 1 for v in values
    ):
        raise ValueError(f"levels must be numbers between 0 and 1; got {levels!r}")
    return tuple(float(v) for v in values)


def check_executor(name: str) -> str:
    """`name` when it is one of EXECUTORS; ValueError naming them otherwise."""
    _choice("executor", name, EXECUTORS)
    return name


def _at_least(name: str, value: float, low: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise ValueError(f"{name} must be a number >= {low}; got {value!r}")


def _fraction(name: str, value: float, high_open: bool = True) -> None:
    ok = isinstance(value, int | float) and 0 <= value and (value < 1 if high_open else value <= 1)
    if not ok:
        raise ValueError(f"{name} must be in [0, 1); got {value!r}")


class _Config:
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild from `asdict` output (lists become tuples); unknown keys are an error."""
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields {unknown}; known: {sorted(names)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


@dataclass(frozen=True)
class LSTMConfig(_Config):
    """The stacked LSTM: Keras' LSTM(64) -> LSTM(32) -> LSTM(16) -> Dense by default. What the
    user chooses only: the input width, the horizon and the naive level are the data's and the
    fit's (models.NetworkFit, on the fitted Forecaster)."""

    hidden_sizes: tuple[int, ...] = (64, 32, 16)  # one LSTM layer per entry, first to last
    dropout: float = 0.0  # on the outputs between LSTM layers (Keras: Dropout layers)
    recurrent_dropout: float = 0.0  # DropConnect on hidden-to-hidden weights, per batch
    bidirectional: bool = False  # read the lookback window both ways
    head: str = "direct"  # direct | per_step | seq2seq (see models/lstm.py)
    init: str = "keras"  # keras (glorot/orthogonal/forget bias 1) | torch (PyTorch default)
    # forecast the change from the naive forecast (the last value), the output layer starting at
    # zero: untrained, the network IS the naive forecast. False: the network forecasts the level.
    residual: bool = True

    def __post_init__(self) -> None:
        if not self.hidden_sizes or any(
            not isinstance(h, int) or isinstance(h, bool) or h < 1 for h in self.hidden_sizes
        ):
            raise ValueError(
                f"hidden_sizes must be one or more integers >= 1; got {self.hidden_sizes!r}"
            )
        _fraction("dropout", self.dropout)
        _fraction("recurrent_dropout", self.recurrent_dropout)
        _choice("head", self.head, HEADS)
        _choice("init", self.init, INITS)


@dataclass(frozen=True)
class TrainConfig(_Config):
    """The training loop. Keras' defaults where Keras has one (Adam, lr 1e-3, batch 32)."""

    epochs: int = 10  # maximum epochs
    batch_size: int = 32  # windows per optimizer step
    lr: float = 1e-3  # learning rate
    optimizer: str = "adam"  # adam | adamw
    weight_decay: float = 0.0  # L2 (adam) or decoupled (adamw): Keras' kernel_regularizer analogue
    grad_clip: float | None = None  # max global gradient norm; None: no clipping
    val_fraction: float = 0.1  # most recent share of windows held out for validation; 0: none
    patience: int | None = None  # early stopping after this many epochs without improvement
    min_delta: float = 0.0  # improvement smaller than this does not count
    # a residual network leaves the naive forecast (epoch 0) only for an epoch whose validation
    # gain over naive exceeds this many standard errors of the per-window paired difference:
    # smaller gains are what validation noise alone gives on daily prices
    naive_z: float = 1.0
    lr_patience: int | None = None  # halve-on-plateau: epochs without improvement before decay
    lr_factor: float = 0.5  # multiply the learning rate by this on a plateau
    device: str = "auto"  # auto (cuda, mps, cpu) or a torch device string
    precision: str = "auto"  # auto: bf16 autocast on CUDA where supported, else fp32
    threads: int | None = None  # CPU threads; None: physical cores (oversubscription is slow)
    seed: int = 0  # torch, numpy and Python RNGs
    progress: bool | None = None  # progress bar; None: only when stderr is a terminal

    def __post_init__(self) -> None:
        _at_least("epochs", self.epochs, 0)  # 0: no training (residual: the naive forecast)
        _at_least("batch_size", self.batch_size, 1)
        _at_least("lr", self.lr, 1e-12)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _at_least("weight_decay", self.weight_decay, 0)
        if self.grad_clip is not None:
            _at_least("grad_clip", self.grad_clip, 1e-12)
        _fraction("val_fraction", self.val_fraction)
        if self.patience is not None:
            _at_least("patience", self.patience, 1)
        if self.lr_patience is not None:
            _at_least("lr_patience", self.lr_patience, 1)
        if not (isinstance(self.naive_z, int | float) and self.naive_z >= 0):
            raise ValueError(f"naive_z must be a number >= 0; got {self.naive_z!r}")
        if not 0 < self.lr_factor < 1:
            raise ValueError(f"lr_factor must be in (0, 1); got {self.lr_factor!r}")
        _choice("precision", self.precision, PRECISIONS)
        if self.threads is not None:
            _at_least("threads", self.threads, 1)


FEATURE_SETS = ("close", "ohlcv", "returns", "range")
# the price columns each feature set reads besides the target (close or adj_close)
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "close": (),
    "ohlcv": ("open", "high", "low", "close", "volume"),
    "returns": ("high", "low", "volume"),
    "range": ("open", "high", "low", "close"),
}
# rows a feature set or a scaler consumes before its first value: a log return needs the day
# before it (WindowConfig.history_rows adds them up)
FEATURE_ROWS = {"returns": 1, "range": 1}
SCALER_ROWS = {"log_return": 1}
# how many input columns each feature set makes (forecast/prep/features.py checks it)
FEATURE_WIDTHS = {"close": 1, "ohlcv": 5, "returns": 3, "range": 4}
# where each feature set puts the target price among its columns (None: it has no price column)
TARGET_COLUMN: dict[str, int | None] = {"close": 0, "ohlcv": 3, "returns": None, "range": None}
# --scaler names served by scikit-learn's invertible transformers (sklearn.preprocessing), each
# fitted per column on training rows; its fitted state saved as JSON (forecast/prep/scaling.py)
SKLEARN_SCALERS = {
    "minmax": "MinMaxScaler",
    "standard": "StandardScaler",
    "robust": "RobustScaler",
    "maxabs": "MaxAbsScaler",
    "quantile": "QuantileTransformer",
    "power": "PowerTransformer",
}
SCALERS = ("minmax", "standard", "window", "log_return", "robust", "maxabs", "quantile", "power")
TARGETS = ("adj_close", "close")
CV_MODES = ("expanding", "sliding")
# prediction interval levels calibrated, evaluated and served unless a run asks for others
LEVELS = (0.8, 0.95)


@dataclass(frozen=True)
class WindowConfig(_Config):
    """What the model sees and forecasts."""

    lookback: int = 60  # trading days of history per forecast
    horizon: int = 1  # trading days forecast ahead
    features: str = "close"  # close | ohlcv | returns (forecast/features.py)
    target: str = "adj_close"  # the price column forecast
    # window: each window over its last price, so a trend never leaves the training range (minmax,
    # the tutorials' choice, breaks when test prices exceed every training price)
    scaler: str = "window"  # SCALERS: window | log_return | a scikit-learn name (prep/scaling.py)
    stride: int = 1  # step between training windows

    @property
    def history_rows(self) -> int:
        """Price rows one forecast needs: the one rule (the service, the pyfunc, the encoder's
        first origin and CV's folds all follow it). The lookback, plus a row for each log
        return taken: by the scaler (SCALER_ROWS) and by the features (FEATURE_ROWS)."""
        return self.lookback + SCALER_ROWS.get(self.scaler, 0) + FEATURE_ROWS.get(self.features, 0)

    def __post_init__(self) -> None:
        _at_least("lookback", self.lookback, 1)
        _at_least("horizon", self.horizon, 1)
        _at_least("stride", self.stride, 1)
        _choice("features", self.features, FEATURE_SETS)
        _choice("target", self.target, TARGETS)
        _choice("scaler", self.scaler, SCALERS)
        if self.scaler == "log_return" and self.features == "returns":
            raise ValueError(
                "scaler='log_return' takes logs of prices; features='returns' are already "
                "returns (and may be negative): use scaler='standard' with them"
            )


@dataclass(frozen=True)
class CVConfig(_Config):
    """Walk-forward cross-validation."""

    n_folds: int = 5  # consecutive test blocks at the end of the series
    test_size: int = 250  # rows per test block (about a trading year)
    mode: str = "expanding"  # expanding: all earlier rows train; sliding: the last train_size
    train_size: int | None = None  # rows per training block in sliding mode
    gap: int | None = None  # rows between training and test; None: horizon - 1 (the minimum)
    repeats: int = 3  # seeds per fold: an LSTM differs run to run, so report the spread
    levels: tuple[float, ...] = LEVELS  # prediction interval levels evaluated per fold

    def __post_init__(self) -> None:
        _at_least("n_folds", self.n_folds, 1)
        _at_least("test_size", self.test_size, 1)
        _choice("mode", self.mode, CV_MODES)
        if self.mode == "sliding" and self.train_size is None:
            raise ValueError("mode='sliding' needs train_size (rows per training block)")
        if self.train_size is not None:
            _at_least("train_size", self.train_size, 2)
        if self.gap is not None:
            _at_least("gap", self.gap, 0)
        _at_least("repeats", self.repeats, 1)
        check_levels(self.levels)


def cv_gap(window: WindowConfig, cv: CVConfig) -> int:
    """The rows between each fold's training rows and its test block: `cv.gap`, or horizon - 1
    (the fewest that keep a training target out of the test block). ValueError, with the
    numbers, when the gap is smaller than that or a test block cannot hold one forecast's steps:
    checked before any data is loaded or any run opened."""
    horizon = window.horizon
    gap = horizon - 1 if cv.gap is None else cv.gap
    if gap < horizon - 1:
        raise ValueError(f"gap={gap} must be at least horizon - 1 = {horizon - 1} rows")
    if horizon > cv.test_size:
        raise ValueError(
            f"horizon={horizon} needs test blocks of at least {horizon} rows (one forecast's "
            f"steps); test_size={cv.test_size}"
        )
    return gap


def naive_column(lstm: LSTMConfig, window: WindowConfig) -> int | None:
    """Where a residual network reads the naive forecast among its inputs: the target's scaled
    input column for the per-column scikit-learn scalers (and for window scaling per step);
    None when it is a constant (0, or log_return's zero return: the head's bias). ValueError
    when residual needs the column and the features have none."""
    per_step_window = lstm.head == "per_step" and window.scaler == "window"
    if not (lstm.residual and (window.scaler in SKLEARN_SCALERS or per_step_window)):
        return None
    column = TARGET_COLUMN[window.features]
    if column is None:
        raise ValueError(
            f"residual=True needs the target among the inputs for scaler={window.scaler!r} "
            f"and head={lstm.head!r}; features={window.features!r} has no price column. Use "
            "features close or ohlcv, another scaler, or residual=False (--no-residual)"
        )
    return column


def check_model(lstm: LSTMConfig, window: WindowConfig) -> None:
    """ValueError when the network cannot serve the window: a per_step head feeding its
    forecasts back over several input columns, or a residual without the naive column."""
    if lstm.head == "per_step" and window.horizon > 1 and FEATURE_WIDTHS[window.features] != 1:
        raise ValueError(
            "head='per_step' with horizon > 1 feeds its own forecasts back as input, so it "
            f"needs one input column (features='close'); got features={window.features!r}"
        )
    naive_column(lstm, window)


DEFAULT_COST_BPS = 5.0  # the backtest's cost per unit of turnover (forecast/evaluation/backtest.py)
DEFAULT_MAX_LEVERAGE = 1.0  # its vol_target's cap on the position
BOOTSTRAP_REPS = 1000  # resamples of its Sharpe difference interval


@dataclass(frozen=True)
class BacktestConfig:
    """The backtest's knobs (pipelines' --cost-bps, --short, --max-leverage, --target-vol)."""

    cost_bps: float = DEFAULT_COST_BPS  # per unit of turnover
    short: bool = False  # direction may go short
    max_leverage: float = DEFAULT_MAX_LEVERAGE  # vol_target's cap on the position
    target_vol: float | None = None  # annual; None: buy-and-hold's over the training rows
    reps: int = BOOTSTRAP_REPS
    seed: int = 0

    def __post_init__(self) -> None:
        checks = (
            ("cost_bps", self.cost_bps, 0 <= self.cost_bps < 10_000, "in [0, 10000)"),
            ("max_leverage", self.max_leverage, self.max_leverage > 0, "> 0"),
            ("reps", self.reps, self.reps >= 100, ">= 100"),
        )
        for name, value, ok, allowed in checks:
            if not (isinstance(value, int | float) and not isinstance(value, bool) and ok):
                raise ValueError(f"{name}={value!r}; allowed: a number {allowed}")
        if self.target_vol is not None and not (
            isinstance(self.target_vol, int | float) and 0 < self.target_vol < 10
        ):
            raise ValueError(
                f"target_vol={self.target_vol!r}; allowed: an annual volatility in (0, 10), "
                "e.g. 0.2 for 20%"
            )

    @property
    def cost(self) -> float:
        return self.cost_bps / 10_000
