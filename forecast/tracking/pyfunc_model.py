"""The MLflow pyfunc "model from code" that wraps a saved Forecaster (no cloudpickle).

MLflow runs this file when the model loads; `set_model` hands it the model object. Input: a frame of
recent prices (`date` as text, datetime64 or dates; `close`, plus the columns the model's features
read, and `open`, `high`, `low` when its intervals follow the lstm rule). Output: a frame of `date`
(next NYSE trading days, as text), `forecast` in price units and the prediction interval of each
calibrated level (`lower_80`, `upper_80`, `lower_95`, `upper_95` by default) and each of param
`quantiles` (`quantile_0.05`, ...; 0.05, 0.5 and 0.95 by default when the calibration serves them).
Param `horizon` shortens it.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class StockcastModel(PythonModel):
    def load_context(self, context: Any) -> None:
        from forecast.forecaster import Forecaster

        self.forecaster = Forecaster.load(context.artifacts["forecaster"])

    # a DataFrame hint: MLflow infers no schema from it (the logged signature is the schema)
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        from forecast.tracking.pyfunc import output_frame

        rows = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        horizon = (params or {}).get("horizon")
        quantiles = tuple(float(q) for q in (params or {}).get("quantiles") or ())
        # the rows become prices by the rule POST /forecast uses (forecast.data.history)
        return output_frame(
            self.forecaster.predict(rows, None if horizon is None else int(horizon), quantiles)
        )


mlflow.models.set_model(StockcastModel())
