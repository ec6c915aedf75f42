import socket
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from yahoo_replay import replay_session

from forecast.data import DataUnavailableError, UnknownTickerError
from forecast.data.sample import SAMPLE_TICKERS, read_sample
from forecast.data.yahoo import check_yahoo_reachable, download_yahoo


def test_dns_failure_answers_without_waiting_on_any_connection(monkeypatch):
    connects = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: connects.append(address))
    with pytest.raises(
        DataUnavailableError, match=r"Yahoo Finance is unreachable \(query2.finance.yahoo.com:443"
    ):
        check_yahoo_reachable()
    assert connects == []  # the lookup failed: nothing was left to wait on


def test_a_server_that_never_answers_is_given_up_by_the_clients_own_timeout():
    hung_up = threading.Event()
    with socket.socket() as server:  # accepts TCP, never speaks TLS: a stalled network
        server.bind(("127.0.0.1", 0))
        server.listen()

        def stall():
            connection, _ = server.accept()
            with connection:
                connection.settimeout(60)
                while connection.recv(4096):  # the ClientHello; never an answer
                    pass
                hung_up.set()  # end of stream: the client closed, the server never did

        listener = threading.Thread(target=stall, daemon=True)
        listener.start()
        with pytest.raises(DataUnavailableError, match="unreachable.*timed out"):
            check_yahoo_reachable("127.0.0.1", timeout=0.5, port=server.getsockname()[1])
        assert hung_up.wait(60)  # the preflight hung up on its own: its timeout fired
        listener.join(60)


def test_download_maps_yfinance_columns_and_inclusive_end():
    history = read_sample("MSFT").loc["2012-03"]
    session, adapter = replay_session({"MSFT": history})
    frame = download_yahoo(
        "MSFT",
        pd.Timestamp("2012-03-05"),
        pd.Timestamp("2012-03-09"),
        session=session,
        preflight=False,
    )
    assert sorted(frame.columns) == ["adj_close", "close", "high", "low", "open", "volume"]
    assert list(frame.index.strftime("%d")) == ["05", "06", "07", "08", "09"]
    np.testing.assert_allclose(
        frame["adj_close"], history.loc["2012-03-05":"2012-03-09", "adj_close"]
    )


def test_unknown_symbol_is_its_own_error():
    session, _ = replay_session({})
    with pytest.raises(
        UnknownTickerError, match="ticker 'QQQQZ': the symbol is unknown or delisted"
    ):
        download_yahoo("QQQQZ", session=session, preflight=False)


def test_empty_incremental_range_is_allowed():
    session, _ = replay_session({"IBM": read_sample("IBM").loc["2012"]})
    frame = download_yahoo(
        "IBM",
        pd.Timestamp("2013-01-05"),
        pd.Timestamp("2013-01-06"),
        session=session,
        preflight=False,
        allow_empty=True,
    )
    assert frame.empty


def test_bundled_samples_are_what_the_build_script_makes_from_bokeh_sampledata():
    stocks = pytest.importorskip("bokeh_sampledata.stocks")
    sys.path.insert(0, str(Path(__file__).parents[3] / "scripts"))
    from build_sample_data import adjusted_frame

    for ticker in SAMPLE_TICKERS:
        built = adjusted_frame(stocks.data[stocks.data["ticker"] == ticker].drop(columns="ticker"))
        shipped = read_sample(ticker)
        np.testing.assert_allclose(shipped["adj_close"], built["adj_close"].to_numpy(), rtol=1e-9)
        assert len(shipped) == len(built)
        assert (
            Path(__file__).parents[3] / "forecast/data/samples" / f"{ticker}.csv.gz"
        ).stat().st_size < 150_000
