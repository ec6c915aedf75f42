"""The logged model: a fitted Forecaster as an MLflow pyfunc "model from code" (no cloudpickle)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import AnyType, ColSpec, Schema

import forecast
from forecast.forecaster import Forecaster


def pip_requirements() -> list[str]:
    """Exact versions of what the pyfunc imports, so the model runs where it was trained."""
    from importlib.metadata import version

    return [
        f"{name}=={version(name).split('+')[0]}"
        for name in ("mlflow", "torch", "numpy", "pandas", "safetensors")
    ]


def log_forecaster(forecaster: Forecaster, example: pd.DataFrame, step: int) -> str:
    """Log the fitted Forecaster as a pyfunc model from code; returns its model URI."""
    model_code = Path(__file__).with_name("pyfunc_model.py")
    package = Path(forecast.__file__).parent
    with tempfile.TemporaryDirectory() as tmp:
        saved = forecaster.save(Path(tmp) / "forecaster")
        params: dict[str, object] = {"horizon": forecaster.window.horizon}
        quantiles = servable_quantiles(forecaster)
        if quantiles:
            params["quantiles"] = list(quantiles)
        # the rows, by the one rule
        output = output_frame(forecaster.predict(example, quantiles=quantiles))
        signature = _any_date(infer_signature(example, output, params=params))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(model_code),
            artifacts={"forecaster": str(saved)},
            code_paths=[str(package)],
            signature=signature,
            input_example=example,
            pip_requirements=pip_requirements(),
            step=step,
        )
    return info.model_uri


PYFUNC_QUANTILES = (0.05, 0.5, 0.95)  # the pyfunc's default `quantiles` param


def servable_quantiles(forecaster: Forecaster) -> tuple[float, ...]:
    """PYFUNC_QUANTILES when the model's calibration serves them, else none."""
    try:
        return forecaster.check_quantiles(PYFUNC_QUANTILES)
    except ValueError:
        return ()


def output_frame(predicted: pd.DataFrame) -> pd.DataFrame:
    """The pyfunc's output from Forecaster.predict's frame: `date` as text, then `forecast` and
    each calibrated level's `lower_80`, `upper_80`... columns."""
    dates = pd.DatetimeIndex(predicted.index).strftime("%Y-%m-%d")
    return pd.DataFrame({"date": dates, **{c: predicted[c].to_numpy() for c in predicted}})


def _any_date(signature: ModelSignature) -> ModelSignature:
    """`date` may come as text, datetime64 or dates (prices_from_rows reads them all); MLflow's
    schema check would accept only the example's text."""
    columns = [
        ColSpec(AnyType(), "date") if spec.name == "date" else spec
        for spec in signature.inputs.inputs
    ]
    return ModelSignature(Schema(columns), signature.outputs, signature.params)
