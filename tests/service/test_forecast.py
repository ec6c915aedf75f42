import re

import mlflow
import numpy as np
import pytest
from fastapi.testclient import TestClient

from forecast import tracking
from forecast.data import load_prices
from forecast.intervals import INTERVAL_RULES
from service.app import create_app
from tests.helpers import wait_for

from .conftest import settings_for, train, wait_ready

PRICES = load_prices("AAPL", source="sample", end="2012-12-21")  # a Friday before Christmas


def history(rows=30, prices=PRICES):
    recent = prices.iloc[-rows:]
    return [
        {"date": f"{d:%Y-%m-%d}", "close": float(c)}
        for d, c in zip(recent.index, recent["adj_close"], strict=True)
    ]


def detail(response):
    return response.json()["detail"]


def test_forecast_matches_the_forecaster_for_the_same_history(client, registry):
    response = client.post("/forecast", json={"ticker": "AAPL", "history": history()})
    assert response.status_code == 200
    body = response.json()
    tracking.use_tracking_uri(f"sqlite:///{registry / 'mlflow.db'}")
    expected = tracking.load_registered("stockcast-AAPL", "champion").forecaster.predict(
        PRICES.iloc[-30:]
    )
    values = [point["value"] for point in body["forecasts"]]
    np.testing.assert_allclose(values, expected["forecast"].to_numpy(), rtol=1e-6)
    assert (
        body["ticker"] == "AAPL"
        and body["as_of"] == "2012-12-21"
        and body["history_source"] == "request"
    )
    assert body["model"]["name"] == "stockcast-AAPL" and body["model"]["alias"] == "champion"
    assert body["model"]["version"] == "1"
    # both runs, named: the final fit that logged the weights and the pipeline's parent run
    client_runs = mlflow.MlflowClient()
    model_run = client_runs.get_run(body["model"]["model_run_id"])
    pipeline_run = client_runs.get_run(body["model"]["pipeline_run_id"])
    assert model_run.data.tags["mlflow.parentRunId"] == pipeline_run.info.run_id
    assert "mlflow.parentRunId" not in pipeline_run.data.tags
    assert response.headers["x-request-id"]


def test_dates_skip_weekends_and_holidays(client):
    body = client.post(
        "/forecast", json={"ticker": "aapl", "horizon": 2, "history": history()}
    ).json()
    # Friday 2012-12-21 -> Monday 24th, then Wednesday 26th (Christmas closes the NYSE)
    assert [p["date"] for p in body["forecasts"]] == ["2012-12-24", "2012-12-26"]


@pytest.mark.parametrize("level", [None, 0.8, 0.95])
def test_every_step_has_a_finite_interval_at_the_level_asked(client, registry, level):
    request = {"ticker": "AAPL", "horizon": 2, "history": history(), "level": level}
    points = client.post("/forecast", json=request).json()["forecasts"]
    asked = level or 0.8  # the model's first calibrated level
    assert [p["level"] for p in points] == [asked, asked]
    for p in points:
        assert (
            np.isfinite([p["lower"], p["upper"]]).all() and p["lower"] <= p["value"] <= p["upper"]
        )
    tracking.use_tracking_uri(f"sqlite:///{registry / 'mlflow.db'}")
    expected = tracking.load_registered("stockcast-AAPL", "champion").forecaster.predict(
        PRICES.iloc[-30:]
    )
    name = f"{asked * 100:g}"
    np.testing.assert_allclose([p["lower"] for p in points], expected[f"lower_{name}"], rtol=1e-6)
    np.testing.assert_allclose([p["upper"] for p in points], expected[f"upper_{name}"], rtol=1e-6)


def test_a_level_the_model_did_not_calibrate_is_a_422_naming_those_it_did(client):
    for level, status in ((0.9, 422), (1.5, 422), (0.95, 200)):
        request = {"ticker": "AAPL", "history": history(), "level": level}
        assert client.post("/forecast", json=request).status_code == status
    response = client.post("/forecast", json={"ticker": "AAPL", "history": history(), "level": 0.9})
    (problem,) = detail(response)
    assert problem["loc"] == ["body", "level"]
    assert problem["msg"] == "level=0.9 is not calibrated for this model; available: 0.8, 0.95"
    (info,) = client.get("/models").json()["models"]
    assert info["interval_levels"] == [0.8, 0.95]
    # the width rule CV chose, as the version's tag says and the loaded model serves
    served = client.app.state.store.models["AAPL"].registered
    assert info["interval_rule"] == served.tags["intervals.rule"] == served.forecaster.interval_rule
    assert info["interval_rule"] in INTERVAL_RULES


def test_horizon_defaults_to_the_model_and_one_step_is_allowed(client):
    assert (
        len(
            client.post("/forecast", json={"ticker": "AAPL", "history": history()}).json()[
                "forecasts"
            ]
        )
        == 2
    )
    assert (
        len(
            client.post(
                "/forecast", json={"ticker": "AAPL", "horizon": 1, "history": history()}
            ).json()["forecasts"]
        )
        == 1
    )


def test_history_omitted_uses_the_data_layer_and_says_which_day(client):
    body = client.post("/forecast", json={"ticker": "AAPL"}).json()
    assert body["history_source"] == "sample" and body["as_of"] == "2013-03-01"
    assert body["forecasts"][0]["date"] == "2013-03-04"


def test_batch_shares_one_pass_and_keeps_order(client):
    first, second = history(30), history(25, PRICES.iloc[:-3])
    batch = client.post(
        "/forecast/batch",
        json={
            "requests": [
                {"ticker": "AAPL", "history": first},
                {"ticker": "AAPL", "horizon": 1, "history": second},
            ]
        },
    )
    assert batch.status_code == 200
    items = batch.json()["results"]
    assert [(item["ticker"], item["status"], item["detail"]) for item in items] == [
        ("AAPL", 200, None),
        ("AAPL", 200, None),
    ]
    results = [item["forecast"] for item in items]
    single = client.post(
        "/forecast", json={"ticker": "AAPL", "horizon": 1, "history": second}
    ).json()
    assert results[1]["as_of"] == "2012-12-18"
    assert [p["date"] for p in results[1]["forecasts"]] == [p["date"] for p in single["forecasts"]]
    # one batched float32 pass vs one single: equal to float32 precision
    assert results[1]["forecasts"][0]["value"] == pytest.approx(
        single["forecasts"][0]["value"], rel=1e-6
    )
    assert len(results[0]["forecasts"]) == 2


@pytest.mark.parametrize(
    "change,field,message",
    [
        (
            lambda b: b.update(history=b["history"][:5]),
            ["body", "history"],
            "history has 5 rows; this model needs at least 10 (lookback 10)",
        ),
        (
            lambda b: b["history"].reverse(),
            ["body", "history", 1, "date"],
            "dates must be strictly increasing (oldest first); 2012-12-20 follows 2012-12-21",
        ),
        (
            lambda b: b["history"].__setitem__(3, dict(b["history"][2])),
            ["body", "history", 3, "date"],
            "dates must be strictly increasing",
        ),
        (
            lambda b: b["history"][-1].update(date="2999-01-01"),
            ["body", "history", 29, "date"],
            "date 2999-01-01 is in the future",
        ),
        (
            lambda b: b["history"][4].update(close=0),
            ["body", "history", 4, "close"],
            "Input should be greater than 0",
        ),
        (
            lambda b: b["history"][4].update(close=-3.5),
            ["body", "history", 4, "close"],
            "Input should be greater than 0",
        ),
        (
            lambda b: b["history"][4].update(close="NaN"),
            ["body", "history", 4, "close"],
            "finite number",
        ),
        (
            lambda b: b["history"][4].update(close="Infinity"),
            ["body", "history", 4, "close"],
            "finite number",
        ),
        (
            lambda b: b["history"][4].update(close="cheap"),
            ["body", "history", 4, "close"],
            "valid number",
        ),
        (
            lambda b: b["history"][4].update(date="2012-13-40"),
            ["body", "history", 4, "date"],
            "valid date",
        ),
        (lambda b: b.update(horizon=0), ["body", "horizon"], "greater than or equal to 1"),
        (lambda b: b.update(horizon=-2), ["body", "horizon"], "greater than or equal to 1"),
        (lambda b: b.update(horizon=3), ["body", "horizon"], "horizon=3 must be between 1 and 2"),
        (lambda b: b.update(horizon=10**9), ["body", "horizon"], "less than or equal to 1000"),
        (lambda b: b.update(ticker="../../etc"), ["body", "ticker"], "should match pattern"),
        (lambda b: b.update(ticker="ÄPFEL"), ["body", "ticker"], "should match pattern"),
        (lambda b: b.update(ticker=""), ["body", "ticker"], "at least 1 character"),
        (lambda b: b.update(extra=1), ["body", "extra"], "Extra inputs are not permitted"),
        (lambda b: b.pop("ticker"), ["body", "ticker"], "Field required"),
    ],
)
def test_every_validation_rule_names_the_field(client, change, field, message):
    body = {"ticker": "AAPL", "history": history()}
    change(body)
    import json

    response = client.post(
        "/forecast", content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    problems = detail(response)
    assert any(p["loc"] == field and message in p["msg"] for p in problems), problems
    assert response.json()["request_id"]


def test_adj_close_on_some_rows_only_is_a_422_naming_the_rows(client):
    """Adjusted and raw prices never mix: the rule the pyfunc applies (test_pyfunc.py)."""
    rows = history()
    for row, day in zip(rows[:3], PRICES.index[-30:], strict=False):
        row["adj_close"] = float(PRICES.loc[day, "adj_close"])
    response = client.post("/forecast", json={"ticker": "AAPL", "history": rows})
    assert response.status_code == 422, response.text
    (problem,) = detail(response)
    assert problem["loc"] == ["body", "history", 3, "adj_close"]
    assert problem["msg"].startswith(
        "history has adj_close on some rows only (27 rows without it: dates ['2012-11-14',"
    )


@pytest.fixture(scope="module")
def ohlcv_registry(tmp_path_factory):
    """A store whose champion reads open, high, low, close and volume."""
    store = tmp_path_factory.mktemp("ohlcv")
    train(store, "--features", "ohlcv")
    return store


@pytest.fixture
def ohlcv_client(ohlcv_registry):
    store = ohlcv_registry
    with TestClient(create_app(settings_for(store)), raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client, store


def test_an_ohlcv_model_forecasts_over_http_from_full_rows(ohlcv_client):
    client, store = ohlcv_client
    recent = PRICES.iloc[-30:]
    rows = [
        {"date": f"{day:%Y-%m-%d}", **{c: float(row[c]) for c in row.index}}
        for day, row in recent.iterrows()
    ]
    response = client.post("/forecast", json={"ticker": "AAPL", "history": rows})
    assert response.status_code == 200, response.text
    tracking.use_tracking_uri(f"sqlite:///{store / 'mlflow.db'}")
    forecaster = tracking.load_registered("stockcast-AAPL", "champion").forecaster
    assert forecaster.window.features == "ohlcv"
    expected = forecaster.predict(recent)
    values = [p["value"] for p in response.json()["forecasts"]]
    np.testing.assert_allclose(values, expected["forecast"].to_numpy(), rtol=1e-6)
    # closes alone are not enough for it: the 422 names the columns it reads
    closes = client.post("/forecast", json={"ticker": "AAPL", "history": history()})
    assert closes.status_code == 422
    assert "history lacks columns ['open', 'high', 'low', 'volume']" in detail(closes)[0]["msg"]


def test_a_batch_answers_every_item_with_its_own_status(client):
    items = [
        {"ticker": "AAPL", "history": history()},
        {"ticker": "MSFT", "history": history()},  # nothing registered for MSFT
        {"ticker": "AAPL", "horizon": 99, "history": history()},
        {"ticker": "aapl", "horizon": 1, "history": history(5)},  # too short for the lookback
        {"ticker": "AAPL", "horizon": 1},  # from the data layer
    ]
    response = client.post("/forecast/batch", json={"requests": items})
    assert response.status_code == 200
    got = response.json()["results"]
    assert [(r["ticker"], r["status"]) for r in got] == [
        ("AAPL", 200),
        ("MSFT", 404),
        ("AAPL", 422),
        ("AAPL", 422),
        ("AAPL", 200),
    ]
    alone = client.post("/forecast", json=items[0]).json()
    assert got[0]["forecast"]["forecasts"] == alone["forecasts"]
    assert got[4]["forecast"]["history_source"] == "sample" and got[4]["detail"] is None
    assert "python -m pipelines.train MSFT" in got[1]["detail"] and got[1]["forecast"] is None
    # each detail is what the request alone gets, with the field located in the batch
    assert got[2]["detail"][0]["loc"] == ["body", "requests", 2, "horizon"]
    assert "horizon=99 must be between 1 and 2" in got[2]["detail"][0]["msg"]
    assert got[3]["detail"][0]["loc"] == ["body", "requests", 3, "history"]
    assert "history has 5 rows; this model needs at least 10" in got[3]["detail"][0]["msg"]
    assert client.post("/forecast", json=items[1]).json()["detail"] == got[1]["detail"]


def test_too_many_rows_and_batch_items(registry):
    settings = settings_for(registry, max_history_rows=20, max_batch_items=1)
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        response = client.post("/forecast", json={"ticker": "AAPL", "history": history(25)})
        assert (
            response.status_code == 422
            and "history has 25 rows; at most 20 are accepted" in response.text
        )
        item = {"ticker": "AAPL", "history": history(15)}
        response = client.post("/forecast/batch", json={"requests": [item, item]})
        assert response.status_code == 422 and "2 requests; at most 1 per batch" in response.text


@pytest.mark.parametrize(
    "content,headers",
    [
        (b"", {"content-type": "application/json"}),
        (b"{not json", {"content-type": "application/json"}),
        (b"ticker=AAPL", {"content-type": "application/x-www-form-urlencoded"}),
        (b"[]", {"content-type": "application/json"}),
    ],
)
def test_empty_malformed_and_wrong_content_type_are_422(client, content, headers):
    response = client.post("/forecast", content=content, headers=headers)
    assert response.status_code == 422


def test_body_size_limit(registry):
    with TestClient(create_app(settings_for(registry, max_body_bytes=2_000))) as client:
        wait_ready(client)
        response = client.post("/forecast", json={"ticker": "AAPL", "history": history(100)})
        assert response.status_code == 413
        assert "larger than the limit of 2000 bytes" in response.json()["detail"]


def test_unknown_ticker_is_404_naming_it_and_how_to_train(client):
    response = client.post("/forecast", json={"ticker": "MSFT", "history": history()})
    assert response.status_code == 404
    assert "stockcast-MSFT" in detail(response) and "python -m pipelines.train MSFT" in detail(
        response
    )


def test_an_unexpected_error_is_500_with_a_request_id(client, monkeypatch, caplog):
    import service.routes.forecast as route

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(route, "forecast_many", boom)
    response = client.post(
        "/forecast",
        json={"ticker": "AAPL", "history": history()},
        headers={"x-request-id": "req-42"},
    )
    assert response.status_code == 500
    assert response.json() == {
        "detail": "internal error; quote request id req-42",
        "request_id": "req-42",
    }
    assert "request req-42 failed" in caplog.text and "kaboom" in caplog.text


def test_health_ready_models_metrics(client):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {
        "status": "ready",
        "models": {"AAPL": "1"},
        "registry": "ok",
    }
    model = client.get("/models").json()["models"][0]
    assert model["ticker"] == "AAPL" and model["version"] == "1" and model["lookback"] == 10
    assert model["horizon"] == 2 and model["trained_until"] == "2013-03-01"
    assert "skill_mean" in model["cv_metrics"] and "naive.rmse_mean" in model["cv_metrics"]
    # how much the point is worth, beside every model and every forecast
    assert model["cv_skill"] == model["cv_metrics"]["skill_mean"]
    assert model["cv_skill_stderr"] == model["cv_metrics"]["skill_stderr"]
    assert model["beats_naive"] is (model["cv_skill"] > model["cv_skill_stderr"])
    answer = client.post("/forecast", json={"ticker": "AAPL", "history": history()}).json()
    assert {k: answer["model"][k] for k in ("cv_skill", "cv_skill_stderr", "beats_naive")} == {
        k: model[k] for k in ("cv_skill", "cv_skill_stderr", "beats_naive")
    }
    client.post("/forecast", json={"ticker": "AAPL", "horizon": 0, "history": history()})
    text = client.get("/metrics").text
    assert 'stockcast_requests_total{method="POST",route="/forecast",status="200"}' in text
    assert 'stockcast_requests_total{method="POST",route="/forecast",status="422"}' in text
    assert 'stockcast_request_seconds_bucket{le="0.005",method="POST",route="/forecast"}' in text
    assert (
        'stockcast_model_version{alias="champion",model="stockcast-AAPL",ticker="AAPL"} 1.0' in text
    )


def test_openapi_has_examples_for_every_schema(client):
    spec = client.get("/openapi.json").json()
    for name in ("ForecastRequest", "ForecastResponse", "BatchRequest", "PriceRow"):
        assert spec["components"]["schemas"][name].get("examples"), name
    assert (
        "/forecast/batch" in spec["paths"]
        and "404" in spec["paths"]["/forecast"]["post"]["responses"]
    )


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_everything_from_this_server(client, page):
    html = client.get(page)
    assert html.status_code == 200
    # nothing from a CDN: every script, stylesheet and icon is served here, offline included
    assert "http://" not in html.text and "https://" not in html.text, html.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html.text) + re.findall(
        r"(?:url|href): *'([^']+)'", html.text
    )
    local = [a for a in assets if a.startswith("/")]
    assert any(a.endswith(".js") for a in local), assets
    for asset in local:
        response = client.get(asset)
        assert response.status_code == 200 and len(response.content) > 100, asset
    if page == "/docs":
        assert (
            "SwaggerUIBundle"
            in client.get(next(a for a in local if a.endswith("swagger-ui-bundle.js"))).text
        )
        assert "url: '/openapi.json'" in html.text


def test_cors_is_off_unless_configured(client, registry):
    headers = {"origin": "https://example.com", "access-control-request-method": "POST"}
    assert "access-control-allow-origin" not in client.options("/forecast", headers=headers).headers
    with TestClient(
        create_app(settings_for(registry, cors_origins=["https://example.com"]))
    ) as cors:
        wait_ready(cors)
        answer = cors.options("/forecast", headers=headers)
        assert answer.headers["access-control-allow-origin"] == "https://example.com"


def test_api_key(registry):
    with TestClient(create_app(settings_for(registry, api_key="s3cret"))) as client:
        wait_ready(client)
        body = {"ticker": "AAPL", "history": history()}
        assert client.post("/forecast", json=body).status_code == 401
        wrong = client.post("/forecast", json=body, headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert (
            client.post(
                "/forecast", json=body, headers={"authorization": "Bearer s3cret"}
            ).status_code
            == 200
        )
        assert client.post("/admin/reload").status_code == 401
        assert (
            client.post("/admin/reload", headers={"authorization": "Bearer s3cret"}).status_code
            == 200
        )
        assert client.get("/health").status_code == 200 and client.get("/ready").status_code == 200


def test_registry_unreachable_at_startup(tmp_path, monkeypatch):
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    settings = settings_for(tmp_path, tracking_uri=f"http://127.0.0.1:{port}", registry_retry_s=0.1)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/health").status_code == 200

        def degraded():  # the first registry attempt runs in the background
            response = client.get("/ready")
            return response if "degraded" in response.json()["registry"] else None

        response = wait_for(degraded, 30, "the registry to be reported degraded", interval=0.05)
        assert response.status_code == 503
        body = response.json()
        assert "unreachable" in body["reasons"][0] or "registry error" in body["reasons"][0]
        assert body["status"] == "not ready" and body["reasons"][0].startswith("AAPL: ")
        assert "degraded" in body["registry"]
        forecast = client.post("/forecast", json={"ticker": "AAPL", "history": history()})
        assert (
            forecast.status_code == 503
            and "model registry unavailable" in forecast.json()["detail"]
        )


def test_alias_swap_under_concurrent_requests_loses_none(tmp_path):
    """A new champion is loaded beside the old one and swapped in; no request fails or waits."""
    from concurrent.futures import ThreadPoolExecutor

    store = tmp_path / "swap"
    store.mkdir()
    train(store)
    with TestClient(create_app(settings_for(store))) as client:
        wait_ready(client)
        body = {"ticker": "AAPL", "history": history()}
        train(store, "--promote", "--seed", "7")

        def call(_):
            response = client.post("/forecast", json=body)
            return response.status_code, response.json()["model"]["version"]

        with ThreadPoolExecutor(8) as pool:
            before = pool.map(call, range(40))
            reload = pool.submit(client.post, "/admin/reload")
            during = list(pool.map(call, range(120)))
            reload_answer = reload.result()
        results = list(before) + during
        assert all(status == 200 for status, _ in results)
        assert reload_answer.json()["served"] == {"AAPL": "2"}
        assert {version for _, version in results} <= {"1", "2"}
        assert call(0) == (200, "2")
        assert client.get("/ready").json()["models"] == {"AAPL": "2"}


def test_the_yahoo_unreachable_warning_is_logged_once_per_ticker_per_interval(registry, caplog):
    caplog.set_level("WARNING", logger="forecast.data.loader")
    settings = settings_for(registry, data_warning_interval_s=3600)
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        for _ in range(3):
            assert client.post("/forecast", json={"ticker": "AAPL"}).status_code == 200
        for _ in range(2):  # two more loads, each falling back to the sample
            assert client.post("/admin/refresh").json()["refreshed"] == {"AAPL": True}
        warned = [r for r in caplog.records if "BUNDLED SAMPLE PRICES OF AAPL" in r.getMessage()]
        assert len(warned) == 1  # three loads (start-up and two refreshes), one warning
    with TestClient(create_app(settings_for(registry, data_warning_interval_s=0))) as client:
        wait_ready(client)
        caplog.clear()
        for _ in range(2):
            assert client.post("/admin/refresh").json()["refreshed"] == {"AAPL": True}
        assert len([r for r in caplog.records if "BUNDLED SAMPLE" in r.getMessage()]) == 2


def test_quantiles_are_served_from_the_calibrated_rule_without_crossing(client):
    asked = [0.05, 0.5, 0.95]
    for body in (
        {"ticker": "AAPL", "history": history(), "quantiles": asked},
        {"ticker": "AAPL", "quantiles": asked},  # from the service's own prices too
    ):
        response = client.post("/forecast", json=body)
        assert response.status_code == 200, response.text
        for point in response.json()["forecasts"]:
            q = point["quantiles"]
            assert list(q) == ["0.05", "0.5", "0.95"]
            assert q["0.05"] < point["lower"] < q["0.5"] < point["upper"] < q["0.95"]  # 80%
    plain = client.post("/forecast", json={"ticker": "AAPL", "history": history()}).json()
    assert all(point["quantiles"] is None for point in plain["forecasts"])


@pytest.mark.parametrize(
    ("quantiles", "message"),
    [
        (
            [0.001, 0.5],
            "quantiles 0.001 are beyond what 99 calibration scores can bound: this "
            "model serves 0.01 to 0.99",
        ),
        ([0.0], "Input should be greater than 0"),
        ([1.0], "Input should be less than 1"),
        ([0.05] * 20, "List should have at most 19 items after validation, not 20"),
    ],
)
def test_a_quantile_the_model_cannot_serve_is_a_422_naming_what_it_can(client, quantiles, message):
    response = client.post(
        "/forecast", json={"ticker": "AAPL", "history": history(), "quantiles": quantiles}
    )
    assert response.status_code == 422
    (problem,) = detail(response)
    assert problem["loc"][:2] == ["body", "quantiles"] and problem["msg"] == message
