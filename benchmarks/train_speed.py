"""Training and inference speed on the seed workload, against references measured in this run.

    python benchmarks/train_speed.py [--repeats 3] [--epochs 10] [--device auto]

Workload: 2,500 daily prices of a seeded geometric Brownian motion, min-max scaled, lookback
60, 1 feature, horizon 1 (2,440 windows); LSTM 64-32-16 + Dense(1), Adam lr 1e-3, MSE, 10 epochs,
batch 32 and 256. Contenders, interleaved and repeated, median reported:
- Stockcast's `forecast.models.training.train` (val_fraction=0: the same work as the others),
  also with recurrent_dropout=0.2 to show what the DropConnect costs;
- a bare PyTorch loop: nn.LSTM stack + Linear, DataLoader(shuffle=True), Adam;
- Keras 3 on TensorFlow, the same model, when `keras` and `tensorflow-cpu` are installed
  (`pip install -e ".[bench]"`); skipped with a message otherwise.
Also: single-window inference latency, and achieved GFLOP/s against a 4096^2 fp32 matmul.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from forecast.config import LSTMConfig, TrainConfig
from forecast.models import StackedLSTM
from forecast.models.device import physical_cores, resolve_device
from forecast.models.training import WindowedData, seed_everything, train
from forecast.prep.scaling import make_scaler
from forecast.prep.windowing import make_windows

LOOKBACK, HORIZON, HIDDEN = 60, 1, (64, 32, 16)
FLOP_PER_WINDOW_STEP = 11.8e6  # forward + backward of the 64-32-16 model on one 60-step window


def gbm_windows(rows: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    prices = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, rows)))
    scaled = make_scaler("minmax").fit(prices).transform(prices)
    X, y = make_windows(scaled.astype(np.float32), scaled, LOOKBACK, HORIZON)
    return np.ascontiguousarray(X), np.ascontiguousarray(y, dtype=np.float32)


def stockcast(X, y, batch, epochs, device, recurrent_dropout=0.0) -> Callable[[], None]:
    def run() -> None:
        seed_everything(0)
        model = StackedLSTM(LSTMConfig(hidden_sizes=HIDDEN, recurrent_dropout=recurrent_dropout))
        config = TrainConfig(
            epochs=epochs, batch_size=batch, val_fraction=0.0, device=device, progress=False
        )
        train(model, WindowedData(X, y), config)
        _sync(device)

    return run


class BareLSTM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l1 = nn.LSTM(1, 64, batch_first=True)
        self.l2 = nn.LSTM(64, 32, batch_first=True)
        self.l3 = nn.LSTM(32, 16, batch_first=True)
        self.out = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, _ = self.l1(x)
        x, _ = self.l2(x)
        _, (h, _) = self.l3(x)
        return self.out(h[-1])


def bare_torch(X, y, batch, epochs, device) -> Callable[[], None]:
    def run() -> None:
        torch.manual_seed(0)
        model = BareLSTM().to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loader = DataLoader(
            TensorDataset(torch.from_numpy(X), torch.from_numpy(y)), batch_size=batch, shuffle=True
        )
        loss_fn = nn.MSELoss()
        for _ in range(epochs):
            for xb, yb in loader:
                xb, yb = xb.to(device), yb.to(device)
                optimizer.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                optimizer.step()
        _sync(device)

    return run


def keras_model(keras: Any) -> Any:
    """Keras' stacked LSTM stock model: LSTM(64) -> LSTM(32) -> LSTM(16) -> Dense(1)."""
    return keras.Sequential(
        [
            keras.Input((LOOKBACK, 1)),
            keras.layers.LSTM(64, return_sequences=True),
            keras.layers.LSTM(32, return_sequences=True),
            keras.layers.LSTM(16),
            keras.layers.Dense(1),
        ]
    )


def keras_tf(X, y, batch, epochs) -> Callable[[], None] | None:
    try:
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras
    except ImportError:
        return None
    if keras.backend.backend() != "tensorflow":
        return None

    def run() -> None:
        keras.utils.set_random_seed(0)
        model = keras_model(keras)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        model.fit(X, y, batch_size=batch, epochs=epochs, verbose=0, shuffle=True)

    return run


def keras_inference_ms(X: np.ndarray, calls: int) -> float | None:
    try:
        import keras
    except ImportError:
        return None
    model = keras_model(keras)
    window = X[:1]
    model.predict_on_batch(window)
    return _median_ms(lambda: model.predict_on_batch(window), calls)


def _sync(device: str) -> None:
    if resolve_device(device).type == "cuda":
        torch.cuda.synchronize()


def _median_ms(func: Callable[[], object], calls: int) -> float:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def inference_ms(X: np.ndarray, device: str, calls: int, threads: int) -> float:
    torch.set_num_threads(threads)
    model = StackedLSTM(LSTMConfig(hidden_sizes=HIDDEN)).to(resolve_device(device)).eval()
    window = torch.from_numpy(X[:1]).to(resolve_device(device))

    def once() -> None:
        with torch.inference_mode():
            model(window)
        _sync(device)

    once()
    return _median_ms(once, calls)


def matmul_gflops(device: str, repeats: int = 5) -> float:
    dev = resolve_device(device)
    a, b = torch.randn(4096, 4096, device=dev), torch.randn(4096, 4096, device=dev)
    a @ b
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        _sync(device)
        seconds.append(time.perf_counter() - started)
    return 2 * 4096**3 / statistics.median(seconds) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 256])
    parser.add_argument("--no-keras", action="store_true", help="skip Keras even if installed")
    args = parser.parse_args()

    device = str(resolve_device(args.device))
    threads = physical_cores()
    torch.set_num_threads(threads)
    X, y = gbm_windows()
    contenders: dict[tuple[str, int], Callable[[], None]] = {}
    for batch in args.batches:
        contenders[("bare PyTorch loop (reference)", batch)] = bare_torch(
            X, y, batch, args.epochs, device
        )
        contenders[("Stockcast train()", batch)] = stockcast(X, y, batch, args.epochs, device)
        contenders[("Stockcast, recurrent_dropout=0.2", batch)] = stockcast(
            X, y, batch, args.epochs, device, 0.2
        )
        keras_run = None if args.no_keras else keras_tf(X, y, batch, args.epochs)
        if keras_run is not None and device == "cpu":
            contenders[("Keras 3 / TensorFlow", batch)] = keras_run
    if args.no_keras or keras_tf(X, y, 32, 1) is None:
        print("Keras/TensorFlow: skipped (install with pip install -e '.[bench]')", file=sys.stderr)

    # one untimed epoch of the bare loop warms up oneDNN's kernels for everyone
    torch.set_num_threads(threads)
    bare_torch(X, y, 32, 1, device)()
    seconds: dict[tuple[str, int], list[float]] = {key: [] for key in contenders}
    for repeat in range(args.repeats):
        for key, run in contenders.items():
            torch.set_num_threads(threads)
            started = time.perf_counter()
            run()
            seconds[key].append(time.perf_counter() - started)
            print(
                f"repeat {repeat + 1}: {key[0]} batch {key[1]}: {seconds[key][-1]:.2f} s",
                file=sys.stderr,
            )

    peak = matmul_gflops(device)
    gpu = torch.cuda.get_device_name() if device.startswith("cuda") else None
    print(
        f"machine: {gpu or platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} logical CPUs, "
        f"torch {torch.__version__}, {threads} threads, device {device}"
    )
    print(
        f"workload: {len(X):,} windows x lookback {LOOKBACK}, LSTM 64-32-16 + Dense(1), "
        f"{args.epochs} epochs; median of {args.repeats}"
    )
    print()
    print("| contender | batch | seconds (median) | vs bare PyTorch | GFLOP/s |")
    print("|---|---|---|---|---|")
    for batch in args.batches:
        reference = statistics.median(seconds[("bare PyTorch loop (reference)", batch)])
        for (name, b), times in seconds.items():
            if b != batch:
                continue
            median = statistics.median(times)
            gflops = FLOP_PER_WINDOW_STEP * len(X) * args.epochs / median / 1e9
            print(f"| {name} | {batch} | {median:.2f} | {median / reference:.3f}x | {gflops:.2f} |")
    print()
    print(f"4096x4096 fp32 matmul on this machine: {peak:.1f} GFLOP/s")
    one = inference_ms(X, device, 2000, 1)
    all_threads = inference_ms(X, device, 2000, threads)
    print(
        f"single-window inference (1, 60, 1), median of 2000: {one:.3f} ms at 1 thread, "
        f"{all_threads:.3f} ms at {threads} threads"
    )
    if not args.no_keras and device == "cpu":
        keras_ms = keras_inference_ms(X, 200)
        if keras_ms is not None:
            print(f"Keras predict_on_batch, same window, median of 200: {keras_ms:.3f} ms")


if __name__ == "__main__":
    main()
