"""Figures for runs: learning curves, forecast vs actual, and a model's insides: LSTM states,
gate saturation, saliency over the lookback (matplotlib, no display needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib
import numpy as np
import pandas as pd

from forecast.models.internals import (
    SATURATED_HIGH,
    SATURATED_LOW,
    SIGMOID_GATES,
    LayerInternals,
    gate_saturation,
    lags_holding,
)

matplotlib.use("Agg")  # headless: CI, servers
import matplotlib.pyplot as plt  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from forecast.evaluation.backtest import Backtest
    from forecast.evaluation.cv import FoldResult


_CURVES = (("train_loss", "tab:blue", "train"), ("val_loss", "tab:orange", "validation"))


def learning_curves(histories: list[dict[str, list[float]]], title: str) -> Figure:
    """Train and validation loss of every repeat on one plot."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for repeat, history in enumerate(histories):
        epochs = range(1, len(history["train_loss"]) + 1)
        for key, color, label in _CURVES:
            ax.plot(
                epochs, history[key], color=color, alpha=0.7, label=label if repeat == 0 else None
            )
    ax.set(title=title, xlabel="epoch", ylabel="MSE (scaled)", yscale="log")
    ax.legend()
    fig.tight_layout()
    return fig


def forecast_vs_actual(result: FoldResult, ticker: str) -> Figure:
    """First-step forecasts of every repeat, the naive forecast and the actual price."""
    fig, ax = plt.subplots(figsize=(9, 4))
    dates = result.origin_dates
    ax.plot(dates, result.actual[:, 0], color="black", linewidth=1.5, label="actual")
    ax.plot(dates, result.baselines["naive"][:, 0], color="tab:gray", linestyle="--", label="naive")
    for repeat, forecast in enumerate(result.forecasts):
        ax.plot(
            dates, forecast[:, 0], color="tab:red", alpha=0.6, label="LSTM" if repeat == 0 else None
        )
    skill = result.metrics["model"]["skill"]
    ax.set(
        title=f"{ticker} fold {result.fold.number}: 1-step forecasts (skill vs naive {skill:+.3f})",
        ylabel="price",
    )
    ax.legend()
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def lstm_states(
    layers: list[LayerInternals],
    window: int,
    prices: np.ndarray,
    dates: pd.DatetimeIndex,
    title: str,
) -> Figure:
    """For one window: its prices on top, then each layer's cell state c and hidden state h as
    heatmaps (unit x time step) on the same time axis."""
    rows = 1 + 2 * len(layers)
    fig, axes = plt.subplots(
        rows,
        1,
        figsize=(9, 1.6 + 1.5 * (rows - 1)),
        sharex=True,
        gridspec_kw={"height_ratios": [1.4] + [1.0] * (rows - 1)},
    )
    steps = np.arange(len(dates))
    axes[0].plot(steps, prices, color="black")
    axes[0].set(ylabel="price", title=title)
    for i, layer in enumerate(layers):
        for ax, name, values in (
            (axes[1 + 2 * i], "c", layer.cell),
            (axes[2 + 2 * i], "h", layer.hidden),
        ):
            grid = values[window].reshape(values.shape[1], -1).T  # (units, T), directions stacked
            limit = max(float(np.abs(grid).max()), 1e-6)
            image = ax.imshow(
                grid,
                aspect="auto",
                cmap="RdBu_r",
                vmin=-limit,
                vmax=limit,
                interpolation="nearest",
                extent=(-0.5, len(dates) - 0.5, grid.shape[0] - 0.5, -0.5),
            )
            ax.set_ylabel(f"{layer.name}\n{name} unit", fontsize=8)
            fig.colorbar(image, ax=ax, pad=0.01, fraction=0.03)
    ticks = steps[:: max(1, len(steps) // 6)]
    axes[-1].set_xticks(ticks, [f"{dates[t]:%Y-%m-%d}" for t in ticks], fontsize=8)
    axes[-1].set_xlabel("time step (date) in the lookback window")
    fig.tight_layout()
    return fig


def gate_histograms(layers: list[LayerInternals], title: str) -> Figure:
    """Per layer and sigmoid gate, the histogram of activations over every window, timestep and
    unit, with the saturated shares (below 0.1, above 0.9) in each panel's title."""
    saturation = gate_saturation(layers)
    fig, axes = plt.subplots(
        len(layers), len(SIGMOID_GATES), figsize=(9, 1.9 * len(layers) + 0.6), squeeze=False
    )
    for row, layer in zip(axes, layers, strict=True):
        for ax, gate in zip(row, SIGMOID_GATES, strict=True):
            shares = saturation[layer.name][gate]
            ax.hist(layer.gates[gate].ravel(), bins=40, range=(0, 1), color="tab:blue")
            for edge in (SATURATED_LOW, SATURATED_HIGH):
                ax.axvline(edge, color="tab:red", linewidth=0.8, linestyle="--")
            ax.set_title(
                f"{layer.name} {gate}: <0.1 {shares['low']:.0%}, >0.9 {shares['high']:.0%}",
                fontsize=9,
            )
            ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def saliency_by_lag(by_lag: np.ndarray, title: str) -> Figure:
    """The share of the forecast's input gradient at each lag (1: the last day), and how many
    recent lags hold 90% of it."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    lags = np.arange(1, len(by_lag) + 1)
    ax.bar(lags, by_lag, color="tab:blue", width=0.85)
    needed = lags_holding(0.9, by_lag)
    ax.axvline(needed + 0.5, color="tab:red", linestyle="--", label=f"90% within {needed} lags")
    ax.set(
        title=title,
        xlabel="lag (trading days before the forecast origin)",
        ylabel="share of |d forecast / d input|",
        xlim=(0.3, len(by_lag) + 0.7),
    )
    if not by_lag.any():
        ax.text(
            0.5,
            0.5,
            "no gradient: the network forecasts the naive value (epoch 0 kept)",
            transform=ax.transAxes,
            ha="center",
        )
    ax.legend()
    fig.tight_layout()
    return fig


def equity_and_drawdown(backtest: Backtest, title: str) -> Figure:
    """Each strategy's growth of 1 after costs, and its drawdown from the running peak."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, height_ratios=(2, 1))
    for name, result in backtest.strategies.items():
        equity = np.cumprod(1 + result.net)
        top.plot(backtest.dates, equity, label=name, linewidth=1)
        bottom.plot(backtest.dates, equity / np.maximum.accumulate(equity) - 1, linewidth=1)
    top.set_ylabel("growth of 1, after costs")
    top.legend(loc="upper left", fontsize="small")
    top.set_title(title)
    bottom.set_ylabel("drawdown")
    fig.tight_layout()
    return fig
