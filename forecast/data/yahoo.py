"""Yahoo Finance through yfinance, guarded by a fast connectivity check.

yfinance returns an empty frame on DNS failure and can stall for about two minutes on a
network that accepts connections and never answers, so every download is preceded by a DNS +
TCP + TLS check with a short timeout and runs under an overall deadline.
"""

from __future__ import annotations

import logging
import queue
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd

from forecast.data.errors import DataUnavailableError, UnknownTickerError
from forecast.data.frame import column_name

log = logging.getLogger(__name__)

YAHOO_HOST = "query2.finance.yahoo.com"
PREFLIGHT_TIMEOUT_S = 3.0
DOWNLOAD_TIMEOUT_S = 60.0
# what yfinance logs when Yahoo does not know a symbol
_UNKNOWN_MARKERS = (
    "delisted",
    "no timezone found",
    "not found",
    "symbol may be",
    "404 client error",
)

T = TypeVar("T")


def _within(seconds: float, what: str, func: Callable[[], T]) -> T:
    """Run func in a daemon thread; raise TimeoutError after `seconds` (the thread is abandoned)."""
    box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

    def target() -> None:
        try:
            box.put((True, func()))
        except BaseException as err:  # handed to the caller, who re-raises it
            box.put((False, err))

    threading.Thread(target=target, name=f"stockcast-{what}", daemon=True).start()
    try:
        ok, value = box.get(timeout=seconds)
    except queue.Empty:
        raise TimeoutError(f"{what} took longer than {seconds:.0f} s") from None
    if not ok:
        raise value
    return value


def check_yahoo_reachable(
    host: str = YAHOO_HOST, timeout: float = PREFLIGHT_TIMEOUT_S, port: int = 443
) -> None:
    """DNS + TCP + TLS handshake to Yahoo within `timeout` seconds, or DataUnavailableError."""
    started = time.monotonic()
    try:
        infos = _within(
            timeout, "DNS lookup", lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        )
        remaining = max(0.1, timeout - (time.monotonic() - started))
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as raw:
            raw.settimeout(remaining)
            raw.connect(address)
            with ssl.create_default_context().wrap_socket(raw, server_hostname=host):
                pass
    except (OSError, TimeoutError) as err:
        raise DataUnavailableError(
            f"Yahoo Finance is unreachable ({host}:{port}: {err or type(err).__name__}); "
            "check the network or use cached, CSV or sample data"
        ) from err


class _CaptureErrors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def download_yahoo(
    ticker: str,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    *,
    session: Any = None,
    preflight: bool = True,
    timeout: float = DOWNLOAD_TIMEOUT_S,
    allow_empty: bool = False,
) -> pd.DataFrame:
    """Daily prices from Yahoo with our column names; `end` is inclusive.

    Returns the raw frame (not yet validated); empty only with `allow_empty` (an incremental
    update that found no new trading days). Raises DataUnavailableError when Yahoo cannot be
    reached and UnknownTickerError when Yahoo does not know the symbol.
    """
    import yfinance as yf

    if preflight:
        try:
            check_yahoo_reachable()
        except DataUnavailableError as err:
            raise DataUnavailableError(f"cannot download {ticker}: {err}") from err
    capture = _CaptureErrors()
    yf_log = logging.getLogger("yfinance")
    yf_log.addHandler(capture)
    try:
        raw = _within(
            timeout,
            f"Yahoo download of {ticker}",
            lambda: _yf_download(yf, ticker, start, end, session),
        )
    except (OSError, TimeoutError) as err:
        raise DataUnavailableError(f"cannot download {ticker}: {err}") from err
    finally:
        yf_log.removeHandler(capture)

    if raw is None or raw.empty:
        if allow_empty:
            return _rename(raw if raw is not None else pd.DataFrame())
        raise _no_prices(ticker, start, " ".join(" ".join(capture.messages).split())[:300])
    return _rename(raw)


def _no_prices(ticker: str, start: pd.Timestamp | None, errors: str) -> DataUnavailableError:
    """Why Yahoo returned nothing, from what yfinance logged: an unknown symbol, or no data."""
    if any(marker in errors.lower() for marker in _UNKNOWN_MARKERS):
        span = "" if start is None else f" from {start:%Y-%m-%d}"
        return UnknownTickerError(
            f"Yahoo Finance has no prices for ticker {ticker!r}{span}: the symbol is unknown "
            f"or delisted (Yahoo said: {errors.strip()})"
        )
    return DataUnavailableError(
        f"cannot download {ticker}: Yahoo returned no prices ({errors.strip() or 'empty response'})"
    )


def _yf_download(
    yf: Any, ticker: str, start: pd.Timestamp | None, end: pd.Timestamp | None, session: Any
) -> pd.DataFrame:
    with warnings.catch_warnings():
        # yfinance's own pandas deprecation noise is not the user's business
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        return yf.download(
            ticker,
            start=None if start is None else start.strftime("%Y-%m-%d"),
            # yfinance's end is exclusive
            end=None if end is None else (end + pd.Timedelta(days=1)).strftime("%Y-%m-%d"),
            auto_adjust=False,
            multi_level_index=False,
            progress=False,
            actions=False,
            threads=False,
            session=session,
        )


def _rename(raw: pd.DataFrame) -> pd.DataFrame:
    frame = raw.rename(columns=column_name)
    frame.index.name = "date"
    return frame
