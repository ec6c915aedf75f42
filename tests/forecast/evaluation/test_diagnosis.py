import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from forecast.config import LSTMConfig, TrainConfig, WindowConfig
from forecast.evaluation.diagnosis import diagnose
from forecast.forecaster import Forecaster


def curves(*vals):
    return [{"train_loss": list(v), "val_loss": list(v)} for v in vals]


@pytest.mark.parametrize(
    "vals,naive,label",
    [
        # never below naive's 1.0 by more than the noise
        ([[1.02, 1.05, 1.1], [1.0, 1.01, 1.03], [0.999, 1.0, 1.02]], [1.0] * 3, "no-signal"),
        # still falling at the last epoch in every repeat
        ([[0.8, 0.6, 0.5], [0.8, 0.6, 0.45], [0.7, 0.6, 0.52]], [1.0] * 3, "underfit"),
        # best at epoch 2, then up 50% by epoch 4
        (
            [[0.5, 0.4, 0.5, 0.6], [0.5, 0.41, 0.55, 0.62], [0.52, 0.4, 0.5, 0.6]],
            [1.0] * 3,
            "overfit",
        ),
        # beats naive, stopped near its best
        ([[0.6, 0.4, 0.41], [0.6, 0.42, 0.42], [0.58, 0.41, 0.415]], [1.0] * 3, "good"),
    ],
)
def test_labels_from_curves_against_the_naive_floor(vals, naive, label):
    diagnosis = diagnose(curves(*vals), naive)
    assert diagnosis.label == label
    tags = diagnosis.tags()
    assert tags["fit_diagnosis"] == label
    assert float(tags["fit_diagnosis.naive_val_loss"]) == pytest.approx(1.0)
    assert set(tags) >= {"fit_diagnosis.gain_vs_naive", "fit_diagnosis.spread"}


def test_the_noise_across_repeats_is_the_bar_a_gain_must_clear():
    # a 5% gain on average, but the repeats disagree by more than that
    noisy = curves([0.8, 0.85], [1.0, 1.02], [0.95, 0.97])
    assert diagnose(noisy, [1.0] * 3).label == "no-signal"
    steady = curves([0.95, 0.96], [0.95, 0.96], [0.951, 0.96])
    assert diagnose(steady, [1.0] * 3).label == "good"


def test_without_validation_or_naive_floor():
    assert diagnose([{"train_loss": [1.0], "val_loss": []}], [math.nan]).label == "unknown"
    # a level network has no epoch-0 naive loss: it is judged by its curves alone
    level = diagnose(curves([1.2, 1.1, 1.15]), [math.nan])
    assert level.label == "good" and math.isnan(level.gain)


def prices_of(values):
    index = pd.bdate_range("2010-01-04", periods=len(values), name="date")
    frame = pd.DataFrame({c: values for c in ("open", "high", "low", "close", "adj_close")})
    frame["volume"] = 1e6
    return frame.set_index(index)


def fold_diagnosis(prices, window, lstm, train, repeats=3):
    histories, naive = [], []
    for seed in range(repeats):
        fitted = Forecaster(window, lstm, replace(train, seed=seed)).fit(prices)
        histories.append(fitted.result_.history)
        naive.append(fitted.result_.naive_val_loss)
    return diagnose(histories, naive)


TRAIN = TrainConfig(batch_size=32, device="cpu", threads=1, progress=False)


def test_synthetic_series_where_each_label_is_the_truth():
    rng = np.random.default_rng(7)
    t = np.arange(900)
    walk = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, len(t))))
    wave = 100 + 10 * np.sin(2 * np.pi * t / 20)
    window = WindowConfig(lookback=30, scaler="standard")
    small = LSTMConfig(hidden_sizes=(16,))

    # a random walk: nothing beats "tomorrow equals today"
    walk_label = fold_diagnosis(prices_of(walk), window, small, replace(TRAIN, epochs=6))
    assert walk_label.label == "no-signal", walk_label
    # a clean wave, stopped after two slow epochs: still learning
    slow = replace(TRAIN, epochs=2, lr=3e-4)
    assert fold_diagnosis(prices_of(wave), window, small, slow).label == "underfit"
    # the same wave, trained to its best: beats naive by far and stops there
    full = replace(TRAIN, epochs=25, lr=3e-3, patience=3)
    good = fold_diagnosis(prices_of(wave), window, small, full)
    assert good.label == "good" and good.gain > 0.5, good
    # a noisy wave on 400 days, a wide network and a hot learning rate for 30 epochs: it learns
    # the wave, then the noise, and validation climbs back up
    noisy = 100 + 5 * np.sin(2 * np.pi * t[:400] / 20) + rng.normal(0, 2.0, 400)
    hot = replace(TRAIN, epochs=30, lr=1e-2, batch_size=16, val_fraction=0.3)
    overfit = fold_diagnosis(prices_of(noisy), window, LSTMConfig(hidden_sizes=(64,)), hot)
    assert overfit.label == "overfit" and overfit.gain > 0 and overfit.rising > 0.1, overfit
