"""Residual networks (the default) against the old level networks, on the four bundled tickers.

    python benchmarks/naive_floor.py [--tickers AAPL,MSFT,IBM,GOOG] [--store DIR] [-- options]

For each ticker, the default pipeline on the bundled sample prices, once with `--residual` and
once with `--no-residual` (anything after `--` goes to both), one run at a time, nothing
registered. Prints each run's CV skill against the naive forecast (mean +- std over folds), the
share of fits whose chosen epoch validated no worse than epoch 0, and the wall time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlflow.tracking import MlflowClient

from forecast.evaluation.conformal import interval_key
from forecast.tracking.names import EXPERIMENT

MODES = {"residual": "--residual", "level": "--no-residual"}
LEVELS = ("80", "95")
LABELS = {"residual": "residual (default)", "level": "level (--no-residual)"}


def run(ticker: str, flag: str, store: Path, extra: list[str]) -> tuple[dict[str, float], float]:
    uri = f"sqlite:///{store / 'mlflow.db'}"
    command = [sys.executable, "-m", "pipelines.train", ticker, "--source", "sample"]
    command += ["--no-register", "--tracking-uri", uri, flag, *extra]
    started = time.perf_counter()
    subprocess.run(command, cwd=store, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    parent = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.ticker = '{ticker}' and tags.mlflow.runName != 'final-fit'",
        order_by=["attributes.start_time DESC"],
    )
    parent_run = next(r for r in parent if "mlflow.parentRunId" not in r.data.tags)
    folds = [
        r
        for r in parent
        if r.data.tags.get("mlflow.parentRunId") == parent_run.info.run_id
        and r.info.run_name.startswith("cv/")
    ]
    fits = kept = 0
    for fold in folds:
        for key, best in fold.data.metrics.items():
            if key.endswith("/best_val_loss"):
                naive = fold.data.metrics[key.replace("best_val_loss", "naive_val_loss")]
                fits += 1
                kept += naive != naive or best <= naive  # NaN: a level network has no epoch 0
    metrics = parent_run.data.metrics
    intervals = {k.removeprefix("cv/intervals/"): v for k, v in metrics.items() if "intervals" in k}
    return {
        "mean": metrics["cv/model/skill_mean"],
        "std": metrics["cv/model/skill_std"],
        "kept": kept / max(fits, 1),
        **intervals,
        **_coverage_by_step(client, folds),
    }, seconds


def _coverage_by_step(client: MlflowClient, folds: list) -> dict[str, float]:
    """step/80/3: the model interval's coverage at step 3, over the calibrated folds' origins."""
    out: dict[str, float] = {}
    for level in LEVELS:
        key = interval_key("model", float(level) / 100, "coverage")
        by_step: dict[int, list[float]] = {}
        for fold in folds:
            if key in fold.data.metrics:  # the first fold has nothing earlier to calibrate on
                for metric in client.get_metric_history(fold.info.run_id, key):
                    by_step.setdefault(metric.step, []).append(metric.value)
        for step, values in sorted(by_step.items()):
            out[f"step/{level}/{step}"] = sum(values) / len(values)  # equal-sized test blocks
    return out


def main() -> None:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickers", default="AAPL,MSFT,IBM,GOOG")
    parser.add_argument("--store", type=Path)
    parser.add_argument("--modes", default="residual,level", help="residual, level or both")
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    store = args.store or Path(tempfile.mkdtemp(prefix="stockcast-naive-floor-"))
    store.mkdir(parents=True, exist_ok=True)
    print(f"default pipeline on the bundled samples{' + ' + ' '.join(extra) if extra else ''}")
    print("| ticker | network | CV skill mean +- std | fits at or below epoch 0's val loss | s |")
    print("|---|---|---|---|---|")
    modes = args.modes.split(",")
    means: dict[str, list[float]] = {mode: [] for mode in modes}
    interval_rows: list[tuple[str, dict[str, float]]] = []
    for ticker in args.tickers.split(","):
        for mode in modes:
            flag = MODES[mode]
            figures, seconds = run(ticker, flag, store, extra)
            means[mode].append(figures["mean"])
            if mode == "residual":
                interval_rows.append((ticker, figures))
            kept = f"{figures['kept']:.0%}" if flag == "--residual" else "-"
            skill = f"{figures['mean']:+.4f} +- {figures['std']:.4f}"
            print(
                f"| {ticker} | {LABELS[mode]} | {skill} | {kept} | {seconds:.0f} |",
                flush=True,
            )
    if "residual" in modes:
        print(
            "\nintervals of the residual runs, folds 2-5 (each calibrated on the folds before it)"
        )
        steps = sorted({int(k.split("/")[2]) for _, f in interval_rows for k in f if "step/" in k})
        step_heads = "".join(f" step {h} |" for h in steps) if len(steps) > 1 else ""
        print(
            "| ticker | level | coverage |" + step_heads + " width % | Winkler: vol-scaled | "
            "constant | naive | ACI coverage | ACI Winkler |"
        )
        print(
            "|---|---|---|" + "---|" * (len(step_heads.split("|")) - 1) + "---|---|---|---|---|---|"
        )
        for ticker, figures in interval_rows:
            for level in LEVELS:
                by_step = [f"{figures[f'step/{level}/{h}']:.3f}" for h in steps]
                cells = [
                    f"{figures[f'ewma/{level}/coverage']:.3f}",
                    *(by_step if len(steps) > 1 else []),
                    f"{figures[f'ewma/{level}/width_pct']:.2f}",
                    *(
                        f"{figures[f'{source}/{level}/winkler']:.3f}"
                        for source in ("ewma", "constant", "naive")
                    ),
                    f"{figures[f'model_aci/{level}/coverage']:.3f}",
                    f"{figures[f'model_aci/{level}/winkler']:.3f}",
                ]
                print(f"| {ticker} | {level}% | " + " | ".join(cells) + " |")
    for mode, values in means.items():
        average = sum(values) / len(values)
        print(f"average CV skill over the tickers, {LABELS[mode]}: {average:+.4f}")


if __name__ == "__main__":
    main()
