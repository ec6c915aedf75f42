"""Price rows <-> model-space windows: scaling fitted on training rows only, reversible to prices.

A forecast origin t means: the model sees rows [t - lookback, t) and forecasts target rows
[t, t + horizon). The encoder turns origins into X (N, lookback, F), scaled targets y (N, horizon)
and the anchors (the target price at t - 1) that `decode` needs to return to price units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from forecast.config import SCALER_ROWS, WindowConfig
from forecast.prep.scaling import Scaler, WindowScaler, make_scaler, scaler_from_dict
from forecast.prep.windowing import make_windows


@dataclass(frozen=True)
class Encoded:
    X: np.ndarray  # (N, lookback, F) model inputs
    y: np.ndarray | None  # (N, horizon) scaled targets, None when the future is unknown
    y_steps: np.ndarray | None  # (N, lookback) scaled next-value targets (per_step head)
    anchor: np.ndarray  # (N,) the target price at t - 1 for each origin t
    origins: np.ndarray  # (N,) row index t of each origin


class WindowEncoder:
    """Fit on training rows; encode any origins whose history lies in the rows given."""

    def __init__(self, *, scaler: str, lookback: int, horizon: int) -> None:
        self.scaler = scaler
        self.lookback = lookback
        self.horizon = horizon

    @property
    def offset(self) -> int:
        """Rows consumed before the first model-space row (config.SCALER_ROWS: log returns need
        a previous price)."""
        return SCALER_ROWS.get(self.scaler, 0)

    @property
    def first_origin(self) -> int:
        """The first feature row a forecast can start at: the lookback, plus the offset."""
        return self.lookback + self.offset

    @classmethod
    def for_window(cls, window: WindowConfig) -> WindowEncoder:
        """The unfitted encoder of a WindowConfig (its defaults are WindowConfig's)."""
        return cls(scaler=window.scaler, lookback=window.lookback, horizon=window.horizon)

    def fit(self, features: np.ndarray, target: np.ndarray) -> WindowEncoder:
        """Learn scaling from training rows only: features (T, F), target (T,)."""
        if len(features) != len(target):
            raise ValueError(f"features ({len(features)} rows) and target ({len(target)}) differ")
        self.feature_scaler_: Scaler = make_scaler(self.scaler).fit(features)
        self.target_scaler_: Scaler = make_scaler(self.scaler).fit(target)
        self.n_features_in_ = features.shape[1]
        return self

    def encode(
        self, features: np.ndarray, target: np.ndarray, origins: np.ndarray, *, targets: bool = True
    ) -> Encoded:
        """Windows for `origins` (row indices, increasing); with `targets`, t + horizon <= T."""
        if not hasattr(self, "n_features_in_"):
            raise RuntimeError("WindowEncoder is not fitted yet; call fit() on training rows first")
        origins = np.asarray(origins, dtype=np.int64)
        last_allowed = len(target) - (self.horizon if targets else 0)
        if len(origins) == 0 or origins[0] < self.first_origin or origins[-1] > last_allowed:
            raise ValueError(
                f"origins must lie in [{self.first_origin}, {last_allowed}] for {len(target)} rows "
                f"(lookback={self.lookback}, horizon={self.horizon}); got "
                f"{origins[:1].tolist()}..{origins[-1:].tolist()}"
            )
        anchor = np.asarray(target, dtype=np.float64)[origins - 1]
        z_features, z_target = self._rows(features, target)
        at = origins - self.offset  # the origins' rows in model space
        X, y = make_windows(
            z_features, z_target, self.lookback, self.horizon, origins=at, targets=targets
        )
        y_steps = None
        if targets:  # the value after each input step: the target's windows one row later
            (steps, _) = make_windows(
                z_target, z_target, self.lookback, 1, origins=at + 1, targets=False
            )
            y_steps = steps[:, :, 0]
        if self.scaler == "window":
            X = self.feature_scaler_.transform(X)  # each window over its last row
            if y is not None and y_steps is not None:
                relative = cast(WindowScaler, self.target_scaler_).relative
                y, y_steps = relative(y, anchor), relative(y_steps, anchor)
        return Encoded(X.astype(np.float32), y, y_steps, anchor, origins)

    def naive_level(self) -> float:
        """The naive forecast (tomorrow equals today) in model space where it is a constant:
        a zero log return standardized; 0 for the window scaler (relative to the last price).
        For minmax and standard it is the target's last input, not a constant: 0 here."""
        if self.scaler != "log_return":
            return 0.0
        scaler = self.target_scaler_
        return float(-np.ravel(scaler.mean_)[0] / np.ravel(scaler.scale_)[0])  # type: ignore[attr-defined]

    def transforms_alike(self, features: np.ndarray, target: np.ndarray, column: int) -> bool:
        """Whether input `column` is the target scaled the same way (rows of `features`)."""
        if self.scaler == "window":  # both relative to the window's last price
            return bool(np.allclose(features[:, column], target))
        z_features, z_target = self._rows(features, target)
        return bool(np.allclose(z_features[:, column], z_target, rtol=1e-5, atol=1e-6))

    def _rows(self, features: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.scaler == "window":  # scaled per window in encode()
            return np.asarray(features, dtype=np.float64), np.asarray(target, dtype=np.float64)
        return self.feature_scaler_.transform(features), self.target_scaler_.transform(target)

    def decode(self, predictions: np.ndarray, anchor: np.ndarray) -> np.ndarray:
        """Model-space forecasts (N, H) -> prices (N, H); anchor (N,) from `encode`."""
        pred = np.asarray(predictions, dtype=np.float64)
        if self.target_scaler_.needs_anchor():  # window, log_return: relative to the last price
            return self.target_scaler_.inverse_transform(pred[:, :, None], anchor[:, None])[:, :, 0]
        return self.target_scaler_.inverse_transform(pred.reshape(-1)).reshape(pred.shape)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scaler": self.scaler,
            "lookback": self.lookback,
            "horizon": self.horizon,
            "n_features_in_": self.n_features_in_,
            "feature_scaler_": self.feature_scaler_.to_dict(),
            "target_scaler_": self.target_scaler_.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WindowEncoder:
        encoder = cls(
            scaler=data["scaler"], lookback=int(data["lookback"]), horizon=int(data["horizon"])
        )
        encoder.n_features_in_ = int(data["n_features_in_"])
        encoder.feature_scaler_ = scaler_from_dict(data["feature_scaler_"])
        encoder.target_scaler_ = scaler_from_dict(data["target_scaler_"])
        return encoder
