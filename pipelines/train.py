"""python -m pipelines.train AAPL [MSFT ...]: CV against baselines -> final fit -> MLflow registry.

Tickers train side by side: every fit is a task for the worker processes (or Ray); each
ticker's table prints as it finishes, and a summary at the end.

Exit codes: 0 done, 1 some ticker had no data or failed (named; the others still ran), 2 bad
options, 130 interrupted.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from pipelines.options import build_parser, options_from_args


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        options = options_from_args(args)
    except ValueError as err:
        parser.error(str(err))  # one line, exit code 2, before any run is opened
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)

    from forecast import tracking
    from forecast.pipeline.report import summary_table, ui_hint
    from forecast.pipeline.session import (
        INTERRUPTED,
        quiet_third_party,
        stoppable_scheduler,
        train_tickers,
    )

    quiet_third_party()

    failed: dict[str, str] = {}  # ticker -> why: one ticker failing does not stop the others
    try:
        with stoppable_scheduler(options) as scheduler:
            summaries = train_tickers(options, scheduler, failed)
    except (KeyboardInterrupt, tracking.Interrupted):
        print(INTERRUPTED, file=sys.stderr)  # noqa: T201
        return 130
    if summaries is None:  # no ticker had prices
        return 1
    if len(options.tickers) > 1:
        print(summary_table(summaries, failed))  # noqa: T201
    print(ui_hint(tracking.open_ui_hint()))  # noqa: T201
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
