"""A fitted Forecaster on disk: JSON config, safetensors weights and JSON calibration, no
pickle anywhere a user may load someone else's file (Forecaster.save and Forecaster.load)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from forecast.config import LSTMConfig, TrainConfig, WindowConfig
from forecast.intervals import Calibration
from forecast.models import NetworkFit, StackedLSTM
from forecast.prep.encoding import WindowEncoder

if TYPE_CHECKING:
    from forecast.forecaster import Forecaster

CONFIG_FILE, WEIGHTS_FILE = "forecaster.json", "model.safetensors"
CALIBRATION_FILE = "calibration.json"  # the prediction intervals' calibration, when it has one
# 3: the network's fitted state ("fitted": width, horizon, naive forecast) apart from the
# user's LSTMConfig; 2 kept them in "lstm"; 1 also had no residual networks
FORMAT_VERSION = 3
READABLE_FORMATS = (1, 2, 3)
_FITTED_FIELDS = ("n_features", "horizon", "naive_column", "naive_level")


def save(forecaster: Forecaster, directory: str | Path) -> Path:
    """Write a fitted forecaster into `directory`; returns it."""
    from safetensors.torch import save as safetensors_bytes

    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    weights = forecaster.model_.state_dict()
    state = {k: v.detach().cpu().contiguous() for k, v in weights.items()}
    # bytes written by plain open(): the file gets the umask's mode like the JSON beside it
    # (safetensors' save_file creates it 0600)
    (path / WEIGHTS_FILE).write_bytes(safetensors_bytes(state))
    (path / CONFIG_FILE).write_text(json.dumps(to_dict(forecaster), indent=2))
    if forecaster.calibration_ is not None:
        calibration = forecaster.calibration_.to_dict()
        (path / CALIBRATION_FILE).write_text(json.dumps(calibration, indent=2))
    return path


def to_dict(forecaster: Forecaster) -> dict[str, Any]:
    """forecaster.json: the configs, the network's fitted state, the columns and the scaling."""
    return {
        "format_version": FORMAT_VERSION,
        "window": asdict(forecaster.window),
        "lstm": asdict(forecaster.lstm),
        "fitted": asdict(forecaster.model_.fitted),
        "train": asdict(forecaster.train),
        "columns": list(forecaster.columns_),
        "trained_until": forecaster.trained_until_.strftime("%Y-%m-%d"),
        "encoder": forecaster.encoder_.to_dict(),
    }


def load(directory: str | Path) -> Forecaster:
    """The Forecaster saved in `directory`, on the CPU (whatever device trained it).
    FileNotFoundError when there is none; ValueError for a format this version cannot read."""
    from safetensors.torch import load_file

    from forecast.forecaster import Forecaster

    path = Path(directory)
    if not (path / CONFIG_FILE).is_file() or not (path / WEIGHTS_FILE).is_file():
        raise FileNotFoundError(
            f"{path} holds no saved Forecaster ({CONFIG_FILE} + {WEIGHTS_FILE})"
        )
    data = json.loads((path / CONFIG_FILE).read_text())
    version = data.get("format_version")
    if version not in READABLE_FORMATS:
        raise ValueError(
            f"{path}: format_version {version!r}; this Stockcast reads {READABLE_FORMATS}"
        )
    lstm, fitted = _saved_network(data, version)
    forecaster = Forecaster(
        WindowConfig.from_dict(data["window"]),
        LSTMConfig.from_dict(lstm),
        TrainConfig.from_dict(data["train"]),
    )
    model = StackedLSTM(forecaster.lstm, NetworkFit(**fitted))
    model.load_state_dict(load_file(str(path / WEIGHTS_FILE), device="cpu"))
    forecaster.model_ = model.eval()
    forecaster.encoder_ = WindowEncoder.from_dict(data["encoder"])
    forecaster.columns_ = tuple(data["columns"])
    forecaster.trained_until_ = pd.Timestamp(data["trained_until"])
    if (path / CALIBRATION_FILE).is_file():  # models saved before intervals have none
        calibration = json.loads((path / CALIBRATION_FILE).read_text())
        forecaster.calibration_ = Calibration.from_dict(calibration)
    return forecaster


def _saved_network(data: dict[str, Any], version: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A saved model's LSTMConfig fields and NetworkFit fields, whatever its format."""
    if version >= 3:
        return data["lstm"], data["fitted"]
    lstm = dict(data["lstm"]) if version == 2 else {**data["lstm"], "residual": False}
    fitted = {name: lstm.pop(name) for name in _FITTED_FIELDS if name in lstm}
    return lstm, fitted
