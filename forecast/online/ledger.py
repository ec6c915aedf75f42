"""The forecast ledger: every forecast the service made from its own prices, once per (ticker,
model version, as_of, step), with its bounds per level and the naive value; and, once the close
of its date arrives, its outcome. A SQL database through SQLAlchemy: SQLite beside the MLflow
store by default, Postgres (STOCKCAST_LEDGER_URI) on the team stack.

Writes are idempotent (a row already recorded is left as it is), and each batch is one
transaction: a crash leaves whole batches or none of one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    create_engine,
    event,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

LEDGER_URI_VARIABLE = "STOCKCAST_LEDGER_URI"  # where the ledger lives, when not the default
LEDGER_FILE = "ledger.db"  # the default SQLite file, beside the MLflow store
LEDGER_OFF = "off"  # as the ledger URI: record nothing


class LedgerError(RuntimeError):
    """The ledger database could not be read or written (down, locked, not created)."""


def default_ledger_uri(tracking_uri: str | None = None) -> str:
    """$STOCKCAST_LEDGER_URI, else a SQLite file beside a SQLite MLflow store (ledger.db in the
    same folder), else ledger.db in the working directory (beside MLflow's default store)."""
    given = os.environ.get(LEDGER_URI_VARIABLE, "").strip()
    if given:
        return given
    tracking_uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or ""
    if tracking_uri.startswith("sqlite:///"):
        store = Path(tracking_uri.removeprefix("sqlite:///"))
        return f"sqlite:///{store.parent / LEDGER_FILE}"
    return f"sqlite:///{LEDGER_FILE}"


metadata = MetaData()
KEY = ("ticker", "version", "as_of", "step")

forecasts = Table(
    "forecasts",
    metadata,
    Column("ticker", String(32), primary_key=True),
    Column("version", String(32), primary_key=True),
    Column("as_of", Date, primary_key=True),  # the last close the forecast read
    Column("step", Integer, primary_key=True),  # 1 = the next trading day
    Column("date", Date, nullable=False),  # the trading day it forecasts
    Column("target", String(32), nullable=False),  # the price column forecast: close or adj_close
    Column("value", Float, nullable=False),
    Column("naive", Float, nullable=False),  # "tomorrow equals today": the as_of close
    Column("recorded_at", DateTime, nullable=False),
    Column("actual", Float),  # the outcome, once the date's close arrived
    Column("error", Float),  # actual - value
    Column("naive_error", Float),  # actual - naive
    Column("judged_at", DateTime),
    Index("forecasts_by_date", "ticker", "date"),
)

bounds = Table(
    "bounds",
    metadata,
    *(Column(name, forecasts.c[name].type, primary_key=True) for name in KEY),
    Column("level", Float, primary_key=True),
    Column("lower", Float, nullable=False),
    Column("upper", Float, nullable=False),
    Column("held", Boolean),  # lower <= actual <= upper, once judged
    ForeignKeyConstraint(list(KEY), [forecasts.c[name] for name in KEY], ondelete="CASCADE"),
)


@dataclass(frozen=True)
class ForecastRecord:
    """One forecast step as served: `bounds` maps a level to (lower, upper)."""

    ticker: str
    version: str
    as_of: dt.date
    step: int
    date: dt.date
    target: str
    value: float
    naive: float
    bounds: dict[float, tuple[float, float]] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, dt.date, int]:
        return self.ticker, self.version, self.as_of, self.step


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL: readers (performance, the CLI) never block the writer; a kill mid-write rolls back
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Ledger:
    """The ledger at `uri` (a SQLAlchemy URL). `create()` makes its tables when missing; reads
    and writes raise LedgerError when the database is unreachable."""

    def __init__(self, uri: str, *, connect_timeout_s: float = 5.0) -> None:
        self.uri = uri
        self.engine: Engine = _engine(uri, connect_timeout_s)

    def __repr__(self) -> str:
        return f"Ledger({self.engine.url.render_as_string(hide_password=True)})"

    def create(self) -> Ledger:
        """Create the tables if they do not exist (safe to call from every process)."""
        with _errors(self, "create its tables"):
            metadata.create_all(self.engine, checkfirst=True)
        return self

    def exists(self) -> bool:
        """Whether the ledger's tables are there (a service has recorded into it)."""
        from sqlalchemy import inspect

        file = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        if file and file != ":memory:" and not Path(file).exists():
            return False  # and connecting would create an empty file
        with _errors(self, "read"):
            return inspect(self.engine).has_table(forecasts.name)

    def record(self, records: Sequence[ForecastRecord]) -> int:
        """Record `records` in one transaction; steps already recorded are left as they are.
        Returns how many forecast rows were new."""
        if not records:
            return 0
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        steps = [
            {**{k: getattr(r, k) for k in (*KEY, "date", "target", "value", "naive")}}
            | {"recorded_at": now}
            for r in records
        ]
        limits = [
            dict(zip(KEY, r.key, strict=True)) | {"level": level, "lower": lo, "upper": hi}
            for r in records
            for level, (lo, hi) in r.bounds.items()
        ]
        with _errors(self, "record forecasts"), self.engine.begin() as connection:
            added = connection.execute(self._insert_new(forecasts), steps).rowcount
            if limits:
                connection.execute(self._insert_new(bounds), limits)
        return max(int(added), 0)

    def _insert_new(self, table: Table) -> Any:
        """INSERT that skips rows whose key is already there (both dialects spell it alike)."""
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table).on_conflict_do_nothing()

    def judge(self, ticker: str, prices: pd.DataFrame) -> int:
        """Give every unjudged forecast of `ticker` whose date is in `prices` its outcome: the
        actual close of its target column, its error and naive's, and whether each interval
        held it. Returns how many steps were judged."""
        last = pd.Timestamp(prices.index[-1]).date()
        with _errors(self, "judge forecasts"), self.engine.begin() as connection:
            pending = connection.execute(
                select(*[forecasts.c[k] for k in (*KEY, "date", "target", "value", "naive")])
                .where(forecasts.c.ticker == ticker)
                .where(forecasts.c.actual.is_(None))
                .where(forecasts.c.date <= last)
            ).all()
            outcomes = list(_outcomes(pending, prices))
            if not outcomes:
                return 0
            where = and_(*(forecasts.c[k] == bindparam(f"k_{k}") for k in KEY))
            connection.execute(
                update(forecasts)
                .where(where)
                .values(
                    actual=bindparam("actual"),
                    error=bindparam("error"),
                    naive_error=bindparam("naive_error"),
                    judged_at=bindparam("judged_at"),
                ),
                outcomes,
            )
            held = and_(*(bounds.c[k] == bindparam(f"k_{k}") for k in KEY))
            connection.execute(
                update(bounds)
                .where(held)
                .values(
                    held=and_(
                        bounds.c.lower <= bindparam("actual"), bindparam("actual") <= bounds.c.upper
                    )
                ),
                [{k: o[k] for k in o if k.startswith("k_") or k == "actual"} for o in outcomes],
            )
        return len(outcomes)

    def judged(self, ticker: str) -> pd.DataFrame:
        """Every judged step of `ticker`, one row per (version, as_of, step, level): the step's
        date, value, naive, actual, errors, and the level's bounds and held (level NaN for a
        step recorded without intervals)."""
        joined = forecasts.outerjoin(bounds, and_(*(forecasts.c[k] == bounds.c[k] for k in KEY)))
        query = (
            select(
                *[forecasts.c[k] for k in (*KEY, "date", "value", "naive", "actual")],
                forecasts.c.error,
                forecasts.c.naive_error,
                bounds.c.level,
                bounds.c.lower,
                bounds.c.upper,
                bounds.c.held,
            )
            .select_from(joined)
            .where(forecasts.c.ticker == ticker)
            .where(forecasts.c.actual.is_not(None))
        )
        with _errors(self, "read"), self.engine.connect() as connection:
            rows = connection.execute(query).all()
        columns = [*KEY, "date", "value", "naive", "actual", "error", "naive_error"]
        columns += ["level", "lower", "upper", "held"]
        return pd.DataFrame(rows, columns=columns)

    def count(self, ticker: str | None = None) -> int:
        """Forecast steps recorded (of `ticker`, or of all)."""
        from sqlalchemy import func

        query = select(func.count()).select_from(forecasts)
        if ticker is not None:
            query = query.where(forecasts.c.ticker == ticker)
        with _errors(self, "read"), self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def tickers(self) -> list[str]:
        with _errors(self, "read"), self.engine.connect() as connection:
            found = connection.execute(select(forecasts.c.ticker).distinct()).scalars()
            return sorted(found)

    def dispose(self) -> None:
        self.engine.dispose()


def _outcomes(pending: Iterable, prices: pd.DataFrame) -> Iterable[dict]:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    days = pd.DatetimeIndex(prices.index).date
    position = {day: i for i, day in enumerate(days)}
    for row in pending:
        i = position.get(row.date)
        if i is None or row.target not in prices.columns:
            continue  # no close for that day in these prices (a closure): judged when it comes
        actual = float(prices[row.target].iloc[i])
        yield {
            **{f"k_{k}": getattr(row, k) for k in KEY},
            "actual": actual,
            "error": actual - row.value,
            "naive_error": actual - row.naive,
            "judged_at": now,
        }


def _engine(uri: str, connect_timeout_s: float) -> Engine:
    if uri.startswith("sqlite"):
        path = uri.removeprefix("sqlite:///")
        if path and path != ":memory:" and uri.startswith("sqlite:///"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(uri, connect_args={"timeout": connect_timeout_s})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"connect_timeout": max(1, int(connect_timeout_s))}
    return create_engine(uri, pool_pre_ping=True, connect_args=connect_args)


@contextlib.contextmanager
def _errors(ledger: Ledger, doing: str) -> Iterator[None]:
    """Turns SQLAlchemy's errors into a LedgerError naming the ledger and what was being done."""
    try:
        yield
    except SQLAlchemyError as err:
        raise LedgerError(f"{ledger}: could not {doing}: {err}") from err
