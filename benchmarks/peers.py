"""Stockcast against the Darts and NeuralForecast LSTMs on the same walk-forward origins.

    pip install -e ".[peers]"
    python benchmarks/peers.py [--ticker AAPL] [--source sample] [--rounds 3] [--horizons 1,5]

The plan comes from the product: `CrossValidation` (what `pipelines.train` runs) gives the
folds, each fold's training rows and its forecast origins for the default CV (5 folds x 250
test rows, lookback 60, gap horizon - 1). Every system then, per fold, trains on exactly those
rows and forecasts `horizon` steps from every origin of the fold's test block, refit per fold:
- Stockcast: `python -m pipelines.train TICKER` with 3 LSTM layers of 64, one repeat per fold
  (the others train one model per fold too), everything else default: MLflow tracking of every
  fold, five interval rules compared on each fold, the backtest, the final fit on all rows and
  its registration. Its forecasts and the served rule's bounds come from the run's
  cv/forecasts.csv.
- Darts `BlockRNNModel(model="LSTM")`: hidden 64, 3 layers, trained on the fold's rows, then
  `ConformalNaiveModel` (quantiles 2.5/10/50/90/97.5%, calibrated on the model's own
  historical forecasts before each origin) over every origin with `historical_forecasts`.
- NeuralForecast `LSTM`: encoder hidden 64, 3 layers, `fit(prediction_intervals=
  PredictionIntervals(n_windows=250))` (a second fit on the training rows less their last
  year, whose errors calibrate), then `predict(level=[80, 95])` from every origin.
The budget is Stockcast's default: 10 epochs over the fold's training windows at batch 32
(Darts: n_epochs=10, batch_size=32; NeuralForecast: max_steps = 10 x windows / 32 with
windows_batch_size=32). Scaling rows: each library's default as its docs run it (Darts:
`Scaler()`, min-max on the training rows; NeuralForecast: scaler_type="robust", the LSTM's
default), and the library's best option (chosen on MSFT's last fold, not on these origins:
Darts adds `use_reversible_instance_norm=True`; NeuralForecast scaler_type="invariant").
Stockcast's scalers tie there (its residual network falls back to naive), so `window`, its
default, is its one row.

Each system runs in its own process, one at a time, rounds x horizons x systems, the seed
changing per round. Wall time: from the process's start (imports included) to its last
forecast; peak memory: the process tree's resident set, sampled every 20 ms. Every peer's
forecasts must sit on Stockcast's origins, dates and naive values: the script asserts it.
Pooled RMSE over every origin and step, skill = 1 - RMSE / naive's RMSE on the same origins;
coverage and Winkler score at 80% and 95% on folds 2-5 (Stockcast's first fold has no earlier
fold to calibrate on). Medians over the rounds.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata as metadata
import json
import logging
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil

from forecast.config import CVConfig, TrainConfig, WindowConfig
from forecast.data import SOURCES, DataUnavailableError, PriceDataError
from forecast.intervals import level_name, lower_column, upper_column

ROOT = Path(__file__).resolve().parent.parent
# Stockcast's defaults, the budget every system gets; the network the issue asks for
LOOKBACK, FOLDS, TEST_SIZE = WindowConfig().lookback, CVConfig().n_folds, CVConfig().test_size
EPOCHS, BATCH, LEVELS = TrainConfig().epochs, TrainConfig().batch_size, CVConfig().levels
HIDDEN, LAYERS = 64, 3


def interval_quantiles(level: float) -> tuple[float, float]:
    """The quantiles a central interval at `level` lies between: 0.1 and 0.9 for 0.8."""
    return round((1 - level) / 2, 6), round((1 + level) / 2, 6)


# Darts' conformal model: the median and every level's bounds
QUANTILES = sorted({0.5, *(q for level in LEVELS for q in interval_quantiles(level))})
INTERVAL_METRICS = {"coverage": "coverage", "winkler": "Winkler"}  # metric -> its heading
CALIBRATION_WINDOWS = 250  # NeuralForecast's conformal windows: a trading year
PEERS = ("darts", "neuralforecast")
EXTRA = 'the `peers` extra: pip install -e ".[peers]"'


@dataclass(frozen=True)
class System:
    name: str  # stockcast | darts | neuralforecast
    scaling: str
    role: str  # default | best | default = best

    @property
    def key(self) -> str:
        return f"{self.name}:{self.scaling}"


SYSTEMS = (
    System("stockcast", "window", "default = best"),
    System("darts", "minmax", "default"),
    System("darts", "minmax+rinorm", "best"),
    System("neuralforecast", "robust", "default"),
    System("neuralforecast", "invariant", "best"),
)


def require_peers() -> dict[str, str]:
    """The peers' versions; exits naming the extra when one does not import."""
    missing = []
    for name in PEERS:
        try:
            importlib.import_module(name)
        except ImportError as err:
            missing.append(f"{name} ({err})")
    if missing:
        sys.exit(f"benchmarks/peers.py: {', '.join(missing)} not importable; install {EXTRA}")
    names = ("torch", "darts", "neuralforecast", "pytorch-lightning", "mlflow", "numpy", "pandas")
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {"stockcast": commit or "?"} | {name: metadata.version(name) for name in names}


# --- the plan: the product's folds and origins ------------------------------------------------


def write_plan(ticker: str, source: str, horizon: int, path: Path) -> None:
    """The series, folds and origins of the default CV at `horizon`, by CrossValidation."""
    from forecast.config import LSTMConfig
    from forecast.data import load_prices
    from forecast.evaluation.cv import CrossValidation

    window = WindowConfig(lookback=LOOKBACK, horizon=horizon)
    cv = CrossValidation(
        load_prices(ticker, source=source),
        window,
        LSTMConfig(hidden_sizes=(HIDDEN,) * LAYERS),
        TrainConfig(epochs=EPOCHS, batch_size=BATCH),
        CVConfig(n_folds=FOLDS, test_size=TEST_SIZE, repeats=1),
    )
    origins = [cv.origins(fold) for fold in cv.folds]
    np.savez(
        path,
        target=cv.features.target.astype(np.float64),
        dates=cv.features.index.to_numpy().astype("datetime64[ns]").astype(np.int64),
        numbers=np.array([fold.number for fold in cv.folds]),
        train_start=np.array([fold.train_start for fold in cv.folds]),
        train_end=np.array([fold.train_end for fold in cv.folds]),
        test_end=np.array([fold.test_end for fold in cv.folds]),
        origins=np.concatenate(origins),
        origin_fold=np.concatenate(
            [np.full(len(o), fold.number) for fold, o in zip(cv.folds, origins, strict=True)]
        ),
        horizon=horizon,
    )


@dataclass
class Plan:
    target: np.ndarray
    dates: np.ndarray  # int64 ns
    numbers: np.ndarray  # each fold as the pipeline numbers it (from 1)
    train_start: np.ndarray
    train_end: np.ndarray
    test_end: np.ndarray
    origins: np.ndarray
    origin_fold: np.ndarray
    horizon: int

    @classmethod
    def load(cls, path: Path) -> Plan:
        with np.load(path) as f:
            return cls(**{k: f[k] for k in f.files if k != "horizon"}, horizon=int(f["horizon"]))

    def folds(self):
        """Each fold: its number, training rows [start, end), test block end and origins."""
        bounds = zip(self.numbers, self.train_start, self.train_end, self.test_end, strict=True)
        for number, start, end, test_end in bounds:
            origins = self.origins[self.origin_fold == number]
            yield int(number), slice(int(start), int(end)), int(test_end), origins


# --- the systems, each in its own process -----------------------------------------------------


class Output:
    """One system's forecasts, a row per origin and step (fold, origin, step order)."""

    def __init__(self) -> None:
        self.columns: dict[str, list[np.ndarray]] = {}

    def add(self, **columns: np.ndarray) -> None:
        for name, values in columns.items():
            self.columns.setdefault(name, []).append(np.asarray(values, dtype=np.float64).ravel())

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: np.concatenate(parts) for name, parts in self.columns.items()}


def run_stockcast(system: System, plan: Plan, args: argparse.Namespace) -> dict[str, np.ndarray]:
    import pandas as pd
    from mlflow.tracking import MlflowClient

    from forecast import tracking
    from pipelines.train import main

    argv = [args.ticker, "--source", args.source, "--horizon", str(plan.horizon)]
    argv += ["--lookback", str(LOOKBACK), "--scaler", system.scaling]
    argv += ["--hidden-sizes", ",".join([str(HIDDEN)] * LAYERS), "--repeats", "1"]
    argv += ["--epochs", str(args.epochs), "--batch-size", str(BATCH), "--seed", str(args.seed)]
    argv += ["--folds", str(FOLDS), "--test-size", str(TEST_SIZE)]
    argv += ["--tracking-uri", args.tracking_uri, "--experiment", args.experiment]
    if main(argv) != 0:
        sys.exit(f"pipelines.train {' '.join(argv)} failed")
    finished = time.time()
    client = MlflowClient(args.tracking_uri)
    experiment = client.get_experiment_by_name(args.experiment)
    (parent,) = client.search_runs(
        [experiment.experiment_id], "attributes.run_name LIKE '" + args.ticker + " %'"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = client.download_artifacts(parent.info.run_id, tracking.CV_FORECASTS_ARTIFACT, folder)
        frame = pd.read_csv(path, parse_dates=["origin"])
    out = {name: frame[name].to_numpy(np.float64) for name in ("fold", "step", "actual")}
    out |= {"forecast": frame["model"].to_numpy(), "naive": frame["last_observed"].to_numpy()}
    out["origin_date"] = frame["origin"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    for level in LEVELS:
        for column in (lower_column(level), upper_column(level)):
            out[column] = frame[column].to_numpy()
    out["finished"] = np.array(finished)
    return out


def quiet_lightning() -> dict:
    """Lightning's chatter off; the trainer arguments that keep it quiet."""
    warnings.filterwarnings("ignore")
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return {"enable_progress_bar": False, "enable_model_summary": False, "logger": False}


def run_darts(system: System, plan: Plan, args: argparse.Namespace) -> dict[str, np.ndarray]:
    trainer = quiet_lightning()
    from darts import TimeSeries
    from darts.dataprocessing.transformers import Scaler
    from darts.models import BlockRNNModel, ConformalNaiveModel

    h, out = plan.horizon, Output()
    for number, train, test_end, origins in plan.folds():
        series = TimeSeries.from_values(plan.target[:test_end].astype(np.float32))
        scaler = Scaler().fit(series[train])  # min-max on the training rows
        model = BlockRNNModel(
            model="LSTM",
            input_chunk_length=LOOKBACK,
            output_chunk_length=h,
            hidden_dim=HIDDEN,
            n_rnn_layers=LAYERS,
            n_epochs=args.epochs,
            batch_size=BATCH,
            random_state=args.seed,
            use_reversible_instance_norm=system.scaling.endswith("+rinorm"),
            pl_trainer_kwargs=trainer,
        )
        scaled = scaler.transform(series)
        model.fit(scaled[train])
        conformal = ConformalNaiveModel(model, quantiles=QUANTILES)
        forecasts = conformal.historical_forecasts(
            scaled,
            start=int(origins[0]),
            forecast_horizon=h,
            stride=1,
            retrain=False,
            last_points_only=False,
            predict_likelihood_parameters=True,
            verbose=False,
        )
        starts = [int(f.start_time()) for f in forecasts]
        assert starts == origins.tolist(), f"darts fold {number}: forecasts start elsewhere"
        # (N, H, quantiles) back to prices: min-max is affine, so two points give its inverse
        unit = TimeSeries.from_values(np.array([0.0, 1.0], dtype=np.float32))
        low, high = scaler.inverse_transform(unit).values()[:, 0].astype(np.float64)
        prices = low + np.stack([f.values() for f in forecasts]) * (high - low)
        seen = series.values()[:, 0]
        bounds = {}
        for level in LEVELS:
            low, high = (QUANTILES.index(q) for q in interval_quantiles(level))
            bounds[lower_column(level)] = prices[:, :, low]
            bounds[upper_column(level)] = prices[:, :, high]
        out.add(
            fold=np.full((len(origins), h), number),
            origin=np.repeat(origins, h),
            step=np.tile(np.arange(1, h + 1), len(origins)),
            naive=np.repeat(seen[origins - 1], h),
            forecast=prices[:, :, QUANTILES.index(0.5)],
            **bounds,
        )
    return out.arrays() | {"finished": np.array(time.time())}


def run_neuralforecast(
    system: System, plan: Plan, args: argparse.Namespace
) -> dict[str, np.ndarray]:
    trainer = quiet_lightning()
    import pandas as pd
    from neuralforecast import NeuralForecast
    from neuralforecast.models import LSTM
    from neuralforecast.utils import PredictionIntervals

    for name in ("neuralforecast", "lightning_fabric.utilities.seed"):
        logging.getLogger(name).setLevel(logging.ERROR)
    h, out = plan.horizon, Output()
    frame = pd.DataFrame({"unique_id": args.ticker, "ds": np.arange(len(plan.target))})
    frame["y"] = plan.target
    labels = {level: round(100 * level) for level in LEVELS}  # NeuralForecast's `level`
    for number, train, _, origins in plan.folds():
        windows = train.stop - train.start - LOOKBACK - h + 1
        model = LSTM(
            h=h,
            input_size=LOOKBACK,
            encoder_hidden_size=HIDDEN,
            encoder_n_layers=LAYERS,
            max_steps=math.ceil(args.epochs * windows / BATCH),
            windows_batch_size=BATCH,
            scaler_type=system.scaling,
            random_seed=args.seed,
            **trainer,
        )
        nf = NeuralForecast(models=[model], freq=1)
        nf.fit(frame.iloc[train], prediction_intervals=PredictionIntervals(CALIBRATION_WINDOWS))
        for origin in origins:
            seen = frame.iloc[:origin]
            p = nf.predict(df=seen, level=list(labels.values()))
            assert p["ds"].tolist() == list(range(origin, origin + h)), f"nf fold {number}"
            out.add(
                fold=np.full(h, number),
                origin=np.full(h, origin),
                step=np.arange(1, h + 1),
                naive=np.full(h, seen["y"].iloc[-1]),
                forecast=p["LSTM"],
                **{lower_column(level): p[f"LSTM-lo-{label}"] for level, label in labels.items()},
                **{upper_column(level): p[f"LSTM-hi-{label}"] for level, label in labels.items()},
            )
    return out.arrays() | {"finished": np.array(time.time())}


RUNNERS = {"stockcast": run_stockcast, "darts": run_darts, "neuralforecast": run_neuralforecast}


def child(args: argparse.Namespace) -> None:
    system = next(s for s in SYSTEMS if s.key == args.child)
    plan = Plan.load(Path(args.plan))
    arrays = RUNNERS[system.name](system, plan, args)
    started = psutil.Process().create_time()
    arrays["seconds"] = np.array(float(arrays.pop("finished")) - started)
    if "origin" in arrays:  # a peer's rows: the dates the plan gives them
        arrays["origin_date"] = plan.dates[arrays.pop("origin").astype(np.int64)]
    np.savez(args.out, **arrays)


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:  # it ended between the listing and the reading
            pass
    return total


def spawn(argv: list[str], log: Path) -> int:
    """Run one system's process; its peak process-tree memory in bytes."""
    with log.open("w") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT)
        watched, peak = psutil.Process(proc.pid), 0
        while proc.poll() is None:
            try:
                peak = max(peak, tree_rss(watched))
            except psutil.Error:
                pass
            time.sleep(0.02)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {proc.returncode}; its output: {log}")
    return peak


# --- scoring ----------------------------------------------------------------------------------


def check_same_origins(reference: dict, other: dict, what: str) -> None:
    """The peer forecast the same folds, origin dates and steps, from the same last price."""
    for name in ("fold", "origin_date", "step"):
        assert np.array_equal(reference[name], other[name]), f"{what}: {name} differs"
    # a float32 series (Darts) keeps 7 digits of the price
    np.testing.assert_allclose(other["naive"], reference["naive"], rtol=1e-6, err_msg=what)


def score(result: dict, actual: np.ndarray, naive: np.ndarray, fold: np.ndarray, h: int) -> dict:
    from forecast.evaluation.conformal import interval_metrics

    rmse = float(np.sqrt(np.mean((result["forecast"] - actual) ** 2)))
    naive_rmse = float(np.sqrt(np.mean((naive - actual) ** 2)))
    out = {"rmse": rmse, "naive_rmse": naive_rmse, "skill": 1 - rmse / naive_rmse}
    calibrated = fold >= 2
    for level in LEVELS:
        figures = interval_metrics(
            actual[calibrated].reshape(-1, h),
            result[lower_column(level)][calibrated].reshape(-1, h),
            result[upper_column(level)][calibrated].reshape(-1, h),
            level,
        )
        for metric in INTERVAL_METRICS:
            out[f"{metric}_{level_name(level)}"] = float(np.mean(figures[metric]))
    return out


def median(rows: list[dict], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table under a blank line and its title."""
    return [
        "",
        title,
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def report(scores: dict, systems: list[System], versions: dict, args: argparse.Namespace) -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    lines = [
        f"ticker {args.ticker} ({args.source}), {FOLDS} folds x {TEST_SIZE} test rows, lookback "
        f"{LOOKBACK}, LSTM {LAYERS} x {HIDDEN}, {args.epochs} epochs at batch {BATCH}; "
        f"{args.rounds} rounds, medians",
        f"machine: {platform.system()} {platform.machine()}, {cpu}, "
        f"{psutil.cpu_count(logical=False)} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}",
        "versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
    ]
    for h in args.horizons:
        naive = median(scores[(h, systems[0].key)], "naive_rmse")
        lines += table(
            f"horizon {h}: naive RMSE {naive:.4f} on the same origins",
            ["system", "scaling", "role", "RMSE", "skill vs naive", "wall s", "peak MB"],
            [
                [s.name, s.scaling, s.role]
                + [f"{median(rows, 'rmse'):.4f}", f"{median(rows, 'skill'):+.4f}"]
                + [f"{median(rows, 'seconds'):.1f}", f"{median(rows, 'peak') / 2**20:.0f}"]
                for s, rows in ((s, scores[(h, s.key)]) for s in systems)
            ],
        )
        names = [(level_name(level), metric) for level in LEVELS for metric in INTERVAL_METRICS]
        lines += table(
            f"horizon {h}: intervals on folds 2-{FOLDS}",
            ["system", "scaling"] + [f"{INTERVAL_METRICS[m]} {label}%" for label, m in names],
            [
                [s.name, s.scaling]
                + [
                    f"{median(scores[(h, s.key)], f'{metric}_{label}'):.3f}"
                    for label, metric in names
                ]
                for s in systems
            ],
        )
    return "\n".join(lines)


def positive(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1; got {text!r}")
    return int(text)


def positives(text: str) -> list[int]:
    try:
        return [positive(part) for part in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"must be whole numbers >= 1 like 1,5; got {text!r}"
        ) from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ticker", default="AAPL")
    parser.add_argument("--source", choices=SOURCES, default="sample")
    parser.add_argument("--rounds", type=positive, default=3)
    parser.add_argument("--horizons", type=positives, default="1,5", help="default 1,5")
    parser.add_argument("--systems", default=",".join(s.key for s in SYSTEMS))
    parser.add_argument(
        "--epochs",
        type=positive,
        default=EPOCHS,
        help="the budget (default 10: Stockcast's default)",
    )
    parser.add_argument("--keep", help="folder for the plans, outputs, logs and MLflow store")
    # a system's own process
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--tracking-uri", help=argparse.SUPPRESS)
    parser.add_argument("--experiment", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    versions = require_peers()
    wanted = args.systems.split(",")
    unknown = sorted(set(wanted) - {s.key for s in SYSTEMS})
    if unknown or SYSTEMS[0].key not in wanted:
        parser.error(
            f"--systems {','.join(unknown) or args.systems}: choose from "
            f"{', '.join(s.key for s in SYSTEMS)}, {SYSTEMS[0].key} included (the reference)"
        )
    systems = [s for s in SYSTEMS if s.key in wanted]
    folder = Path(args.keep or tempfile.mkdtemp(prefix="peers-"))
    folder.mkdir(parents=True, exist_ok=True)
    store = f"sqlite:///{folder / 'mlflow.db'}"
    # the store's one-off migration, before any timing: a user's store exists already
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"import mlflow; mlflow.MlflowClient({store!r}).search_experiments()",
        ],
        check=True,
        capture_output=True,
    )
    plans = {}
    for h in args.horizons:
        plans[h] = folder / f"plan-h{h}.npz"
        try:
            write_plan(args.ticker, args.source, h, plans[h])
        except (DataUnavailableError, PriceDataError, ValueError) as err:
            sys.exit(f"benchmarks/peers.py: {args.ticker} from {args.source}: {err}")
    scores: dict[tuple[int, str], list[dict]] = {}
    for r in range(args.rounds):
        for h in args.horizons:
            outputs = {}
            for s in systems:
                name = f"r{r + 1}-h{h}-{s.key.replace(':', '-')}"
                argv = [sys.executable, __file__, "--child", s.key, "--plan", str(plans[h])]
                argv += ["--out", str(folder / f"{name}.npz"), "--seed", str(r)]
                argv += ["--ticker", args.ticker, "--source", args.source]
                argv += ["--epochs", str(args.epochs)]
                argv += ["--tracking-uri", store, "--experiment", f"peers-{name}"]
                peak = spawn(argv, folder / f"{name}.log")
                with np.load(folder / f"{name}.npz") as f:
                    outputs[s.key] = {k: f[k] for k in f.files} | {"peak": peak}
                print(
                    f"round {r + 1} horizon {h} {s.key}: {float(outputs[s.key]['seconds']):.1f} s, "
                    f"{peak / 2**20:.0f} MB",
                    file=sys.stderr,
                    flush=True,
                )
            reference = outputs[SYSTEMS[0].key]
            for key, result in outputs.items():
                check_same_origins(reference, result, f"round {r + 1} horizon {h} {key}")
                figures = score(
                    result, reference["actual"], reference["naive"], reference["fold"], h
                )
                figures |= {"seconds": float(result["seconds"]), "peak": result["peak"]}
                scores.setdefault((h, key), []).append(figures)
    (folder / "scores.json").write_text(
        json.dumps({f"h{h} {k}": v for (h, k), v in scores.items()}, indent=1)
    )
    print(report(scores, systems, versions, args))
    print(f"\nplans, outputs, logs and scores: {folder}", file=sys.stderr)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
