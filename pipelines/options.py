"""Command-line options and --config files (TOML or YAML) -> the frozen configs.

Only light imports here, so `--help` answers at once. Defaults come from the config dataclasses.
"""

from __future__ import annotations

import argparse
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any, NoReturn

from forecast.config import (
    CV_MODES,
    EXECUTORS,
    FEATURE_SETS,
    HEADS,
    LEVELS,
    SCALERS,
    SOURCES,
    CVConfig,
    LSTMConfig,
    TrainConfig,
    WindowConfig,
    check_executor,
    check_levels,
    check_model,
    cv_gap,
)
from forecast.pipeline.options import FIT_THREADS, PipelineOptions
from forecast.tracking.names import EXPERIMENT

# option dest -> (config section, field)
_FIELDS = {
    "lookback": ("window", "lookback"),
    "horizon": ("window", "horizon"),
    "features": ("window", "features"),
    "scaler": ("window", "scaler"),
    "target": ("window", "target"),
    "hidden_sizes": ("lstm", "hidden_sizes"),
    "dropout": ("lstm", "dropout"),
    "recurrent_dropout": ("lstm", "recurrent_dropout"),
    "head": ("lstm", "head"),
    "bidirectional": ("lstm", "bidirectional"),
    "residual": ("lstm", "residual"),
    "epochs": ("train", "epochs"),
    "batch_size": ("train", "batch_size"),
    "lr": ("train", "lr"),
    "patience": ("train", "patience"),
    "device": ("train", "device"),
    "seed": ("train", "seed"),
    "threads": ("train", "threads"),
    "folds": ("cv", "n_folds"),
    "test_size": ("cv", "test_size"),
    "gap": ("cv", "gap"),
    "mode": ("cv", "mode"),
    "train_size": ("cv", "train_size"),
    "repeats": ("cv", "repeats"),
    "levels": ("cv", "levels"),
}
_RUN_KEYS = (
    "source",
    "csv",
    "start",
    "end",
    "data_dir",
    "tracking_uri",
    "experiment",
    "workers",
    "executor",
)
_SECTIONS: dict[str, Any] = {
    "window": WindowConfig,
    "lstm": LSTMConfig,
    "train": TrainConfig,
    "cv": CVConfig,
}


def _default(section: str, name: str) -> Any:
    return getattr(_SECTIONS[section], name)


def parse_hidden_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.replace(",", " ").split())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"hidden sizes must be integers like 64,32,16; got {text!r}"
        ) from None
    return sizes


def parse_workers(value: object) -> int | None:
    """--workers or a config file's `workers`: auto (None) or a whole number >= 1."""
    if value is None or value == "auto":
        return None
    try:
        workers = int(str(value)) if not isinstance(value, bool | float) else 0
    except ValueError:
        workers = 0
    if workers < 1:
        raise ValueError(f"workers must be auto or a whole number >= 1; got {value!r}")
    return workers


def _workers(text: str) -> int | None:
    try:
        return parse_workers(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


_LEVELS_TEXT = ",".join(f"{level:g}" for level in LEVELS)


def _levels(text: str) -> tuple[float, ...]:
    try:
        return check_levels([float(part) for part in text.split(",") if part.strip()])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"levels must be numbers between 0 and 1 like {_LEVELS_TEXT}; got {text!r}"
        ) from None


def price_source(source: str | None, csv: str | None) -> str:
    """The price source a command's options ask for: `--csv FILE` implies the csv source, which
    any other explicit `--source` contradicts (ValueError naming both); else `source` or auto."""
    if csv and source not in (None, "auto", "csv"):
        raise ValueError(f"--csv is for --source csv; got --source {source}")
    return "csv" if csv else source or "auto"


def add_source_options(group: Any) -> None:
    """Where prices come from: --source, --csv, --data-dir (pipelines.retrain: all its days)."""
    group.add_argument("--source", choices=SOURCES, help="price source (default auto)")
    group.add_argument("--csv", metavar="PATH", help="price file for --source csv")
    group.add_argument(
        "--data-dir", help="price cache folder (default $STOCKCAST_DATA_DIR or ~/.cache/stockcast)"
    )


def add_data_options(group: Any) -> None:
    """Where prices come from and which days: shared by pipelines.train and pipelines.prices."""
    add_source_options(group)
    group.add_argument("--start", help="first date, YYYY-MM-DD")
    group.add_argument("--end", help="last date, YYYY-MM-DD (inclusive)")


def add_tracking_uri_option(group: Any) -> None:
    """--tracking-uri: shared by every CLI that reads or writes MLflow."""
    group.add_argument(
        "--tracking-uri", help="MLflow tracking URI (default $MLFLOW_TRACKING_URI or ./mlflow.db)"
    )


def add_workers_option(group: Any) -> None:
    """--workers auto|N: how many fits run at once (pipelines.train, pipelines.retrain)."""
    group.add_argument(
        "--workers",
        type=_workers,
        metavar="auto|N",
        help="fits run at once (default auto: physical cores // --threads; 1: in this process)",
    )


def add_ledger_option(group: Any) -> None:
    """The forecast ledger: shared by pipelines.performance and pipelines.retrain."""
    group.add_argument(
        "--ledger-uri",
        help="forecast ledger, a SQLAlchemy URL (default $STOCKCAST_LEDGER_URI, or ledger.db "
        "beside a SQLite MLflow store)",
    )


def add_backtest_options(group: Any) -> None:
    """The costed backtest's knobs: shared by pipelines.train and pipelines.backtest."""
    group.add_argument(
        "--cost-bps", type=float, help="cost per unit of turnover, in basis points (default 5)"
    )
    group.add_argument(
        "--short", action="store_true", help="let the direction strategy go short too"
    )
    group.add_argument(
        "--max-leverage", type=float, help="cap on vol_target's position (default 1)"
    )
    group.add_argument(
        "--target-vol",
        type=float,
        help="vol_target's annual volatility, e.g. 0.2 (default: buy-and-hold's over the "
        "training rows)",
    )


def backtest_config(args: argparse.Namespace) -> Any:
    """The BacktestConfig of add_backtest_options' values (ValueError naming a bad one)."""
    from forecast.config import DEFAULT_COST_BPS, DEFAULT_MAX_LEVERAGE, BacktestConfig

    return BacktestConfig(
        cost_bps=DEFAULT_COST_BPS if args.cost_bps is None else args.cost_bps,
        short=bool(args.short),
        max_leverage=DEFAULT_MAX_LEVERAGE if args.max_leverage is None else args.max_leverage,
        target_vol=args.target_vol,
    )


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the problem and where the options are, not the usage
    block (exit code 2, as argparse)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n(see `{self.prog} --help` for the options)\n")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="python -m pipelines.train",
        description="Walk-forward cross-validate stacked LSTMs against naive baselines, fit a "
        "final model on all data, track it all in MLflow and register it in the model registry.",
    )
    p.add_argument("tickers", nargs="+", metavar="TICKER", help="e.g. AAPL MSFT")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="TOML or YAML file with [window] [lstm] [train] "
        "[cv] sections and run keys; options given here override it",
    )
    add_data_options(p.add_argument_group("data"))
    run = p.add_argument_group("parallel training")
    add_workers_option(run)
    run.add_argument(
        "--executor",
        choices=EXECUTORS,
        help="local worker processes (default), or ray: the cluster at $RAY_ADDRESS, else a "
        'local Ray started for the run (pip install -e ".[ray]")',
    )
    _add_window_options(p)
    _add_model_options(p)
    _add_training_options(p)
    _add_cv_options(p)
    add_backtest_options(p.add_argument_group("backtest of the CV forecasts"))
    _add_tracking_options(p)
    return p


def _add_window_options(parser: argparse.ArgumentParser) -> None:
    """--lookback, --horizon, --features, --target, --scaler."""
    win = parser.add_argument_group("windows")
    win.add_argument(
        "--lookback", type=int, help=f"days of history (default {_default('window', 'lookback')})"
    )
    win.add_argument(
        "--horizon", type=int, help=f"days ahead (default {_default('window', 'horizon')})"
    )
    win.add_argument(
        "--features", choices=FEATURE_SETS, help=f"default {_default('window', 'features')}"
    )
    win.add_argument("--target", choices=("adj_close", "close"), help="default adj_close")
    win.add_argument("--scaler", choices=SCALERS, help=f"default {_default('window', 'scaler')}")


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    """The network: --hidden-sizes, dropouts, --head, --bidirectional, --residual."""
    model = parser.add_argument_group("model")
    model.add_argument(
        "--hidden-sizes",
        type=parse_hidden_sizes,
        metavar="64,32,16",
        help="LSTM layer sizes (default 64,32,16)",
    )
    model.add_argument("--dropout", type=float, help="between layers (default 0)")
    model.add_argument("--recurrent-dropout", type=float, help="on recurrent weights (default 0)")
    model.add_argument("--head", choices=HEADS, help=f"default {_default('lstm', 'head')}")
    model.add_argument("--bidirectional", action="store_true", default=None)
    model.add_argument(
        "--residual",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="forecast the change from the naive forecast, starting from it: training keeps a "
        "fit only where validation says it beats naive (default on; --no-residual: the level)",
    )


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    """The training loop: epochs, batch, lr, patience, device, seed, threads."""
    fit = parser.add_argument_group("training")
    fit.add_argument(
        "--epochs", type=int, help=f"maximum epochs (default {_default('train', 'epochs')})"
    )
    fit.add_argument("--batch-size", type=int, help=f"default {_default('train', 'batch_size')}")
    fit.add_argument("--lr", type=float, help=f"learning rate (default {_default('train', 'lr')})")
    fit.add_argument("--patience", type=int, help="early-stopping patience in epochs (default off)")
    fit.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    fit.add_argument("--seed", type=int, help=f"default {_default('train', 'seed')}")
    fit.add_argument(
        "--threads",
        type=int,
        help=f"torch CPU threads per fit (default {FIT_THREADS}); results depend on it, never "
        "on --workers",
    )


def _add_cv_options(parser: argparse.ArgumentParser) -> None:
    """Walk-forward cross-validation: folds, test size, gap, mode, repeats, interval levels."""
    cv = parser.add_argument_group("cross-validation")
    cv.add_argument("--folds", type=int, help=f"default {_default('cv', 'n_folds')}")
    cv.add_argument(
        "--test-size", type=int, help=f"rows per test block (default {_default('cv', 'test_size')})"
    )
    cv.add_argument("--gap", type=int, help="rows between train and test (default horizon - 1)")
    cv.add_argument("--mode", choices=CV_MODES, help="default expanding")
    cv.add_argument("--train-size", type=int, help="rows per training block in sliding mode")
    cv.add_argument(
        "--repeats", type=int, help=f"seeds per fold (default {_default('cv', 'repeats')})"
    )
    cv.add_argument(
        "--levels",
        type=_levels,
        metavar=_LEVELS_TEXT,
        help="prediction interval levels, each calibrated on earlier folds (default "
        f"{_LEVELS_TEXT})",
    )


def _add_tracking_options(parser: argparse.ArgumentParser) -> None:
    """MLflow and the registry: --tracking-uri, --experiment, --promote | --no-register."""
    track = parser.add_argument_group("tracking")
    add_tracking_uri_option(track)
    track.add_argument("--experiment", help=f"MLflow experiment (default {EXPERIMENT})")
    reg = track.add_mutually_exclusive_group()
    reg.add_argument(
        "--promote",
        action="store_true",
        help="move the champion alias even if CV skill is not better",
    )
    reg.add_argument(
        "--no-register", action="store_true", help="log the model but do not register it"
    )


def read_config_file(path: str) -> dict[str, Any]:
    """A TOML or YAML file as a dict; errors name the file."""
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"--config {path!r}: no such file")
    text = file.read_text()
    try:
        if file.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        elif file.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise ValueError(f"--config {path!r}: use a .toml, .yaml or .yml file")
    except (tomllib.TOMLDecodeError, ImportError) as err:
        raise ValueError(f"--config {path!r}: {err}") from err
    except Exception as err:  # yaml.YAMLError, without importing yaml at module level
        if type(err).__module__.startswith("yaml"):
            raise ValueError(f"--config {path!r}: {err}") from err
        raise
    if not isinstance(data, dict):
        raise ValueError(
            f"--config {path!r}: expected a table of settings; got {type(data).__name__}"
        )
    return data


def options_from_args(args: argparse.Namespace) -> PipelineOptions:
    """Merge the config file (if any) with explicit options; raises ValueError naming bad values.
    Tickers are normalized here, where they enter: `aapl` trains and registers AAPL."""
    from forecast.data.tickers import normalize_ticker  # pandas: not for --help

    file = read_config_file(args.config) if args.config else {}
    sections: dict[str, dict[str, Any]] = {name: dict(file.get(name) or {}) for name in _SECTIONS}
    unknown = sorted(set(file) - set(_SECTIONS) - set(_RUN_KEYS) - {"promote", "register"})
    if unknown:
        raise ValueError(
            f"--config: unknown keys {unknown}; sections are {sorted(_SECTIONS)}, "
            f"run keys {list(_RUN_KEYS)}"
        )
    configs = _configs(args, sections)
    check_model(configs["lstm"], configs["window"])  # checked here: exit 2
    cv_gap(configs["window"], configs["cv"])
    run = {
        key: getattr(args, key, None) if getattr(args, key, None) is not None else file.get(key)
        for key in _RUN_KEYS
    }
    options = PipelineOptions(
        tickers=tuple(normalize_ticker(t) for t in args.tickers),
        window=configs["window"],
        lstm=configs["lstm"],
        train=configs["train"],
        cv=configs["cv"],
        source=price_source(run["source"], run["csv"]),
        csv=run["csv"],
        start=None if run["start"] is None else str(run["start"]),
        end=None if run["end"] is None else str(run["end"]),
        data_dir=run["data_dir"],
        tracking_uri=run["tracking_uri"],
        experiment=run["experiment"] or EXPERIMENT,
        register=not args.no_register and file.get("register", True),
        promote=bool(args.promote or file.get("promote", False)),
        workers=parse_workers(run["workers"]),
        executor=check_executor(run["executor"] or "local"),
        backtest=backtest_config(args),
    )
    check_before_any_run(options)
    return options


def _configs(args: argparse.Namespace, sections: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each config section from the file's values and the options given (which win)."""
    for dest, (section, name) in _FIELDS.items():
        value = getattr(args, dest, None)
        if value is not None:
            sections[section][name] = value
    sections["train"].setdefault("threads", FIT_THREADS)
    configs = {}
    for name, cls in _SECTIONS.items():
        known = {f.name for f in fields(cls)}
        bad = sorted(set(sections[name]) - known)
        if bad:
            raise ValueError(f"[{name}] has unknown settings {bad}; known: {sorted(known)}")
        configs[name] = cls.from_dict(sections[name])
    return configs


def check_before_any_run(options: PipelineOptions) -> None:
    """What can be checked without data: dates, the CSV rule, and that the device exists."""
    import importlib.util

    from forecast.data.frame import parse_date
    from forecast.models.device import autocast_dtype, resolve_device

    autocast_dtype(options.train.precision, resolve_device(options.train.device))
    parse_date(options.start, "--start")
    parse_date(options.end, "--end")
    if options.source == "csv" and not options.csv:
        raise ValueError("--source csv needs --csv PATH")
    if options.csv and len(options.tickers) > 1:
        raise ValueError("--csv reads one file: give one ticker")
    if options.executor == "ray" and importlib.util.find_spec("ray") is None:
        from forecast.parallel.ray_executor import RAY_MISSING

        raise ValueError(RAY_MISSING)
