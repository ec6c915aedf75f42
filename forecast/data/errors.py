"""Errors of the price data layer."""


class PriceDataError(ValueError):
    """Prices exist but are malformed: bad columns, dates or values. The message names them."""


class DataUnavailableError(RuntimeError):
    """No source could supply prices for a ticker. The message says why and what to do."""


class UnknownTickerError(DataUnavailableError):
    """The data provider does not know the ticker (mistyped or delisted)."""
