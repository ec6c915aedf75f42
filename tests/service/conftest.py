import os

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.config import Settings
from tests.helpers import TINY_PIPELINE, wait_for

# 99 CV forecasts: enough for 95% intervals (the finite-sample rank needs 39 or more)
TRAIN = [*TINY_PIPELINE, "--horizon", "2", "--test-size", "100"]


def train(store, *extra):
    """Register a tiny stockcast-AAPL model in the MLflow store under `store`."""
    from pipelines.train import main

    cwd = os.getcwd()
    os.chdir(store)
    try:
        # explicit: mlflow.set_tracking_uri (the apps under test call it) also sets the env var
        assert (
            main(["AAPL", *TRAIN, "--tracking-uri", f"sqlite:///{store / 'mlflow.db'}", *extra])
            == 0
        )
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    """A store holding a tiny registered stockcast-AAPL@champion (lookback 10, horizon 2)."""
    store = tmp_path_factory.mktemp("registry")
    train(store)
    return store


def settings_for(registry, **overrides):
    values = {
        "tracking_uri": f"sqlite:///{registry / 'mlflow.db'}",
        "tickers": ["AAPL"],
        "reload_interval_s": 0,
        "data_dir": str(registry / "cache"),
    }
    return Settings(**(values | overrides))


def wait_ready(client, timeout=30):
    def ready():
        response = client.get("/ready")
        return response if response.status_code == 200 else None

    return wait_for(ready, timeout, "/ready to answer 200", interval=0.05)


@pytest.fixture
def client(registry):
    with TestClient(
        create_app(settings_for(registry)), raise_server_exceptions=False
    ) as test_client:
        wait_ready(test_client)
        yield test_client
