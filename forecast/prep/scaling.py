"""Reversible transforms, fitted on training rows only and saved as JSON with the model.

sklearn conventions: `__init__` stores arguments, `fit` learns state ending in `_` and returns
self, `transform` refuses to run unfitted. There is deliberately no `fit_transform` on a whole
series: fit on the training rows, then transform whatever you need.

Values are (..., F): rows (T, F), windows (N, L, F), or 1-D (T,) for a single column. Window-
and return-based transforms need an `anchor` to invert: the last observed value(s) before the
values being inverted, shape (F,) or (N, F).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np

from forecast.config import SCALERS, SKLEARN_SCALERS
from forecast.prep.sklearn_json import estimator_from_dict, estimator_to_dict


class Scaler:
    """Base of the reversible transforms; subclasses fill `kind`, `_fit`, `_forward`, `_inverse`."""

    kind: str
    _state: ClassVar[tuple[str, ...]] = ()

    n_features_in_: int

    def fit(self, values: np.ndarray) -> Self:
        """Learn the transform from training rows `values` (T, F) or (T,)."""
        rows = _as_rows(values, "values")
        self.n_features_in_ = rows.shape[1]
        self._fit(rows)
        return self

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Scale values (..., F) with the fitted state."""
        return self._forward(self._checked(values))

    def inverse_transform(self, values: np.ndarray, anchor: np.ndarray | None = None) -> np.ndarray:
        """Undo `transform`; `anchor` is the last observed value(s) where the kind needs one."""
        return self._inverse(self._checked(values), anchor)

    def needs_anchor(self) -> bool:
        return False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters and fitted state; `scaler_from_dict` rebuilds it."""
        self._require_fitted()
        out: dict[str, Any] = {"kind": self.kind, "n_features_in_": self.n_features_in_}
        out.update({name: getattr(self, name).tolist() for name in self._state})
        return out

    def _require_fitted(self) -> None:
        if not hasattr(self, "n_features_in_"):
            raise RuntimeError(f"this {self.kind} scaler is not fitted yet; call fit() first")

    def _checked(self, values: np.ndarray) -> np.ndarray:
        self._require_fitted()
        array = np.asarray(values, dtype=np.float64)
        width = 1 if array.ndim == 1 else array.shape[-1]
        if array.ndim == 0 or width != self.n_features_in_:
            raise ValueError(
                f"{self.kind} scaler was fitted on {self.n_features_in_} features; "
                f"got values of shape {array.shape}"
            )
        return array

    def _fit(self, rows: np.ndarray) -> None:
        raise NotImplementedError

    def _forward(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _inverse(self, values: np.ndarray, anchor: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError


def _as_rows(values: np.ndarray, name: str) -> np.ndarray:
    rows = np.asarray(values, dtype=np.float64)
    rows = rows[:, None] if rows.ndim == 1 else rows
    if rows.ndim != 2 or len(rows) == 0:
        raise ValueError(
            f"{name} to fit on must be (T, F) or (T,) with T >= 1; got {np.shape(values)}"
        )
    if not np.isfinite(rows).all():
        bad = np.flatnonzero(~np.isfinite(rows).all(axis=1))
        raise ValueError(f"{name} to fit on have NaN or infinite values in rows {bad[:5].tolist()}")
    return rows


def _safe_scale(spread: np.ndarray) -> np.ndarray:
    # a constant column maps to a constant instead of dividing by zero
    return np.where(spread > np.finfo(np.float64).eps, spread, 1.0)


class SklearnScaler(Scaler):
    """A scikit-learn transformer (config.SKLEARN_SCALERS: minmax is MinMaxScaler, robust is
    RobustScaler...) fitted per column on training rows; any shape (..., F) is transformed as
    rows of F columns. Its fitted state is saved as JSON (parameters, arrays and nested
    transformers; no pickle) and rebuilt from sklearn.preprocessing by class name."""

    def __init__(self, kind: str) -> None:
        if kind not in SKLEARN_SCALERS:
            raise ValueError(f"scaler={kind!r} is not one of {', '.join(SKLEARN_SCALERS)}")
        self.kind = kind

    def _fit(self, rows: np.ndarray) -> None:
        from sklearn import preprocessing  # here: the scaler-free models never import it

        transformer = getattr(preprocessing, SKLEARN_SCALERS[self.kind])
        options = {"n_quantiles": min(1000, len(rows))} if self.kind == "quantile" else {}
        self.transformer_ = transformer(**options).fit(rows)

    def _apply(self, values: np.ndarray, how: str) -> np.ndarray:
        lifted = _lift(values)
        flat = lifted.reshape(-1, lifted.shape[-1])
        out = getattr(self.transformer_, how)(flat).reshape(lifted.shape)
        return _same_ndim(values, out)

    def _forward(self, values: np.ndarray) -> np.ndarray:
        return self._apply(values, "transform")

    def _inverse(self, values: np.ndarray, anchor: np.ndarray | None) -> np.ndarray:
        return self._apply(values, "inverse_transform")

    def to_dict(self) -> dict[str, Any]:
        self._require_fitted()
        return {
            "kind": self.kind,
            "n_features_in_": self.n_features_in_,
            "sklearn": estimator_to_dict(self.transformer_),
        }


class WindowScaler(Scaler):
    """Each window relative to its own last observed value: x / last - 1, so trending prices stay
    near 0 and a model that outputs 0 forecasts "no change" (the naive forecast).

    transform takes windows (N, L, F) and uses X[:, -1, :]; `relative` scales any values (N, ...)
    against given anchors (N, F); inverse_transform multiplies back by `anchor` (N, F).
    """

    kind = "window"

    def needs_anchor(self) -> bool:
        return True

    def _fit(self, rows: np.ndarray) -> None:
        pass  # stateless: every window carries its own scale

    def _forward(self, values: np.ndarray) -> np.ndarray:
        if values.ndim != 3:
            raise ValueError(f"window scaling works on windows (N, L, F); got shape {values.shape}")
        return values / _nonzero_anchor(values[:, -1, :])[:, None, :] - 1.0

    def relative(self, values: np.ndarray, anchor: np.ndarray) -> np.ndarray:
        """values (N, K, F) or (N, K) for one feature, scaled against anchor (N, F) or (N,)."""
        base = _nonzero_anchor(np.asarray(anchor, dtype=np.float64))
        array = np.asarray(values, dtype=np.float64)
        if array.ndim == 2:
            return array / base.reshape(-1, 1) - 1.0
        return array / base.reshape(len(array), 1, -1) - 1.0

    def _inverse(self, values: np.ndarray, anchor: np.ndarray | None) -> np.ndarray:
        base = _anchor(anchor, values, self.kind)
        return _same_ndim(values, (_lift(values) + 1.0) * base[..., None, :])


class LogReturnScaler(Scaler):
    """Prices -> standardized log returns; the inverse rebuilds prices from the last observed price.

    transform (T, F) prices -> (T - 1, F) returns, or windows (N, L, F) -> (N, L - 1, F).
    inverse_transform of returns (T', F) or (N, H, F) with anchor (F,) or (N, F) gives the prices
    that follow the anchor.
    """

    kind = "log_return"
    _state = ("mean_", "scale_")

    def needs_anchor(self) -> bool:
        return True

    def _fit(self, rows: np.ndarray) -> None:
        if len(rows) < 2:
            raise ValueError(f"log_return scaling needs at least 2 rows to fit; got {len(rows)}")
        returns = np.diff(np.log(_positive(rows)), axis=0)
        self.mean_ = returns.mean(axis=0)
        self.scale_ = _safe_scale(returns.std(axis=0))

    def _forward(self, values: np.ndarray) -> np.ndarray:
        lifted = _lift(values)
        returns = np.diff(np.log(_positive(lifted)), axis=-2)
        return _same_ndim(values, (returns - self.mean_) / self.scale_)

    def _inverse(self, values: np.ndarray, anchor: np.ndarray | None) -> np.ndarray:
        base = _positive(_anchor(anchor, values, self.kind))
        returns = _lift(values) * self.scale_ + self.mean_
        log_prices = np.log(base)[..., None, :] + np.cumsum(returns, axis=-2)
        return _same_ndim(values, np.exp(log_prices))


def _lift(values: np.ndarray) -> np.ndarray:
    return values[:, None] if values.ndim == 1 else values


def _same_ndim(like: np.ndarray, values: np.ndarray) -> np.ndarray:
    return values[:, 0] if like.ndim == 1 else values


def _positive(values: np.ndarray) -> np.ndarray:
    if not (values > 0).all():
        raise ValueError(
            f"log_return scaling needs positive values; got minimum {float(np.min(values))!r}"
        )
    return values


def _nonzero_anchor(values: np.ndarray) -> np.ndarray:
    if (values == 0).any():
        bad = np.argwhere(values == 0)[:5].tolist()
        raise ValueError(f"window scaling divides by each window's last value; it is 0 at {bad}")
    return values


def _anchor(anchor: np.ndarray | None, values: np.ndarray, kind: str) -> np.ndarray:
    """The anchor as (F,) for rows (T, F), or (N, F) for windows (N, H, F)."""
    if anchor is None:
        raise ValueError(f"{kind} inverse_transform needs anchor=the last observed value(s)")
    lifted = _lift(values)
    shape = (lifted.shape[-1],) if lifted.ndim == 2 else (lifted.shape[0], lifted.shape[-1])
    base = np.asarray(anchor, dtype=np.float64)
    if base.size != int(np.prod(shape)):
        raise ValueError(
            f"anchor must have shape {shape} for values {values.shape}; got {base.shape}"
        )
    return _nonzero_anchor(base.reshape(shape))


_BY_KIND: dict[str, type[Scaler]] = {cls.kind: cls for cls in (WindowScaler, LogReturnScaler)}
if set(_BY_KIND) | set(SKLEARN_SCALERS) != set(SCALERS):  # config.py names them
    raise ImportError(f"scalers {sorted(_BY_KIND)} + {SKLEARN_SCALERS} differ from {SCALERS}")


def make_scaler(kind: str) -> Scaler:
    """An unfitted scaler of `kind` (config.SCALERS): window, log_return or a scikit-learn one."""
    if kind not in SCALERS:
        raise ValueError(f"scaler={kind!r} is not one of {', '.join(SCALERS)}")
    return SklearnScaler(kind) if kind in SKLEARN_SCALERS else _BY_KIND[kind]()


def scaler_from_dict(data: dict[str, Any]) -> Scaler:
    """Rebuild a fitted scaler from `Scaler.to_dict()` output (plain JSON, no pickle); models
    saved before scikit-learn did minmax and standard load as the same transform."""
    kind = data.get("kind")
    if kind not in SCALERS:
        raise ValueError(f"saved scaler kind {kind!r} is not one of {', '.join(SCALERS)}")
    scaler = make_scaler(kind)
    scaler.n_features_in_ = int(data["n_features_in_"])
    if isinstance(scaler, SklearnScaler):
        state = data["sklearn"] if "sklearn" in data else _sklearn_state_of_old(data)
        scaler.transformer_ = estimator_from_dict(state)
        return scaler
    for name in scaler._state:
        setattr(scaler, name, np.asarray(data[name], dtype=np.float64))
    return scaler


def _sklearn_state_of_old(data: dict[str, Any]) -> dict[str, Any]:
    """What scikit-learn fits for the state Stockcast's own minmax and standard scalers saved."""
    n = int(data["n_features_in_"])
    if data["kind"] == "standard":
        scale = np.asarray(data["scale_"], dtype=np.float64)
        fitted = {"mean_": data["mean_"], "scale_": scale.tolist(), "var_": (scale**2).tolist()}
        params: dict[str, Any] = {}
    else:
        low, high = (float(v) for v in data.get("feature_range", (0.0, 1.0)))
        data_min = np.asarray(data["data_min_"], dtype=np.float64)
        data_range = np.asarray(data["data_max_"], dtype=np.float64) - data_min
        scale = (high - low) / np.where(data_range > np.finfo(np.float64).eps, data_range, 1.0)
        fitted = {
            "data_min_": data_min.tolist(),
            "data_max_": data["data_max_"],
            "data_range_": data_range.tolist(),
            "scale_": scale.tolist(),
            "min_": (low - data_min * scale).tolist(),
        }
        params = {"feature_range": {"tuple": [low, high]}}
    arrays = {k: {"array": v, "dtype": "float64"} for k, v in fitted.items()}
    return {
        "class": SKLEARN_SCALERS[data["kind"]],
        "params": params,
        "fitted": {**arrays, "n_features_in_": n, "n_samples_seen_": 0},
    }
