"""ScaleHead: the LSTM's distribution head, the `lstm` interval rule (forecast/intervals.py).

A location-scale head: the location is the point forecast (naive-anchored, untouched by the head,
so the head cannot make the point worse); the head forecasts the scale. An LSTM reads the latest
READ_ROWS days' range features (log return, log high/low, log close/open, overnight gap:
forecast/prep/features.py, feature set "range") of the rows the point model read, and a Linear
layer gives, per horizon step, a correction to the log of the EWMA rule's variance of the log
return from the last close to that step (the head starts as the EWMA rule, and learns what the
range says beyond it). It is trained by the negative log-likelihood of those returns
(DISTRIBUTIONS; docs/benchmarks.md says why the default), with early stopping on its own held-back
last windows. On those same held-back windows, which it never trained on, its variance is rescaled
step by step so that the standardized returns have unit variance: each refit is calibrated on its
own held-out rows (shared/NOTES.md: refits' scales are not exchangeable otherwise), and split
conformal on the earlier folds' scores does the rest, as for every rule.

Shape letters: N origins, L rows read (the point model's rows, less the first: a return needs
the day before), C range columns, H horizon steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from forecast.intervals import SCALE_HEAD_RULE, Volatility
from forecast.models.lstm import run_lstm

RANGE_FEATURES = "range"  # the feature set it reads (forecast.prep.features)
DISTRIBUTIONS = ("gaussian", "student_t")
DEFAULT_DISTRIBUTION = "student_t"  # docs/benchmarks.md: narrower at nominal coverage
STUDENT_NU = 5.0  # degrees of freedom of the Student-t likelihood
HIDDEN = 32  # units of its one LSTM layer
# the latest range rows its LSTM reads (the EWMA anchor reads the whole window): as good as all
# 60 of the default window on the bundled tickers, a third of the cost to fit and to serve
# (docs/benchmarks.md)
READ_ROWS = 20
EPOCHS = 20  # at most; early stopping on the held-back windows
PATIENCE = 3
BATCH = 256
LEARNING_RATE = 3e-3
HELD_BACK = 0.2  # the last share of training windows: early stopping and the rescaling
MIN_WINDOWS = 250  # fewer training windows: no head (the rule is not offered)
MIN_VARIANCE = 1e-12  # floor of a forecast log-return variance


@dataclass(frozen=True)
class ScaleWindows:
    """What the head reads at N origins: the range features of the rows the point model read
    (N, L, C, oldest first) and the last price before each origin (N,)."""

    ranges: np.ndarray
    last: np.ndarray

    def __post_init__(self) -> None:
        if self.ranges.ndim != 3 or len(self.ranges) != len(self.last):
            raise ValueError(
                f"ScaleWindows needs ranges (N, L, C) and last prices (N,); got "
                f"{self.ranges.shape} and {self.last.shape}"
            )
        if not np.isfinite(self.ranges).all() or not (np.asarray(self.last) > 0).all():
            raise ValueError(
                "ScaleWindows needs finite range features and positive last prices: open, "
                "high, low and close must be positive on every row read"
            )


def windows_at(ranges: np.ndarray, target: np.ndarray, origins: np.ndarray, rows: int):
    """ScaleWindows for each origin t: the range rows [t - rows + 1, t) (those of the `rows`
    price rows before t whose day before is among them) and the price at t - 1."""
    starts = np.asarray(origins) - rows + 1
    index = starts[:, None] + np.arange(rows - 1)[None, :]
    last = np.asarray(target)[origins - 1]
    return ScaleWindows(np.asarray(ranges, dtype=np.float32)[index], last)


def _recent(ranges: np.ndarray, rows: int) -> np.ndarray:
    """The rows the LSTM reads: the latest `rows` of each window."""
    return ranges[:, -rows:]


def _anchor_variance(anchor: Volatility, windows: ScaleWindows, horizon: int) -> np.ndarray:
    """(N, H) the EWMA rule's variance of the log return to each step (k times its mean daily
    variance over days 1..k), from the log returns in the windows (range column 0)."""
    returns = np.asarray(windows.ranges[:, :, 0], dtype=np.float64)
    return anchor.mean_variance(returns, horizon) * np.arange(1, horizon + 1)[None, :]


class _Network(nn.Module):
    def __init__(self, columns: int, horizon: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(columns, HIDDEN, batch_first=True)
        self.out = nn.Linear(HIDDEN, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(x) if self.training else run_lstm(self.lstm, x)
        return self.out(h[-1])  # (N, H) log variances


def _nll(log_var: torch.Tensor, z: torch.Tensor, distribution: str) -> torch.Tensor:
    """Mean negative log-likelihood (constants dropped) of returns z under variance exp(log_var)."""
    if distribution == "gaussian":
        return 0.5 * (log_var + z**2 * torch.exp(-log_var)).mean()
    nu = STUDENT_NU
    scale2 = torch.exp(log_var) * (nu - 2) / nu  # a t with this scale has variance exp(log_var)
    return (0.5 * torch.log(scale2) + (nu + 1) / 2 * torch.log1p(z**2 / (nu * scale2))).mean()


def check_distribution(distribution: str) -> str:
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution={distribution!r}; allowed: {', '.join(DISTRIBUTIONS)}")
    return distribution


class ScaleHead:
    """A fitted head: `scale(windows, steps)` gives each origin's price-unit scale per step."""

    def __init__(
        self,
        network: _Network,
        anchor: Volatility,
        center: np.ndarray,
        spread: np.ndarray,
        adjust: np.ndarray,
        distribution: str = DEFAULT_DISTRIBUTION,
        read_rows: int = READ_ROWS,
    ) -> None:
        self.network = network.eval()
        self.read_rows = read_rows
        self.anchor = anchor  # the EWMA rule it corrects
        self.center, self.spread = center.astype(np.float32), spread.astype(np.float32)
        self.adjust = np.asarray(adjust, dtype=np.float64)  # (H,) held-back rescaling
        self.distribution = check_distribution(distribution)

    @property
    def horizon(self) -> int:
        return len(self.adjust)

    @staticmethod
    def can_fit(training_rows: int, rows: int, horizon: int) -> bool:
        """Whether `training_rows` give at least MIN_WINDOWS windows of `rows` rows."""
        return training_rows - rows - horizon + 1 >= MIN_WINDOWS

    @classmethod
    def fit(
        cls,
        ranges: np.ndarray,
        target: np.ndarray,
        rows: int,
        horizon: int,
        *,
        seed: int = 0,
        distribution: str = DEFAULT_DISTRIBUTION,
    ) -> ScaleHead:
        """Fit on every origin of the training rows: range features (T, C) aligned with the
        target prices (T,) (row 0 may be NaN: it is never read), windows of `rows` price rows
        (the point model's), `horizon` steps. ValueError when too few windows (can_fit)."""
        check_distribution(distribution)
        if not cls.can_fit(len(target), rows, horizon):
            raise ValueError(
                f"a scale head needs {MIN_WINDOWS} training windows; {len(target)} rows of "
                f"{rows}-row windows at horizon {horizon} give "
                f"{max(len(target) - rows - horizon + 1, 0)}"
            )
        origins = np.arange(rows, len(target) - horizon + 1)
        windows = windows_at(ranges, target, origins, rows)
        log_price = np.log(np.asarray(target, dtype=np.float64))
        steps = origins[:, None] + np.arange(horizon)[None, :]
        z = log_price[steps] - log_price[origins - 1][:, None]  # (N, H) returns to each step
        seen = ranges[1:].astype(np.float64)
        center, spread = seen.mean(axis=0), seen.std(axis=0) + 1e-8
        X = (_recent(windows.ranges, READ_ROWS) - center) / spread
        anchor = Volatility.of(target)
        base = np.log(_anchor_variance(anchor, windows, horizon))

        held = max(1, round(len(origins) * HELD_BACK))
        n_train = len(origins) - held - (horizon - 1)  # a gap: no training target on a held day
        torch.manual_seed(seed)
        network = _Network(X.shape[2], horizon)
        with torch.no_grad():  # start at the EWMA rule: no correction
            network.out.bias.zero_()
            network.out.weight.mul_(0.1)
        X_t = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        z_t = torch.from_numpy(z.astype(np.float32))
        b_t = torch.from_numpy(base.astype(np.float32))
        train_X, train_z, train_b = X_t[:n_train], z_t[:n_train], b_t[:n_train]
        held_X, held_z, held_b = X_t[-held:], z_t[-held:], b_t[-held:]
        optimizer = torch.optim.Adam(network.parameters(), lr=LEARNING_RATE)
        generator = torch.Generator().manual_seed(seed)
        best, best_state, waited = math.inf, None, 0
        for _ in range(EPOCHS):
            network.train()
            order = torch.randperm(n_train, generator=generator)
            for start in range(0, n_train, BATCH):
                idx = order[start : start + BATCH]
                loss = _nll(network(train_X[idx]) + train_b[idx], train_z[idx], distribution)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            network.eval()
            with torch.no_grad():
                held_loss = float(_nll(network(held_X) + held_b, held_z, distribution))
            if held_loss < best:
                best, waited = held_loss, 0
                best_state = {k: v.clone() for k, v in network.state_dict().items()}
            else:
                waited += 1
                if waited >= PATIENCE:
                    break
        if best_state is not None:
            network.load_state_dict(best_state)
        network.eval()
        with torch.no_grad():
            variance = np.exp((network(held_X) + held_b).double().numpy())
        adjust = np.mean(z[-held:] ** 2 / np.maximum(variance, MIN_VARIANCE), axis=0)
        return cls(network, anchor, center, spread, adjust, distribution)

    @torch.inference_mode()
    def variance(self, windows: ScaleWindows, steps: int) -> np.ndarray:
        """(N, steps) the rescaled variance of the log return from the last close to each step."""
        if not 1 <= steps <= self.horizon:
            raise ValueError(f"the scale head forecasts 1 to {self.horizon} steps; got {steps}")
        X = (_recent(windows.ranges, self.read_rows) - self.center) / self.spread
        out = self.network(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)))
        base = _anchor_variance(self.anchor, windows, self.horizon)
        variance = (np.exp(out.double().numpy()) * base * self.adjust[None, :])[:, :steps]
        return np.maximum(variance, MIN_VARIANCE)

    def scale(self, windows: ScaleWindows, steps: int) -> np.ndarray:
        """(N, steps) the price-unit scale of each origin's steps: the last price times the
        standard deviation of the log return to that step."""
        if not isinstance(windows, ScaleWindows):
            raise TypeError(
                "the lstm rule reads range features: pass ScaleWindows (open, high, low and "
                "close of the rows the model read), not price windows"
            )
        return np.asarray(windows.last, dtype=np.float64)[:, None] * np.sqrt(
            self.variance(windows, steps)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": SCALE_HEAD_RULE,
            "distribution": self.distribution,
            "hidden": HIDDEN,
            "read_rows": self.read_rows,
            "center": self.center.tolist(),
            "spread": self.spread.tolist(),
            "adjust": self.adjust.tolist(),
            "anchor": self.anchor.to_dict(),
            "weights": {k: v.tolist() for k, v in self.network.state_dict().items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScaleHead:
        center = np.asarray(data["center"], dtype=np.float32)
        adjust = np.asarray(data["adjust"], dtype=np.float64)
        if int(data["hidden"]) != HIDDEN:
            raise ValueError(
                f"a scale head of {data['hidden']} units; this Stockcast builds {HIDDEN}"
            )
        network = _Network(len(center), len(adjust))
        network.load_state_dict(
            {k: torch.tensor(v, dtype=torch.float32) for k, v in data["weights"].items()}
        )
        rule = data["anchor"]
        anchor = Volatility(
            float(rule["long_run_variance"]),
            float(rule["halflife"]),
            float(rule["persistence"]),
            str(rule["estimator"]),
        )
        return cls(
            network,
            anchor,
            center,
            np.asarray(data["spread"], dtype=np.float32),
            adjust,
            str(data["distribution"]),
            int(data["read_rows"]),
        )
