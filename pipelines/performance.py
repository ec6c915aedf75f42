"""python -m pipelines.performance AAPL [MSFT ...]: how the served forecasts did, from the
forecast ledger, per model version over the last --days trading days, beside what each
version's cross-validation promised. No service needed.

Exit codes: 0 printed, 1 nothing to report for some ticker (no ledger, no forecasts of it, the
ledger unreachable), 2 bad options.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from functools import partial

from pipelines.options import Parser, add_ledger_option, add_tracking_uri_option


def build_parser() -> argparse.ArgumentParser:
    from forecast.online.performance import DEFAULT_DAYS

    p = Parser(
        prog="python -m pipelines.performance",
        description="Live performance of the served forecasts, from the forecast ledger.",
    )
    p.add_argument("tickers", nargs="+", metavar="TICKER", help="e.g. AAPL")
    p.add_argument(
        "--days",
        type=int,
        default=DEFAULT_DAYS,
        help=f"the last trading days with outcomes (default {DEFAULT_DAYS})",
    )
    add_ledger_option(p)
    add_tracking_uri_option(p)  # for the versions' CV figures
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from forecast.data.tickers import normalize_ticker

    try:
        if args.days < 1:
            raise ValueError(f"--days {args.days}: must be at least 1")
        tickers = [normalize_ticker(t) for t in args.tickers]
    except ValueError as err:
        parser.error(str(err))

    from forecast import tracking
    from forecast.online.ledger import Ledger, LedgerError, default_ledger_uri
    from forecast.online.performance import NothingRecorded, performance_of
    from forecast.pipeline.report import performance_table

    tracking.use_tracking_uri(args.tracking_uri)
    ledger = Ledger(args.ledger_uri or default_ledger_uri(tracking.tracking_uri()))
    status = 0
    for ticker in tickers:
        name = tracking.model_name(ticker)
        try:
            report = performance_of(
                ledger, ticker, args.days, {}, partial(tracking.version_cards, name)
            )
        except (NothingRecorded, LedgerError, tracking.RegistryUnavailableError) as err:
            print(f"{ticker}: {err}", file=sys.stderr)  # noqa: T201
            status = 1
            continue
        print(performance_table(ticker, args.days, report))  # noqa: T201
    return status


if __name__ == "__main__":
    sys.exit(main())
