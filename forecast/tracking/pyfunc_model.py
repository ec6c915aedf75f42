"""The MLflow pyfunc "model from code" that wraps a saved Forecaster (no cloudpickle).

MLflow runs this file when the model loads; `set_model` hands it the model object. Input: a frame
of recent prices (`date`, `close`, plus the columns the model's features read). Output: a frame
of `date` (next NYSE trading days) and `forecast` in price units. Param `horizon` shortens it.
"""

from __future__ import annotations

import warnings
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

# MLflow asks for type hints on predict; we rely on the logged signature instead
warnings.filterwarnings("ignore", message=".*type hints to the `predict` method.*")


class StockcastModel(PythonModel):
    def load_context(self, context: Any) -> None:
        from forecast.forecaster import Forecaster

        self.forecaster = Forecaster.load(context.artifacts["forecaster"])

    # no type hints here: MLflow would read them as an input schema; the logged signature is it
    def predict(self, context, model_input, params=None):
        from forecast.data.history import prices_from_rows

        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        prices = prices_from_rows(frame, self.forecaster.window.features)
        horizon = (params or {}).get("horizon")
        out = self.forecaster.predict(prices, None if horizon is None else int(horizon))
        return pd.DataFrame(
            {
                "date": pd.DatetimeIndex(out.index).strftime("%Y-%m-%d"),
                "forecast": out["forecast"].to_numpy(),
            }
        )


mlflow.models.set_model(StockcastModel())
