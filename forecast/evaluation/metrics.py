"""Forecast metrics in price units, per horizon step and overall, and their fold aggregates."""

from __future__ import annotations

import numpy as np

METRICS = ("rmse", "mae", "mape", "smape", "mase", "directional_accuracy")


def in_sample_naive_mae(train_target: np.ndarray) -> float:
    """MASE's scale: mean |y_t - y_{t-1}| over the fold's training rows."""
    if len(train_target) < 2:
        raise ValueError(f"MASE needs at least 2 training rows; got {len(train_target)}")
    return float(np.mean(np.abs(np.diff(train_target))))


def forecast_metrics(
    actual: np.ndarray, forecast: np.ndarray, last_observed: np.ndarray, mase_scale: float
) -> dict[str, np.ndarray]:
    """Each metric per horizon step (arrays of length H) for (N, H) actuals and forecasts.

    last_observed (N,) is the price at each origin, for directional accuracy: the share of
    forecasts that move the same way from it as the actual price did.
    """
    if actual.shape != forecast.shape:
        raise ValueError(f"actual {actual.shape} and forecast {forecast.shape} differ in shape")
    error = forecast - actual
    moved = np.sign(actual - last_observed[:, None])
    predicted = np.sign(forecast - last_observed[:, None])
    # scikit-learn's, per step (each column an output); sMAPE, MASE and direction it has not.
    # Imported here: it takes ~0.6 s, which a pipeline spends while its workers train (session)
    from sklearn.metrics import (
        mean_absolute_error,
        mean_absolute_percentage_error,
        root_mean_squared_error,
    )

    mae = mean_absolute_error(actual, forecast, multioutput="raw_values")
    return {
        "mae": mae,
        "rmse": root_mean_squared_error(actual, forecast, multioutput="raw_values"),
        "mape": 100 * mean_absolute_percentage_error(actual, forecast, multioutput="raw_values"),
        "smape": 100 * np.mean(2 * np.abs(error) / (np.abs(actual) + np.abs(forecast)), axis=0),
        "mase": mae / mase_scale,
        "directional_accuracy": np.mean(moved == predicted, axis=0),
    }


def overall(
    per_step: dict[str, np.ndarray], actual: np.ndarray, forecast: np.ndarray
) -> dict[str, float]:
    """One number per metric over all steps (RMSE over all errors, not a mean of RMSEs)."""
    from sklearn.metrics import root_mean_squared_error

    out = {name: float(np.mean(values)) for name, values in per_step.items()}
    out["rmse"] = float(root_mean_squared_error(actual.ravel(), forecast.ravel()))
    return out


def skill(rmse_model: float, rmse_naive: float) -> float:
    """1 - RMSE_model / RMSE_naive: above 0 beats the naive forecast."""
    return 1.0 - rmse_model / rmse_naive if rmse_naive > 0 else float("nan")


def aggregate(values: list[float]) -> dict[str, float]:
    """mean, std (ddof=1) and standard error over folds."""
    array = np.asarray(values, dtype=np.float64)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return {"mean": float(array.mean()), "std": std, "stderr": std / np.sqrt(len(array))}
