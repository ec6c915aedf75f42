"""Hand-written nasty inputs: each gets a clear 4xx (API) or a clear message and exit code (CLI),
and nothing saved is overwritten."""

import json
import math

import pytest
from fastapi.testclient import TestClient

from forecast.data import load_prices
from pipelines.train import main as train_main
from service.app import create_app

from .conftest import settings_for, wait_ready

PRICES = load_prices("AAPL", source="sample", end="2012-12-21")
ROWS = [
    {"date": f"{d:%Y-%m-%d}", "close": float(c)}
    for d, c in zip(PRICES.index[-30:], PRICES["adj_close"].iloc[-30:], strict=True)
]


def post(client, body, **kwargs):
    return client.post(
        "/forecast",
        content=json.dumps(body, allow_nan=True),
        headers={"content-type": "application/json"},
        **kwargs,
    )


def with_close(value, at=5):
    rows = [dict(r) for r in ROWS]
    rows[at]["close"] = value
    return rows


NASTY = {
    "NaN price": (with_close(math.nan), 422, "finite number"),
    "inf price": (with_close(math.inf), 422, "finite number"),
    "-inf price": (with_close(-math.inf), 422, "finite number"),
    "negative price": (with_close(-1.0), 422, "greater than 0"),
    "zero price": (with_close(0.0), 422, "greater than 0"),
    "duplicate dates": (ROWS[:10] + ROWS[9:], 422, "strictly increasing"),
    "unsorted dates": (ROWS[::-1], 422, "strictly increasing"),
    "future date": (ROWS[:-1] + [{"date": "2999-12-31", "close": 1.0}], 422, "in the future"),
    "one row": (ROWS[:1], 422, "history has 1 rows; this model needs at least 10"),
    "no rows": ([], 422, "history has 0 rows"),
}


@pytest.mark.parametrize("name", list(NASTY))
def test_nasty_histories_get_a_clear_422(client, name):
    history, status, message = NASTY[name]
    response = post(client, {"ticker": "AAPL", "history": history})
    assert response.status_code == status
    assert message in json.dumps(response.json()["detail"])


@pytest.mark.parametrize(
    "ticker",
    [
        "../../etc",
        "..%2F..%2Fetc",
        "AAPL/../../x",
        "ÄPFEL",
        "株式",
        "A" * 16,
        "🚀",
        "",
        " ",
        "\x00",
    ],
)
def test_unicode_and_path_like_tickers(client, ticker):
    response = post(client, {"ticker": ticker, "history": ROWS})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "ticker"]


@pytest.mark.parametrize(
    "horizon,message",
    [
        (0, "greater than or equal to 1"),
        (-5, "greater than or equal to 1"),
        (10**12, "less than or equal to 1000"),
        (3, "between 1 and 2"),
        ("soon", "valid integer"),
        (1.5, "valid integer"),
    ],
)
def test_bad_horizons(client, horizon, message):
    response = post(client, {"ticker": "AAPL", "horizon": horizon, "history": ROWS})
    assert response.status_code == 422 and message in json.dumps(response.json()["detail"])


def test_a_million_row_history_and_a_10_mb_body_are_refused_before_parsing(client):
    million = json.dumps({"ticker": "AAPL", "history": [ROWS[0]] * 1_000_000})
    response = client.post(
        "/forecast", content=million, headers={"content-type": "application/json"}
    )
    assert (
        response.status_code == 413
        and "larger than the limit of 2000000 bytes" in response.json()["detail"]
    )
    junk = b"x" * 10_000_000
    assert (
        client.post(
            "/forecast", content=junk, headers={"content-type": "application/json"}
        ).status_code
        == 413
    )


def test_a_large_streamed_body_without_length_is_cut_off(client):
    def chunks():
        yield b'{"ticker": "AAPL", "history": ['
        for _ in range(100_000):
            yield b'{"date": "2012-01-03", "close": 1.0},'
        yield b"]}"

    response = client.post(
        "/forecast", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_row_limit_when_the_body_limit_allows_it(registry):
    settings = settings_for(registry, max_body_bytes=100_000_000)
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        rows = (
            [{"date": f"{d:%Y-%m-%d}", "close": 1.0} for d in PRICES.index[-20_000:]]
            if len(PRICES) >= 20_000
            else None
        )
        body = {
            "ticker": "AAPL",
            "history": rows or [{"date": "2012-01-03", "close": 1.0}] * 20_000,
        }
        response = post(client, body)
        assert response.status_code == 422
        assert "history has 20000 rows; at most 10000 are accepted" in json.dumps(
            response.json()["detail"]
        )


@pytest.mark.parametrize(
    "content_type,content",
    [
        ("text/plain", b'{"ticker": "AAPL"}'),
        ("application/xml", b"<ticker>AAPL</ticker>"),
        ("multipart/form-data; boundary=x", b"--x--"),
        ("application/json", b"\xff\xfe\x00garbage"),
    ],
)
def test_wrong_content_types_and_encodings(client, content_type, content):
    response = client.post("/forecast", content=content, headers={"content-type": content_type})
    assert 400 <= response.status_code < 500


# --- the CLI and the data layer ---------------------------------------------------------------

BAD_CSVS = {
    "no close": ("Date,Open\n2024-01-02,1\n", "needs a 'close' (or 'adj_close') column"),
    "bad dates": (
        "Date,Open,High,Low,Close,Adj Close,Volume\nyesterday,1,2,0.5,1,1,10\n",
        "unreadable dates",
    ),
    "text in numbers": (
        "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,one,2,0.5,1,1,10\n",
        "non-numeric values in column 'open'",
    ),
    "empty file": ("", "is empty"),
    "ten rows": (
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        + "".join(f"2024-01-{d:02d},1,2,0.5,1,1,10\n" for d in range(2, 12)),
        "need",
    ),
}


@pytest.mark.parametrize("name", list(BAD_CSVS))
def test_bad_csv_files_get_a_message_and_exit_code_1_and_leave_nothing_behind(
    name, tmp_path, monkeypatch, capsys
):
    text, message = BAD_CSVS[name]
    path = tmp_path / "prices.csv"
    path.write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert (
        train_main(["XYZ", "--csv", str(path)])  # default settings
        == 1
    )
    assert message in capsys.readouterr().err
    assert path.read_text() == text  # the user's file is untouched
    # bad data stops before MLflow is touched; too few rows fails in the CV set-up: no run left RUNNING
    if name != "ten rows":
        assert not (tmp_path / "mlflow.db").exists()


def test_truncated_cache_is_reported_not_used_not_overwritten(
    tmp_path, monkeypatch, capsys, caplog
):
    cache = tmp_path / "cache" / "prices" / "IBM.parquet"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"PAR1\x00\x00 truncated")
    monkeypatch.setenv("STOCKCAST_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    from pipelines.prices import main as prices_main

    assert prices_main(["IBM"]) == 0  # offline: the bundled sample, loudly
    captured = capsys.readouterr()
    assert "from sample" in captured.out and "cached at" not in captured.out
    assert "unreadable or invalid" in caplog.text
    assert cache.read_bytes() == b"PAR1\x00\x00 truncated"
    assert prices_main(["IBM", "--source", "cache"]) == 1
    assert "nothing cached" in capsys.readouterr().err
