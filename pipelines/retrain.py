"""python -m pipelines.retrain [TICKER ...]: retrain each champion that is due, with its own
configuration; the champion rule decides whether the new version serves.

Due: at least --min-new-days trading days beyond the champion's training data, or its live
coverage drifting in the forecast ledger (with some new days). Without tickers, every ticker
with a champion. One line per ticker: what it did and why. Made for cron or a CronJob.

Exit codes: 0 done (retrained or not due), 1 some ticker failed (no champion, no data, a failed
run; named, the others still ran), 2 bad options, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pipelines.options import (
    Parser,
    add_ledger_option,
    add_source_options,
    add_tracking_uri_option,
    add_workers_option,
    price_source,
)

if TYPE_CHECKING:
    from forecast.pipeline.options import PipelineOptions
    from forecast.pipeline.retrain import RetrainPlan


def build_parser() -> argparse.ArgumentParser:
    from forecast.pipeline.retrain import MIN_NEW_DAYS

    p = Parser(
        prog="python -m pipelines.retrain",
        description="Retrain the champions that are due (new trading days, or drifting live "
        "coverage) with their own configuration; the champion rule decides promotion.",
    )
    p.add_argument("tickers", nargs="*", metavar="TICKER", help="default: every champion")
    p.add_argument(
        "--min-new-days",
        type=int,
        default=MIN_NEW_DAYS,
        help=f"new trading days that make a retrain due (default {MIN_NEW_DAYS})",
    )
    add_source_options(p)
    add_tracking_uri_option(p)
    p.add_argument("--experiment", help="MLflow experiment of the new runs (default stockcast)")
    add_ledger_option(p)
    add_workers_option(p)
    p.add_argument("--dry-run", action="store_true", help="say what is due; train nothing")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        run = _run_options(args)
    except ValueError as err:
        parser.error(str(err))
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(message)s", stream=sys.stderr
    )

    from forecast import tracking
    from forecast.data import DataUnavailableError, PriceDataError
    from forecast.online.ledger import Ledger, default_ledger_uri
    from forecast.pipeline.retrain import NoChampion, plan_retrain
    from forecast.pipeline.session import INTERRUPTED, quiet_third_party

    tracking.use_tracking_uri(run.tracking_uri)
    quiet_third_party()
    ledger = Ledger(args.ledger_uri or default_ledger_uri(tracking.tracking_uri()))
    try:
        tickers = list(run.tickers) or tracking.champion_tickers(tracking.MODEL_PREFIX)
    except tracking.RegistryUnavailableError as err:
        print(f"error: {err}", file=sys.stderr)  # noqa: T201
        return 1
    if not tickers:
        print("no champions registered: nothing to retrain")  # noqa: T201
        return 0
    status = 0
    for ticker in tickers:
        try:
            plan = plan_retrain(ticker, run, args.min_new_days, ledger)
            status = max(status, _act(plan, args.dry_run))
        except (KeyboardInterrupt, tracking.Interrupted):
            print(INTERRUPTED, file=sys.stderr)  # noqa: T201
            return 130
        except (
            NoChampion,
            DataUnavailableError,
            PriceDataError,
            ValueError,
            tracking.ModelNotFoundError,
            tracking.RegistryUnavailableError,
        ) as err:
            print(f"{ticker}: error: {err}", file=sys.stderr)  # noqa: T201
            status = 1
    return status


def _act(plan: RetrainPlan, dry_run: bool) -> int:
    from forecast.pipeline.session import stoppable_scheduler, train_tickers

    if not plan.due:
        print(f"{plan.ticker}: kept v{plan.champion}, not due: {plan.reason}")  # noqa: T201
        return 0
    if dry_run:
        print(f"{plan.ticker}: due (--dry-run, nothing trained): {plan.reason}")  # noqa: T201
        return 0
    failed: dict[str, str] = {}
    with stoppable_scheduler(plan.options) as scheduler:
        loaded = {plan.ticker: plan.prices}  # the prices the plan counted new days in
        summaries = train_tickers(plan.options, scheduler, failed, show=False, loaded=loaded)
    if not summaries:
        print(f"{plan.ticker}: retrain failed: {failed.get(plan.ticker)}")  # noqa: T201
        return 1
    done = summaries[0]
    print(  # noqa: T201
        f"{plan.ticker}: retrained v{plan.champion} as v{done.version} because {plan.reason}; "
        f"{done.decision}"
    )
    return 0


def _run_options(args: argparse.Namespace) -> PipelineOptions:
    """The run settings every retrain shares (the configs come from each champion)."""
    from forecast.data.tickers import normalize_ticker
    from forecast.pipeline.options import PipelineOptions
    from forecast.tracking.names import EXPERIMENT

    if args.min_new_days < 1:
        raise ValueError(f"--min-new-days {args.min_new_days}: must be at least 1")
    tickers = tuple(normalize_ticker(t) for t in args.tickers)
    source = price_source(args.source, args.csv)
    if source == "csv" and (not args.csv or len(tickers) != 1):
        raise ValueError("--source csv reads one file: give --csv PATH and one ticker")
    from forecast.config import CVConfig, LSTMConfig, TrainConfig, WindowConfig

    return PipelineOptions(
        tickers=tickers,
        window=WindowConfig(),  # champion_options puts each champion's own configs here
        lstm=LSTMConfig(),
        train=TrainConfig(),
        cv=CVConfig(),
        source=source,
        csv=args.csv,
        data_dir=args.data_dir,
        tracking_uri=args.tracking_uri,
        experiment=args.experiment or EXPERIMENT,
        workers=args.workers,  # parsed by add_workers_option
    )


if __name__ == "__main__":
    sys.exit(main())
