"""Requests without history: answered from the prices in memory, computed once, never waiting
on the network except a ticker's very first load (bounded)."""

import threading

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from forecast.forecaster import Forecaster
from service.app import create_app
from tests.service.conftest import settings_for, wait_ready


def test_requests_never_load_prices_once_the_refresher_has_them(registry, monkeypatch):
    with TestClient(create_app(settings_for(registry))) as client:
        wait_ready(client)
        book = client.app.state.online.book
        assert book.add("AAPL").result(30) is not None  # loaded at start-up

        def no_loading(ticker):
            raise AssertionError(f"a request loaded the prices of {ticker}")

        monkeypatch.setattr(book, "load", no_loading)
        for horizon in (1, 2, 1):
            response = client.post("/forecast", json={"ticker": "AAPL", "horizon": horizon})
            assert response.status_code == 200
            assert response.json()["as_of"] == "2013-03-01" and response.json()["stale"] is True


def test_an_answer_is_computed_once_per_version_day_horizon_and_level(registry, monkeypatch):
    passes = []
    answer = Forecaster.answer

    def counted(self, queries):
        passes.append(len(queries))
        return answer(self, queries)

    monkeypatch.setattr(Forecaster, "answer", counted)
    with TestClient(create_app(settings_for(registry))) as client:
        wait_ready(client)
        first = [client.post("/forecast", json={"ticker": "AAPL"}).json() for _ in range(3)]
        assert first[0] == first[1] == first[2]
        assert passes == [2]  # one pass, both calibrated levels (the ledger records them)
        client.post("/forecast", json={"ticker": "AAPL", "level": 0.95})
        client.post("/forecast", json={"ticker": "AAPL", "level": 0.95})
        assert passes == [2, 2]


def test_the_first_request_for_a_ticker_waits_at_most_the_timeout_then_gets_a_503(registry):
    settings = settings_for(registry, tickers=[], first_load_timeout_s=0.2)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        book = client.app.state.online.book
        release, started = threading.Event(), threading.Event()
        real = book.load

        def slow(ticker):
            started.set()
            assert release.wait(60), "the test never released the load"
            return real(ticker)

        book.load = slow
        response = client.post("/forecast", json={"ticker": "AAPL"})
        assert started.is_set()
        assert response.status_code == 503 and response.headers["retry-after"] == "5"
        assert response.json()["detail"] == (
            "the prices of AAPL are still loading (waited 0.2 s, "
            "STOCKCAST_FIRST_LOAD_TIMEOUT_S); retry shortly"
        )
        release.set()  # the load went on: the next request gets it
        book.add("AAPL").result(30)
        assert client.post("/forecast", json={"ticker": "AAPL"}).status_code == 200


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        ("/models/AAPL/performance?days=0", 422, None),
        ("/models/..x/performance", 422, None),
        ("/models/MSFT/performance", 404, "no forecasts of MSFT in the ledger"),
    ],
)
def test_bad_performance_requests_name_the_value(registry, tmp_path, path, status, detail):
    settings = settings_for(registry, ledger_uri=f"sqlite:///{tmp_path / 'ledger.db'}")
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        assert client.post("/forecast", json={"ticker": "AAPL"}).status_code == 200
        assert client.app.state.online.writer.flush(10)
        response = client.get(path)
        assert response.status_code == status, response.text
        if detail:
            assert response.json()["detail"].startswith(detail)


def test_performance_before_any_forecast_says_there_is_no_ledger_yet(registry, tmp_path):
    settings = settings_for(registry, ledger_uri=f"sqlite:///{tmp_path / 'none.db'}")
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        response = client.get("/models/AAPL/performance")
        assert response.status_code == 404
        assert response.json()["detail"].startswith(
            f"no forecast ledger at Ledger(sqlite:///{tmp_path / 'none.db'}) yet"
        )
        assert not (tmp_path / "none.db").exists()  # asking did not create it


def test_an_hour_of_failed_refreshes_keeps_serving_and_loses_no_recorded_forecast(
    registry, tmp_path
):
    from forecast.data import PriceCache, load_prices
    from forecast.online.ledger import Ledger
    from tests.service.test_prices import Clock

    cache = PriceCache(tmp_path / "data")
    cache.write(load_prices("AAPL", source="sample"), "AAPL", None)  # ends Friday 2013-03-01
    clock = Clock("2013-03-04 14:00")  # Monday, before the close
    settings = settings_for(
        registry,
        data_source="cache",
        data_dir=str(tmp_path / "data"),
        ledger_uri=f"sqlite:///{tmp_path / 'ledger.db'}",
    )
    with TestClient(create_app(settings, clock=clock)) as client:
        wait_ready(client)
        online = client.app.state.online
        online.book.add("AAPL").result(30)
        first = client.post("/forecast", json={"ticker": "AAPL"}).json()
        assert first["as_of"] == "2013-03-01" and first["stale"] is False
        assert online.writer.flush(10)
        recorded = Ledger(settings.ledger_uri).count()
        cache.path("AAPL").unlink()  # every load fails from now on
        for _ in range(12):  # an hour, a refresh every 5 minutes
            clock.now += pd.Timedelta(minutes=5)
            assert client.post("/admin/refresh").json()["refreshed"] == {"AAPL": False}
            assert client.post("/forecast", json={"ticker": "AAPL"}).json() == first
        clock.now = pd.Timestamp("2013-03-04 21:30", tz="UTC")  # Monday's close is out
        assert client.post("/admin/refresh").json()["refreshed"] == {"AAPL": False}
        late = client.post("/forecast", json={"ticker": "AAPL"}).json()
        assert late == {**first, "stale": True}  # the last good prices, saying how old
        assert online.writer.flush(10)
    assert Ledger(settings.ledger_uri).count() == recorded == 2  # none lost, none twice
