"""The online loop replayed: a price source that reveals one more trading day per step and a
controllable clock walk a served model through 65 trading days of the bundled AAPL sample."""

import contextlib
import io
import os
import sqlite3
import threading

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from forecast.calendar import next_close
from forecast.data import PriceCache, load_prices
from forecast.online.ledger import Ledger
from forecast.online.performance import tolerance
from service.app import create_app
from tests.helpers import TINY_PIPELINE
from tests.service.conftest import settings_for, wait_ready

DAYS = 65  # trading days replayed
RETRAIN_AT = 30  # the day pipelines.retrain runs again (due: 30 >= --min-new-days 20)
NOT_DUE_AT = 10  # the day it runs and finds nothing due
# the replay's last day. The champion rule decides the retrain from CV skills, so the quarter
# matters: in this one the retrain is promoted (the service must then serve it); in several
# later quarters of the sample the rule keeps v1, as tests/forecast/tracking checks it may
END = "2012-03-30"
# the conftest's tiny pipeline (horizon 2, 100 CV forecasts), on the price cache the test fills
TRAIN = [*TINY_PIPELINE[2:], "--horizon", "2", "--test-size", "100", "--folds", "2"]


class Clock:
    def __init__(self) -> None:
        self.now = pd.Timestamp("2000-01-01", tz="UTC")

    def __call__(self) -> pd.Timestamp:
        return self.now

    def after_close_of(self, day: pd.Timestamp) -> None:
        """Twenty minutes after `day`'s NYSE close: its close is out."""
        self.now = next_close(day) + pd.Timedelta(minutes=20)


def run_cli(main, args, cwd):
    """A pipelines CLI in this process, from `cwd`: (exit code, stdout)."""
    out, here = io.StringIO(), os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out):
            code = main(args)
    finally:
        os.chdir(here)
    return code, out.getvalue()


@pytest.mark.slow
def test_a_replayed_season_records_judges_reports_and_retrains(tmp_path):
    from pipelines.retrain import main as retrain
    from pipelines.train import main as train

    sample = load_prices("AAPL", start="2011-01-01", end=END, source="sample")
    first = len(sample) - DAYS - 1  # the champion trains on rows [0, first]
    cache, data_dir = PriceCache(tmp_path / "data"), str(tmp_path / "data")
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cache.write(sample.iloc[: first + 1], "AAPL", None)
    source = ["--source", "cache", "--data-dir", data_dir, "--tracking-uri", tracking]
    assert run_cli(train, ["AAPL", *TRAIN[2:], *source], tmp_path)[0] == 0

    clock = Clock()
    clock.after_close_of(sample.index[first])
    settings = settings_for(tmp_path, data_source="cache", data_dir=data_dir)
    settings = settings.model_copy(update={"tracking_uri": tracking, "refresh_interval_s": 1e6})
    app = create_app(settings, clock=clock)
    served: set[tuple[str, str]] = set()  # (version, as_of) of every answer
    failures: list[object] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        wait_ready(client)

        def forecast(**extra):
            response = client.post("/forecast", json={"ticker": "AAPL", **extra})
            if response.status_code != 200:
                failures.append((response.status_code, response.text))
                return None
            body = response.json()
            served.add((body["model"]["version"], body["as_of"]))
            return body

        for day in range(1, DAYS + 1):
            row = first + day
            cache.write(sample.iloc[: row + 1], "AAPL", None)  # one more trading day revealed
            clock.after_close_of(sample.index[row])
            refreshed = client.post("/admin/refresh").json()
            assert refreshed["as_of"]["AAPL"] == f"{sample.index[row]:%Y-%m-%d}"
            body = forecast()
            assert body is not None and body["as_of"] == refreshed["as_of"]["AAPL"]
            assert body["stale"] is False
            wider = forecast(horizon=1, level=0.95)["forecasts"]
            assert len(wider) == 1 and wider[0]["value"] == body["forecasts"][0]["value"]
            assert wider[0]["lower"] <= body["forecasts"][0]["lower"]
            if day == NOT_DUE_AT:
                code, said = run_cli(retrain, ["--min-new-days", "20", *source], tmp_path)
                assert code == 0
                assert said.strip() == (
                    f"AAPL: kept v1, not due: {NOT_DUE_AT} new trading days since "
                    f"{sample.index[first]:%Y-%m-%d} (fewer than 20); live coverage within tolerance"
                )
            if day == RETRAIN_AT:
                stop, during = threading.Event(), []

                def keep_asking(stop, during):
                    while not stop.is_set():
                        during.append(forecast())

                asker = threading.Thread(target=keep_asking, args=(stop, during))
                asker.start()
                try:
                    code, said = run_cli(retrain, ["--min-new-days", "20", *source], tmp_path)
                    assert code == 0, said
                    assert said.startswith(
                        f"AAPL: retrained v1 as v2 because {RETRAIN_AT} new trading days since "
                        f"{sample.index[first]:%Y-%m-%d} (at least 20); promoted"
                    ), said
                    assert client.post("/admin/reload").json()["served"] == {"AAPL": "2"}
                    before = len(during)
                    while len(during) < before + 3:  # answers from after the swap
                        assert asker.is_alive()
                finally:
                    stop.set()
                    asker.join()
                assert during and {b["model"]["version"] for b in during if b} <= {"1", "2"}
                assert during[-1]["model"]["version"] == "2"
        assert failures == []  # no request failed, through the retrain and the swap
        performance = client.get("/models/AAPL/performance", params={"days": DAYS}).json()
        # the gauges carry the same figures (over the default 60 days, computed after a refresh)
        recent = client.get("/models/AAPL/performance").json()["versions"]
        gauges = client.get("/metrics").text
        assert {v["version"] for v in recent} == {"1", "2"} and all(v["levels"] for v in recent)
        for version in recent:
            for level in version["levels"]:
                labels = f'level="{level["level"]:g}",ticker="AAPL",version="{version["version"]}"'
                line = f"stockcast_live_coverage{{{labels}}} {level['coverage']!r}"
                assert line in gauges.splitlines(), line
        app.state.online.writer.flush(10)

    ledger = sqlite3.connect(tmp_path / "ledger.db")
    rows = pd.read_sql_query("SELECT * FROM forecasts", ledger)
    limits = pd.read_sql_query("SELECT * FROM bounds", ledger)
    # exactly one row per (version, as_of, step): 2 steps for each answer served
    assert len(rows) == 2 * len(served)
    assert set(zip(rows["version"], rows["as_of"], strict=True)) == served
    assert not rows.duplicated(["ticker", "version", "as_of", "step"]).any()
    assert {"1", "2"} == set(rows["version"])
    # outcomes joined as closes arrived: every step dated up to the last revealed day
    last = sample.index[first + DAYS]
    dated = pd.to_datetime(rows["date"])
    closes = sample["adj_close"].reindex(dated)
    assert rows.loc[dated <= last, "actual"].to_numpy() == pytest.approx(
        closes[dated.to_numpy() <= last].to_numpy()
    )
    assert rows.loc[dated > last, "actual"].isna().all()
    # the endpoint's coverage equals a count by hand over the same rows
    for version in performance["versions"]:
        mine = rows[(rows["version"] == version["version"]) & (dated <= last)]
        for level in version["levels"]:
            bounds = limits[(limits["version"] == version["version"])]
            bounds = bounds[np.isclose(bounds["level"], level["level"])]
            joined = mine.merge(bounds, on=["ticker", "version", "as_of", "step"])
            held = (joined["lower"] <= joined["actual"]) & (joined["actual"] <= joined["upper"])
            assert level["n"] == len(joined) > 0
            assert level["coverage"] == pytest.approx(held.mean())
            assert level["tolerance"] == pytest.approx(list(tolerance(len(joined), level["level"])))
    assert [v["version"] for v in performance["versions"]] == ["2", "1"]
    assert performance["serving"] == "2"


def test_a_ledger_counts_each_step_once_across_restarts(tmp_path, registry):
    """Two service lives on the same prices and model record the same steps once."""
    settings = settings_for(registry, ledger_uri=f"sqlite:///{tmp_path / 'ledger.db'}")
    for _ in range(2):
        with TestClient(create_app(settings)) as client:
            wait_ready(client)
            for horizon in (1, 2, 2):
                assert (
                    client.post(
                        "/forecast", json={"ticker": "AAPL", "horizon": horizon}
                    ).status_code
                    == 200
                )
            assert client.app.state.online.writer.flush(10)
    assert Ledger(settings.ledger_uri).count("AAPL") == 2
