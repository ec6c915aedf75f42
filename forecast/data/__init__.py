"""Price data: Yahoo (cached), CSV and bundled sample sources behind one `load_prices` call."""

from forecast.data.cache import PriceCache, default_data_dir
from forecast.data.errors import DataUnavailableError, PriceDataError, UnknownTickerError
from forecast.data.frame import COLUMNS, PRICE_COLUMNS, validate_prices
from forecast.data.loader import SOURCES, load_prices
from forecast.data.sample import SAMPLE_TICKERS
from forecast.data.tickers import normalize_ticker

__all__ = [
    "COLUMNS",
    "PRICE_COLUMNS",
    "SAMPLE_TICKERS",
    "SOURCES",
    "DataUnavailableError",
    "PriceCache",
    "PriceDataError",
    "UnknownTickerError",
    "default_data_dir",
    "load_prices",
    "normalize_ticker",
    "validate_prices",
]
