"""A sweep: a grid of candidate configurations for one ticker, every candidate's CV queued on
the same workers and logged as a run under one sweep run; the best goes to the registry."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from forecast import tracking
from forecast.config import LEVELS
from forecast.intervals import level_name
from forecast.parallel.scheduler import Scheduler
from forecast.pipeline.jobs import Stopwatch
from forecast.pipeline.options import PipelineOptions
from forecast.pipeline.register import register
from forecast.pipeline.run import submit_ticker, train_ticker
from forecast.pipeline.session import quiet_third_party


def run_sweep(
    ticker: str,
    prices: pd.DataFrame,
    options: dict[str, PipelineOptions],
    scheduler: Scheduler,
) -> str:
    """Every candidate's CV queued at once, logged one by one under the sweep's run; the best
    by CV skill goes through the registry's champion rule. Returns the printed report."""

    jobs = {name: submit_ticker(ticker, prices, opts, scheduler) for name, opts in options.items()}
    first = next(iter(options.values()))
    tracking.configure(first.tracking_uri, first.experiment)
    quiet_third_party()
    summaries = {}
    with tracking.run(f"sweep {ticker}", tags={"ticker": ticker, "sweep": "grid"}) as sweep_id:
        for name, job in jobs.items():
            unregistered = replace(options[name], register=False)
            summaries[name] = train_ticker(job, unregistered, scheduler, candidate=name)
        best = max(summaries, key=lambda n: summaries[n].aggregates["model"]["skill"]["mean"])
        winner = summaries[best]
        if first.register:
            register(ticker, winner.model_uri, winner, winner.tags, options[best], Stopwatch())
        rows = [f"candidate,cv_skill_mean,cv_skill_std,coverage_{level_name(LEVELS[0])},run_id"]
        for name, summary in summaries.items():
            skill = summary.aggregates["model"]["skill"]
            coverage = summary.intervals.get("model", {}).get(LEVELS[0], {}).get("coverage", "")
            rows.append(f"{name},{skill['mean']},{skill['std']},{coverage},{summary.run_id}")
        tracking.log_text("\n".join(rows) + "\n", "sweep/candidates.csv")
        tracking.set_tags(
            {
                "sweep.best": best,
                "sweep.best_run_id": winner.run_id,
                "registry.decision": winner.decision,
            }
        )
    lines = [f"sweep of {ticker}: {len(summaries)} candidates, CV skill vs naive (mean +- std)"]
    for name, summary in summaries.items():
        skill = summary.aggregates["model"]["skill"]
        mark = "  <- best" if name == best else ""
        lines.append(f"  {name:<36}{skill['mean']:+.4f} +- {skill['std']:.4f}{mark}")
    lines.append(winner.decision if first.register else "not registered (--no-register)")
    lines.append(f"MLflow run {sweep_id}")
    return "\n".join(lines) + "\n"
