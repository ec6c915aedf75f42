import datetime as dt
import warnings

import mlflow
import numpy as np
import pandas as pd
import pytest

from forecast.config import LSTMConfig, TrainConfig, WindowConfig
from forecast.data import load_prices
from forecast.forecaster import Forecaster
from forecast.tracking.pyfunc import log_forecaster
from tests.helpers import PYFUNC_COLUMNS


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """A tiny Forecaster logged as the pyfunc model, loaded back the way users load it."""
    store = tmp_path_factory.mktemp("pyfunc")
    prices = load_prices("AAPL", source="sample").iloc[-400:]
    forecaster = Forecaster(
        WindowConfig(lookback=20, horizon=3),
        LSTMConfig(hidden_sizes=(8,)),
        TrainConfig(epochs=1, device="cpu", threads=1, progress=False),
    ).fit(prices, calibration_scores=np.random.default_rng(0).normal(size=(200, 3)))
    recent = prices.iloc[-25:]
    example = pd.DataFrame({"date": recent.index.strftime("%Y-%m-%d"), "close": recent["close"]})
    mlflow.set_tracking_uri(f"sqlite:///{store / 'mlflow.db'}")
    mlflow.set_experiment("pyfunc-test")
    with warnings.catch_warnings(record=True) as caught, mlflow.start_run():
        warnings.simplefilter("always")
        uri = log_forecaster(forecaster, example.reset_index(drop=True), step=0)
        model = mlflow.pyfunc.load_model(uri)
    yield model, forecaster, recent, [str(w.message) for w in caught]
    mlflow.set_tracking_uri(None)


def test_logging_and_loading_ask_for_no_type_hints(logged):
    *_, messages = logged
    assert not [m for m in messages if "type hints" in m], messages


@pytest.mark.parametrize(
    "dates",
    [
        lambda index: index.strftime("%Y-%m-%d"),  # text, as the signature's example
        lambda index: index,  # datetime64[ns], what load_prices returns
        lambda index: index.to_numpy().astype("datetime64[s]"),
        lambda index: [d.date() for d in index],  # datetime.date objects
    ],
    ids=["text", "datetime64-ns", "datetime64-s", "date"],
)
def test_dates_as_text_datetime64_or_dates_forecast_alike(logged, dates):
    model, forecaster, recent, _ = logged
    frame = pd.DataFrame({"date": dates(recent.index), "close": recent["close"].to_numpy()})
    out = model.predict(frame)
    expected = forecaster.predict(
        recent.assign(adj_close=recent["close"]), quantiles=(0.05, 0.5, 0.95)
    )
    assert out["date"].tolist() == list(expected.index.strftime("%Y-%m-%d"))
    assert list(out.columns) == PYFUNC_COLUMNS
    np.testing.assert_allclose(out.iloc[:, 1:].to_numpy(), expected.to_numpy())
    assert isinstance(dt.date.fromisoformat(out["date"].iloc[0]), dt.date)


def test_horizon_param_shortens_and_bad_dates_are_named(logged):
    model, _, recent, _ = logged
    frame = pd.DataFrame({"date": recent.index, "close": recent["close"].to_numpy()})
    assert len(model.predict(frame, params={"horizon": 1})) == 1
    frame["date"] = frame["date"].astype(str).where(frame.index != 3, "not a date")
    with pytest.raises(Exception, match=r"unreadable dates \['not a date'\]"):
        model.predict(frame)


def test_adj_close_on_some_rows_only_is_refused_naming_the_rows(logged):
    """The one rule for request rows: the pyfunc and POST /forecast refuse alike."""
    model, _, recent, _ = logged
    frame = pd.DataFrame(
        {
            "date": recent.index.strftime("%Y-%m-%d"),
            "close": recent["close"].to_numpy(),
            "adj_close": recent["adj_close"].where(np.arange(len(recent)) < 20).to_numpy(),
        }
    )
    with pytest.raises(Exception, match=r"history has adj_close on some rows only \(5 rows"):
        model.unwrap_python_model().predict(None, frame)  # past MLflow's schema: the rule itself
