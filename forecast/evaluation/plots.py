"""Figures for runs: learning curves and forecast vs actual (matplotlib, no display needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # headless: CI, servers
import matplotlib.pyplot as plt  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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
