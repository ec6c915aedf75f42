"""A fitted scikit-learn transformer as plain JSON and back: its class, its constructor
parameters and every fitted attribute (arrays with their dtype, tuples, dicts, nested
transformers). Only config.SKLEARN_SCALERS' classes are ever rebuilt: no pickle, no import of a
name read from a file."""

from __future__ import annotations

from typing import Any

import numpy as np

from forecast.config import SKLEARN_SCALERS


def estimator_to_dict(estimator: Any) -> dict[str, Any]:
    """A fitted scikit-learn transformer as JSON-ready data: its class, its constructor
    parameters and every fitted attribute. ValueError naming an attribute JSON cannot hold."""
    params = estimator.get_params(deep=False)
    name = type(estimator).__name__
    return {
        "class": name,
        "params": {key: _to_json(value, f"{name}.{key}") for key, value in params.items()},
        "fitted": {
            key: _to_json(value, f"{name}.{key}")
            for key, value in vars(estimator).items()
            if key not in params
        },
    }


def estimator_from_dict(data: dict[str, Any]) -> Any:
    """Rebuild `estimator_to_dict` output; only SKLEARN_SCALERS' classes are ever built."""
    from sklearn import preprocessing

    name = str(data.get("class"))
    if name not in SKLEARN_SCALERS.values():
        raise ValueError(
            f"saved transformer {name!r} is not one of {', '.join(SKLEARN_SCALERS.values())}"
        )
    params = {key: _from_json(value) for key, value in data["params"].items()}
    estimator = getattr(preprocessing, name)(**params)
    for key, value in data["fitted"].items():
        setattr(estimator, key, _from_json(value))
    return estimator


def _to_json(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"tuple": [_to_json(v, where) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: _to_json(v, f"{where}[{k!r}]") for k, v in value.items()}}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return {"array": value.tolist(), "dtype": str(value.dtype)}
    if hasattr(value, "get_params"):
        return {"estimator": estimator_to_dict(value)}
    raise ValueError(f"{where} ({type(value).__name__}) cannot be saved as JSON")


def _from_json(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if "tuple" in value:
        return tuple(_from_json(v) for v in value["tuple"])
    if "dict" in value:
        return {k: _from_json(v) for k, v in value["dict"].items()}
    if "array" in value:
        return np.asarray(value["array"], dtype=value["dtype"])
    return estimator_from_dict(value["estimator"])
