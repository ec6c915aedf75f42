import math
import time

import numpy as np
import pytest
import torch

from forecast.config import LSTMConfig, TrainConfig
from forecast.models import StackedLSTM
from forecast.models.training import (
    WindowedData,
    seed_everything,
    split_train_val,
    train,
)
from forecast.prep.windowing import make_windows


def sine_windows(rows=1200, lookback=30, horizon=1, period=50):
    wave = np.sin(2 * np.pi * np.arange(rows) / period)
    X, y = make_windows(wave.astype(np.float32), wave, lookback, horizon)
    return X, y, wave


def noisy_windows(rows=400, lookback=10, seed=0):
    series = np.random.default_rng(seed).normal(size=rows).cumsum()
    series = (series - series.mean()) / series.std()
    return make_windows(series.astype(np.float32), series, lookback, 1)


@pytest.fixture
def tiny():
    return TrainConfig(epochs=2, batch_size=32, device="cpu", threads=1, progress=False)


def test_learns_a_noiseless_sine_wave():
    X, y, _ = sine_windows()
    seed_everything(0)
    model = StackedLSTM(LSTMConfig(hidden_sizes=(32, 16)))
    started = time.perf_counter()
    result = train(
        model, WindowedData(X, y), TrainConfig(epochs=30, lr=1e-2, batch_size=64, progress=False)
    )
    assert time.perf_counter() - started < 60  # a few seconds on 2 cores; generous for shared CI
    with torch.inference_mode():
        pred = model(torch.from_numpy(np.ascontiguousarray(X[-200:]))).numpy()
    rmse = float(np.sqrt(((pred - y[-200:]) ** 2).mean()))
    assert rmse < 0.01
    assert math.sqrt(result.best_val_loss) < 0.01


@pytest.mark.parametrize("head", ["per_step", "seq2seq"])
def test_other_heads_learn_the_sine_wave(head):
    X, y, wave = sine_windows(rows=600, horizon=3)
    # the value after each input step: the wave's windows one row later
    steps = make_windows(wave, wave, 30, 3, origins=range(31, len(X) + 31), targets=False)[0][
        ..., 0
    ]
    seed_everything(0)
    model = StackedLSTM(LSTMConfig(hidden_sizes=(16,), head=head), horizon=3)
    result = train(
        model,
        WindowedData(X, y, steps),
        TrainConfig(epochs=15, lr=1e-2, batch_size=64, progress=False),
    )
    assert result.history["val_loss"][-1] < result.history["val_loss"][0] / 5
    with torch.inference_mode():
        pred = model(torch.from_numpy(np.ascontiguousarray(X[-50:]))).numpy()
    assert float(np.sqrt(((pred - y[-50:]) ** 2).mean())) < 0.1


def test_history_has_one_entry_per_epoch(tiny):
    X, y = noisy_windows()
    result = train(StackedLSTM(LSTMConfig(hidden_sizes=(8,))), WindowedData(X, y), tiny)
    assert result.epochs_run == 2 and len(result.history["train_loss"]) == 2
    assert len(result.history["val_loss"]) == 2 and result.history["lr"] == [1e-3, 1e-3]
    assert result.n_val == 39 and result.n_train == len(X) - 39
    assert result.device == "cpu"


def test_early_stopping_restores_the_best_epoch():
    X, y = noisy_windows(rows=300)
    seed_everything(0)
    model = StackedLSTM(LSTMConfig(hidden_sizes=(32,)))
    # a learning rate far too high makes validation worse after the first epochs
    config = TrainConfig(epochs=40, lr=0.05, patience=3, val_fraction=0.3, progress=False)
    snapshots = []

    class Snapshot:
        def on_epoch_end(self, epoch, metrics):
            snapshots.append({k: v.clone() for k, v in model.state_dict().items()})

    result = train(model, WindowedData(X, y), config, callbacks=[Snapshot()])
    val = result.history["val_loss"]
    assert result.stopped_early
    assert result.epochs_run == result.best_epoch + 3
    assert result.best_epoch == int(np.argmin(val)) + 1
    assert result.best_val_loss == min(val)
    best = snapshots[result.best_epoch - 1]
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, best[name])


def test_same_seed_same_weights_and_losses(tiny):
    X, y = noisy_windows()
    runs = []
    for _ in range(2):
        seed_everything(7)
        model = StackedLSTM(LSTMConfig(hidden_sizes=(8, 4), dropout=0.2, recurrent_dropout=0.2))
        result = train(model, WindowedData(X, y), TrainConfig(epochs=3, seed=7, progress=False))
        runs.append((result.history, [p.detach().clone() for p in model.parameters()]))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        assert torch.equal(a, b)


def test_different_seed_different_result(tiny):
    X, y = noisy_windows()
    losses = []
    for seed in (1, 2):
        seed_everything(seed)
        result = train(
            StackedLSTM(LSTMConfig(hidden_sizes=(8,))),
            WindowedData(X, y),
            TrainConfig(epochs=2, seed=seed, progress=False),
        )
        losses.append(result.history["train_loss"])
    assert losses[0] != losses[1]


def test_callbacks_receive_epoch_metrics(tiny):
    X, y = noisy_windows()
    seen = []

    class Record:
        def on_epoch_end(self, epoch, metrics):
            seen.append((epoch, sorted(metrics)))

    train(
        StackedLSTM(LSTMConfig(hidden_sizes=(4,))), WindowedData(X, y), tiny, callbacks=[Record()]
    )
    keys = ["lr", "naive_gain", "naive_gain_se", "seconds", "train_loss", "val_loss"]
    assert seen == [(1, keys), (2, keys)]


def test_lr_decays_on_plateau():
    X, y = noisy_windows(rows=200)
    config = TrainConfig(epochs=12, lr=0.05, lr_patience=1, lr_factor=0.5, progress=False)
    level = LSTMConfig(hidden_sizes=(8,), residual=False)  # lr 0.05 overshoots: plateaus
    result = train(StackedLSTM(level), WindowedData(X, y), config)
    assert min(result.history["lr"]) < 0.05
    assert all(b <= a for a, b in zip(result.history["lr"], result.history["lr"][1:], strict=False))


def test_adamw_weight_decay_and_clipping_run(tiny):
    X, y = noisy_windows()
    config = TrainConfig(
        epochs=2, optimizer="adamw", weight_decay=0.01, grad_clip=0.5, progress=False
    )
    result = train(StackedLSTM(LSTMConfig(hidden_sizes=(8,))), WindowedData(X, y), config)
    assert all(math.isfinite(v) for v in result.history["train_loss"])


def test_without_validation_the_last_epoch_is_kept():
    X, y = noisy_windows()
    config = TrainConfig(epochs=3, val_fraction=0.0, patience=1, progress=False)
    result = train(StackedLSTM(LSTMConfig(hidden_sizes=(8,))), WindowedData(X, y), config)
    assert result.best_epoch == 3 and result.n_val == 0
    assert all(math.isnan(v) for v in result.history["val_loss"])


def test_validation_is_the_most_recent_windows_after_a_gap():
    assert split_train_val(100, 0.2, horizon=5) == (76, 4, 20)
    assert split_train_val(100, 0.0, horizon=5) == (100, 0, 0)
    with pytest.raises(
        ValueError, match="3 windows are too few for val_fraction=0.5 and a gap of 2"
    ):
        split_train_val(3, 0.5, horizon=3)


def test_validation_windows_never_train():
    # training windows all have target 0, validation windows target 1000: if any validation
    # window leaked into training, the model could not keep predicting ~0 on the training part
    X = np.zeros((100, 5, 1), dtype=np.float32)
    y = np.zeros((100, 1), dtype=np.float32)
    X[80:] = 1.0
    y[80:] = 1000.0
    seed_everything(0)
    model = StackedLSTM(LSTMConfig(hidden_sizes=(4,)))
    result = train(
        model, WindowedData(X, y), TrainConfig(epochs=3, val_fraction=0.2, progress=False)
    )
    assert result.n_train == 80
    assert max(result.history["train_loss"]) < 10
    assert min(result.history["val_loss"]) > 1e5


def test_per_step_needs_step_targets(tiny):
    X, y = noisy_windows()
    with pytest.raises(ValueError, match="pass WindowedData\\(y_steps=...\\)"):
        train(StackedLSTM(LSTMConfig(hidden_sizes=(4,), head="per_step")), WindowedData(X, y), tiny)


def test_horizon_mismatch(tiny):
    X, y = noisy_windows()
    with pytest.raises(ValueError, match="y has horizon 1; the model forecasts 3"):
        train(StackedLSTM(LSTMConfig(hidden_sizes=(4,)), horizon=3), WindowedData(X, y), tiny)


def test_windowed_data_checks_shapes():
    with pytest.raises(ValueError, match=r"got \(10, 5, 1\) and \(9, 1\)"):
        WindowedData(np.zeros((10, 5, 1)), np.zeros((9, 1)))


def test_divergence_is_reported():
    X, y = noisy_windows()
    huge = np.full_like(y, 1e20)  # its squared error overflows float32
    with pytest.raises(FloatingPointError, match="training diverged at epoch 1"):
        train(
            StackedLSTM(LSTMConfig(hidden_sizes=(4,))),
            WindowedData(X, huge),
            TrainConfig(epochs=1, progress=False),
        )


def test_half_precision_on_cpu_is_refused():
    X, y = noisy_windows()
    with pytest.raises(ValueError, match="precision='bf16' needs a CUDA device; got cpu"):
        train(
            StackedLSTM(LSTMConfig(hidden_sizes=(4,))),
            WindowedData(X, y),
            TrainConfig(device="cpu", precision="bf16", progress=False),
        )


def test_progress_bar_draws_when_asked(capsys):
    X, y = noisy_windows()
    train(
        StackedLSTM(LSTMConfig(hidden_sizes=(4,))),
        WindowedData(X, y),
        TrainConfig(epochs=2, progress=True),
    )
    err = capsys.readouterr().err
    assert "epoch 2/2 [====================]" in err and "ETA" in err and "val" in err


def test_progress_bar_is_quiet_when_piped(capsys, tiny):
    X, y = noisy_windows()
    train(StackedLSTM(LSTMConfig(hidden_sizes=(4,))), WindowedData(X, y), TrainConfig(epochs=1))
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("epochs", -1, "epochs must be a number >= 0; got -1"),
        ("val_fraction", 1.0, "val_fraction must be in [0, 1); got 1.0"),
        ("optimizer", "sgd", "optimizer='sgd' is not one of adam, adamw"),
        ("precision", "fp8", "precision='fp8' is not one of auto, fp32, bf16, fp16"),
        ("lr_factor", 1.5, "lr_factor must be in (0, 1); got 1.5"),
        ("threads", 0, "threads must be a number >= 1; got 0"),
    ],
)
def test_train_config_errors_name_the_value(field, value, message):
    with pytest.raises(ValueError) as err:
        TrainConfig(**{field: value})
    assert str(err.value) == message
