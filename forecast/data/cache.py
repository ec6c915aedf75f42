"""On-disk price cache: one parquet file per ticker, replaced atomically."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from forecast.data.errors import PriceDataError
from forecast.data.frame import validate_prices

log = logging.getLogger(__name__)

DATA_DIR_ENV = "STOCKCAST_DATA_DIR"


def default_data_dir() -> Path:
    """`$STOCKCAST_DATA_DIR`, else `~/.cache/stockcast`."""
    configured = os.environ.get(DATA_DIR_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "stockcast"


@dataclass(frozen=True)
class CachedPrices:
    frame: pd.DataFrame
    # the earliest date asked of Yahoo for this file; None: its whole history ("max")
    history_start: pd.Timestamp | None


class PriceCache:
    """Parquet files `<data_dir>/prices/<TICKER>.parquet` holding validated price frames."""

    def __init__(self, data_dir: str | Path | None = None) -> None:
        self.data_dir = Path(data_dir).expanduser() if data_dir else default_data_dir()

    def path(self, ticker: str) -> Path:
        return self.data_dir / "prices" / f"{ticker}.parquet"

    def read(self, ticker: str) -> CachedPrices | None:
        """The cached prices, or None when absent or unusable (a corrupt file is reported)."""
        path = self.path(ticker)
        if not path.exists():
            return None
        try:
            raw = pd.read_parquet(path)
            stored_start = raw.attrs.get("history_start", "max")
            history_start = None if stored_start == "max" else pd.Timestamp(stored_start)
            return CachedPrices(validate_prices(raw, ticker, source="cache"), history_start)
        except (OSError, ValueError, PriceDataError) as err:
            # pyarrow raises ArrowInvalid (a ValueError) or OSError for truncated files
            log.warning(
                "%s: cache file %s is unreadable or invalid (%s); ignoring it and refetching",
                ticker,
                path,
                err,
            )
            return None

    def write(self, frame: pd.DataFrame, ticker: str, history_start: pd.Timestamp | None) -> Path:
        """Store the frame atomically: a temp file in the same folder, fsync, then rename.

        A crash at any point leaves either the old file or the new one, never a mix.
        """
        path = self.path(ticker)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temp_files(ticker)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{ticker}.", suffix=".tmp", dir=path.parent)
        stored = frame.copy()
        stored.attrs = {
            "ticker": ticker,
            "history_start": "max" if history_start is None else history_start.isoformat(),
        }
        try:
            with os.fdopen(fd, "wb") as tmp:
                stored.to_parquet(tmp)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return path

    def _remove_stale_temp_files(self, ticker: str, older_than_s: float = 3600) -> None:
        """Temp files of writers killed mid-write (SIGKILL, power loss); never the live file."""
        cutoff = time.time() - older_than_s
        for stale in self.path(ticker).parent.glob(f".{ticker}.*.tmp"):
            try:
                if stale.stat().st_mtime < cutoff:
                    stale.unlink()
            except OSError:
                continue
