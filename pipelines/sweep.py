"""python -m pipelines.sweep AAPL --lookback 20,60,120 --hidden-sizes 32,16 64,32,16 [options]:
a grid of candidates, each cross-validated as tasks on the same workers, logged as a run under
one sweep run; the best by CV skill goes to the registry through the champion rule.

Every other option is the pipeline's (`python -m pipelines.train --help`) and applies to every
candidate. Exit codes: 0 done, 1 no data or a candidate failed, 2 bad options, 130 stopped.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import logging
import sys
from collections.abc import Sequence

from forecast.pipeline.options import PipelineOptions
from pipelines.options import Parser, parse_hidden_sizes
from pipelines.options import build_parser as pipeline_parser


def _lookbacks(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"lookbacks must be whole numbers >= 1 like 20,60,120; got {text!r}"
        )
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m pipelines.sweep",
        description="Cross-validate a grid of lookbacks x layer sizes for one ticker as tasks on "
        "the same workers, log each candidate under one sweep run, and register the best by "
        "CV skill through the champion rule. Other options: python -m pipelines.train --help.",
    )
    parser.add_argument("ticker", metavar="TICKER", help="e.g. AAPL")
    parser.add_argument("--lookback", type=_lookbacks, metavar="20,60,120", help="lookbacks to try")
    parser.add_argument(
        "--hidden-sizes",
        type=parse_hidden_sizes,
        nargs="+",
        metavar="64,32,16",
        help="layer sizes to try, one candidate per value (e.g. 32,16 64,32,16)",
    )
    return parser


def label(lookback: int, sizes: tuple[int, ...]) -> str:
    return f"lookback={lookback} hidden={','.join(map(str, sizes))}"


def candidates(argv: Sequence[str] | None = None) -> dict[str, PipelineOptions]:
    """Each grid point's pipeline options, named by its lookback and layer sizes. A dimension
    not swept takes the pipeline's value (its config file, else its default). Bad options: one
    line and exit code 2."""
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    base = pipeline_parser().parse_args([args.ticker, *rest])
    from pipelines.options import options_from_args

    lookbacks, sizes = args.lookback or [None], args.hidden_sizes or [None]
    if len(lookbacks) * len(sizes) < 2:
        parser.error(
            "a sweep needs two or more candidates: give --lookback or --hidden-sizes lists"
        )
    options = {}
    try:
        for lookback, hidden in itertools.product(lookbacks, sizes):
            namespace = copy.copy(base)
            namespace.lookback, namespace.hidden_sizes = lookback, hidden
            found = options_from_args(namespace)
            options[label(found.window.lookback, found.lstm.hidden_sizes)] = found
    except ValueError as err:
        parser.error(str(err))
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = candidates(argv)
    first = next(iter(options.values()))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)

    from forecast import tracking
    from forecast.data import DataUnavailableError, PriceDataError
    from forecast.pipeline.session import (
        INTERRUPTED,
        load_ticker_prices,
        quiet_third_party,
        stoppable_scheduler,
    )
    from forecast.pipeline.sweep import run_sweep

    quiet_third_party()

    try:
        prices = load_ticker_prices(first.tickers[0], first)
    except (DataUnavailableError, PriceDataError) as err:
        print(f"error: {err}", file=sys.stderr)  # noqa: T201
        return 1
    try:
        with stoppable_scheduler(first) as scheduler:
            report = run_sweep(first.tickers[0], prices, options, scheduler)
            print(report, end="")  # noqa: T201
            return 0
    except (KeyboardInterrupt, tracking.Interrupted):
        print(INTERRUPTED, file=sys.stderr)  # noqa: T201
        return 130
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)  # noqa: T201
        return 1


if __name__ == "__main__":
    sys.exit(main())
