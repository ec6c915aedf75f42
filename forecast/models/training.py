"""The training loop: batching, early stopping, LR decay, callbacks (device.py: where it runs).

Fast path for in-memory windows: tensors go to the device once, every epoch draws a fresh
permutation, batches are index slices (no DataLoader), and losses accumulate on the device so
there is one host sync per epoch, not per batch.
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch
from torch import nn

from forecast.config import TrainConfig
from forecast.models.device import autocast_dtype, cpu_threads, resolve_device
from forecast.models.lstm import StackedLSTM
from forecast.models.progress import ProgressBar

INFERENCE_CHUNK = 4096  # windows per forward pass without gradients: bounds memory, not speed


@dataclass(frozen=True)
class WindowedData:
    """Training windows: X (N, lookback, F), y (N, horizon), y_steps (N, lookback) for per_step."""

    X: np.ndarray
    y: np.ndarray
    y_steps: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.X.ndim != 3 or self.y.ndim != 2 or len(self.X) != len(self.y):
            raise ValueError(
                f"X must be (N, lookback, F) and y (N, horizon) with the same N; "
                f"got {self.X.shape} and {self.y.shape}"
            )
        if self.y_steps is not None and self.y_steps.shape != self.X.shape[:2]:
            raise ValueError(
                f"y_steps must be (N, lookback) = {self.X.shape[:2]}; got {self.y_steps.shape}"
            )


@dataclass
class TrainResult:
    """Per-epoch history (1-based epochs), the best epoch, and how the run ended."""

    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int = 0
    best_val_loss: float = math.nan
    epochs_run: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    device: str = "cpu"
    n_train: int = 0
    n_val: int = 0
    target_variance: float = math.nan  # of the scaled training targets: the loss of a constant
    # the validation loss before any training: for a residual network, the naive forecast's
    naive_val_loss: float = math.nan


class Callback(Protocol):
    """Receives each epoch's metrics: epoch (1-based), train_loss, val_loss (NaN without
    validation), lr, seconds."""

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None: ...


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def split_train_val(n: int, val_fraction: float, horizon: int) -> tuple[int, int, int]:
    """(n_train, gap, n_val): the last n_val windows validate, after a gap of horizon - 1 windows
    so no training target falls on a validation target's day."""
    n_val = 0 if val_fraction == 0 else max(1, round(n * val_fraction))
    gap = horizon - 1 if n_val else 0
    n_train = n - n_val - gap
    if n_train < 1:
        raise ValueError(
            f"{n} windows are too few for val_fraction={val_fraction} and a gap of {gap}: "
            f"{n_val} validate, {gap} are the gap, none would train"
        )
    return n_train, gap, n_val


def train(
    model: StackedLSTM,
    data: WindowedData,
    config: TrainConfig,
    callbacks: Sequence[Callback] = (),
) -> TrainResult:
    """Fit `model` in place on `data`; the best epoch's weights (by validation loss, or the last
    epoch without validation) are restored at the end. Raises ValueError for bad inputs."""
    per_step = model.config.head == "per_step"
    if per_step and data.y_steps is None:
        raise ValueError(
            "head='per_step' trains on next-value targets: pass WindowedData(y_steps=...)"
        )
    target = data.y_steps if per_step and data.y_steps is not None else data.y
    if data.y.shape[1] != model.fitted.horizon and not per_step:
        raise ValueError(
            f"y has horizon {data.y.shape[1]}; the model forecasts {model.fitted.horizon}"
        )
    device = resolve_device(config.device)
    amp = autocast_dtype(config.precision, device)
    n_train, gap, n_val = split_train_val(len(data.X), config.val_fraction, model.fitted.horizon)
    seed_everything(config.seed)

    with cpu_threads(config.threads):
        X = _to_device(data.X, device)
        Y = _to_device(target, device)
        model.to(device)
        loop = _Loop(model, config, device, amp, per_step)
        return loop.run(X[:n_train], Y[:n_train], X[n_train + gap :], Y[n_train + gap :], callbacks)


def _to_device(values: np.ndarray, device: torch.device) -> torch.Tensor:
    # one contiguous float32 copy (windows are read-only views), moved to the device once
    return torch.from_numpy(np.array(values, dtype=np.float32, order="C")).to(device)


class _Loop:
    def __init__(
        self,
        model: StackedLSTM,
        config: TrainConfig,
        device: torch.device,
        amp: torch.dtype | None,
        per_step: bool,
    ) -> None:
        self.model, self.config, self.device, self.amp, self.per_step = (
            model,
            config,
            device,
            amp,
            per_step,
        )
        optimizer = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
        self.optimizer = optimizer(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        self.plateau = (
            torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, factor=config.lr_factor, patience=config.lr_patience
            )
            if config.lr_patience
            else None
        )
        self.scaler = torch.amp.GradScaler("cuda") if amp == torch.float16 else None
        self.generator = torch.Generator(device=device).manual_seed(config.seed)
        self.loss_fn = nn.MSELoss()
        self.naive_losses: torch.Tensor | None = None  # epoch 0's per-window validation losses

    def _autocast(self):  # noqa: ANN202
        return torch.autocast(self.device.type, dtype=self.amp) if self.amp else nullcontext()

    def _predict(self, xb: torch.Tensor) -> torch.Tensor:
        return self.model.forward_sequence(xb) if self.per_step else self.model(xb)

    def _epoch(self, X: torch.Tensor, Y: torch.Tensor) -> float:
        self.model.train()
        batch = self.config.batch_size
        order = torch.randperm(len(X), generator=self.generator, device=self.device)
        total = torch.zeros((), device=self.device)
        for start in range(0, len(X), batch):
            idx = order[start : start + batch]
            xb, yb = X[idx], Y[idx]
            with self._autocast():
                loss = self.loss_fn(self._predict(xb).float(), yb)
            self.optimizer.zero_grad(set_to_none=True)
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.unscale_(self.optimizer)
            else:
                loss.backward()
            if self.config.grad_clip is not None:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            if self.scaler is not None:
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                self.optimizer.step()
            total += loss.detach() * len(idx)
        return float(total) / len(X)  # the epoch's one host sync

    @torch.inference_mode()
    def _window_losses(self, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        """Each window's squared error, averaged over its targets: (N,) on the device."""
        self.model.eval()
        losses = []
        for start in range(0, len(X), INFERENCE_CHUNK):
            stop = start + INFERENCE_CHUNK
            with self._autocast():
                pred = self._predict(X[start:stop]).float()
            losses.append(((pred - Y[start:stop]) ** 2).mean(dim=1))
        return torch.cat(losses) if losses else torch.zeros(0, device=self.device)

    def _evaluate(self, X: torch.Tensor, Y: torch.Tensor) -> tuple[float, float, float]:
        """Validation loss, and its gain over the naive forecast (epoch 0 of a residual
        network) with the standard error of that paired per-window difference (NaN, NaN
        without one)."""
        if len(X) == 0:
            return math.nan, math.nan, math.nan
        losses = self._window_losses(X, Y)
        if self.naive_losses is None:
            return float(losses.mean()), math.nan, math.nan
        gain = self.naive_losses - losses
        stderr = gain.std() / math.sqrt(len(gain)) if len(gain) > 1 else torch.zeros(())
        stats = torch.stack([losses.mean(), gain.mean(), stderr]).tolist()  # one host sync
        return stats[0], stats[1], stats[2]

    def _beats_naive(self, metrics: dict[str, float]) -> bool:
        """Without a naive floor, any improvement counts; with one, the validation gain over
        naive must exceed naive_z standard errors."""
        if self.naive_losses is None:
            return True
        return metrics["naive_gain"] > self.config.naive_z * metrics["naive_gain_se"]

    def _fit_epoch(
        self,
        epoch: int,
        X: torch.Tensor,
        Y: torch.Tensor,
        X_val: torch.Tensor,
        Y_val: torch.Tensor,
        result: TrainResult,
    ) -> tuple[float, dict[str, float]]:
        """Train and validate one epoch, record it in `result.history`, step the LR plateau;
        returns the loss early stopping watches and the epoch's metrics."""
        lr = self.optimizer.param_groups[0]["lr"]
        train_loss = self._epoch(X, Y)
        val_loss, gain, gain_se = self._evaluate(X_val, Y_val)
        if not math.isfinite(train_loss):
            raise FloatingPointError(
                f"training diverged at epoch {epoch} (loss {train_loss}); lower "
                f"lr={self.config.lr} or set grad_clip"
            )
        result.history["train_loss"].append(train_loss)
        result.history["val_loss"].append(val_loss)
        result.history["lr"].append(lr)
        result.history["naive_gain"].append(gain)
        result.history["naive_gain_se"].append(gain_se)
        monitored = val_loss if len(X_val) else train_loss
        if self.plateau is not None:
            self.plateau.step(monitored)
        metrics = {"train_loss": train_loss, "val_loss": val_loss, "lr": lr}
        return monitored, {**metrics, "naive_gain": gain, "naive_gain_se": gain_se}

    def _new_result(self, Y: torch.Tensor, n_val: int) -> TrainResult:
        return TrainResult(
            history={
                "train_loss": [],
                "val_loss": [],
                "lr": [],
                "naive_gain": [],  # validation loss below naive's (residual networks)
                "naive_gain_se": [],  # its standard error over validation windows
            },
            device=str(self.device),
            n_train=len(Y),
            n_val=n_val,
            target_variance=float(Y.var()) if len(Y) > 1 else math.nan,
        )

    def run(
        self,
        X: torch.Tensor,
        Y: torch.Tensor,
        X_val: torch.Tensor,
        Y_val: torch.Tensor,
        callbacks: Sequence[Callback],
    ) -> TrainResult:
        config = self.config
        result = self._new_result(Y, len(X_val))
        show = config.progress if config.progress is not None else ProgressBar.wanted()
        bar = ProgressBar(config.epochs) if show and config.epochs else None
        best_state, best, waited = None, math.inf, 0
        started = time.perf_counter()
        if self.model.config.residual and len(X_val):
            # epoch 0, the naive forecast, is a candidate: training has to beat it on validation
            self.naive_losses = self._window_losses(X_val, Y_val)
            result.naive_val_loss = best = float(self.naive_losses.mean())
            best_state = copy.deepcopy(self.model.state_dict())
        for epoch in range(1, config.epochs + 1):
            monitored, metrics = self._fit_epoch(epoch, X, Y, X_val, Y_val, result)
            metrics["seconds"] = time.perf_counter() - started
            improved = monitored < best - config.min_delta or (best_state is None and epoch == 1)
            if improved and self._beats_naive(metrics):
                best, waited, result.best_epoch = monitored, 0, epoch
                best_state = copy.deepcopy(self.model.state_dict())
            else:
                waited += 1
            for callback in callbacks:
                callback.on_epoch_end(epoch, metrics)
            if bar is not None:
                bar.update(epoch, metrics)
            result.epochs_run = epoch
            if config.patience is not None and len(X_val) and waited >= config.patience:
                result.stopped_early = True
                break
        if bar is not None:
            bar.close()
        if best_state is not None and len(X_val):
            self.model.load_state_dict(best_state)  # early stopping keeps the best epoch
        else:
            result.best_epoch = result.epochs_run
        result.best_val_loss = (
            result.history["val_loss"][result.best_epoch - 1]
            if result.best_epoch
            else result.naive_val_loss
        )
        result.seconds = time.perf_counter() - started
        self.model.eval()
        return result
