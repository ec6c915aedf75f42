"""The forecast ledger on the team stack's Postgres, stopped and restarted under the service."""

import pytest
from sqlalchemy import create_engine, text

from pipelines.team_stack import Stack
from tests.deploy.test_team_stack import needs_postgres  # noqa: F401  (the fixture)
from tests.helpers import TINY_PIPELINE, call, run_pipeline, wait_for

pytestmark = pytest.mark.slow


def metric(stack, name):
    import urllib.request

    with urllib.request.urlopen(f"{stack.api_url}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name):
                return float(line.rsplit(" ", 1)[1])
    return None


def steps_in(uri):
    engine = create_engine(uri)
    try:
        with engine.connect() as connection:
            return (
                connection.execute(text("SELECT step FROM forecasts ORDER BY step")).scalars().all()
            )
    finally:
        engine.dispose()


def test_the_ledger_keeps_every_forecast_through_a_postgres_restart(tmp_path, needs_postgres):  # noqa: F811
    with Stack(tmp_path / "stack", ("AAPL",)) as stack:
        run_pipeline(
            stack.mlflow_uri, tmp_path, *TINY_PIPELINE, "--horizon", "2", "--test-size", "100"
        )
        wait_for(
            lambda: call("POST", f"{stack.api_url}/admin/reload")[1]["served"] == {"AAPL": "1"},
            30,
            "the model",
        )
        wait_for(lambda: call("GET", f"{stack.api_url}/ready")[0] == 200, 60, "the API ready")
        assert call("POST", f"{stack.api_url}/forecast", {"ticker": "AAPL", "horizon": 1})[0] == 200
        wait_for(lambda: steps_in(stack.ledger_uri) == [1], 30, "step 1 in the ledger")

        stack.stop_postgres()
        # a forecast reaching step 2 is served, and its new step waits in the queue
        status, body = call("POST", f"{stack.api_url}/forecast", {"ticker": "AAPL", "horizon": 2})
        assert status == 200 and len(body["forecasts"]) == 2
        wait_for(
            lambda: metric(stack, 'stockcast_ledger_records{state="pending"}') == 1.0,
            30,
            "the step held while the ledger is down",
        )
        assert metric(stack, 'stockcast_ledger_records{state="written"}') == 1.0
        assert metric(stack, 'stockcast_ledger_records{state="dropped"}') == 0.0

        stack.start_postgres()
        wait_for(
            lambda: metric(stack, 'stockcast_ledger_records{state="pending"}') == 0.0,
            90,
            "the retry",
        )
        assert steps_in(stack.ledger_uri) == [1, 2]  # none lost, none twice
