"""The ticker rule: wherever a ticker enters (CLI, Python API, HTTP), it is normalized here."""

from __future__ import annotations

import re

from forecast.data.errors import PriceDataError

# Yahoo symbols: letters, digits and . - = after an optional leading ^ (BRK-B, ^GSPC, EURUSD=X,
# 7203.T); any case here, upper case once normalized. The HTTP schema publishes this pattern.
TICKER_PATTERN = r"^\^?[A-Za-z0-9][A-Za-z0-9.=-]{0,14}$"
MAX_TICKER_LENGTH = 15
_TICKER = re.compile(TICKER_PATTERN)


def normalize_ticker(ticker: str) -> str:
    """Strip, upper-case and check a ticker; it also names cache files and registered models,
    so nothing path-like passes. Raises PriceDataError naming the bad value and the rule."""
    if not isinstance(ticker, str):
        raise PriceDataError(f"ticker must be a string; got {ticker!r}")
    symbol = ticker.strip().upper()
    if len(symbol) > MAX_TICKER_LENGTH or not _TICKER.match(symbol) or ".." in symbol:
        raise PriceDataError(
            f"ticker {ticker!r} is not a valid symbol: use 1-{MAX_TICKER_LENGTH} characters from "
            "A-Z, 0-9 and '.', '-', '=', optionally after a leading '^' (for example AAPL, BRK-B, "
            "^GSPC)"
        )
    return symbol
