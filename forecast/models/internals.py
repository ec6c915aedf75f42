"""What a trained StackedLSTM carries inside: gates, cell state and hidden state per layer and
timestep, recomputed from the fused nn.LSTM weights; how saturated the gates are; and how far
back in the lookback the forecast looks (saliency).

Shapes: B windows, T timesteps, D directions (2 when bidirectional), H units of a layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from forecast.models.lstm import StackedLSTM

GATES = ("input", "forget", "cell", "output")  # torch's order in the fused weights
SIGMOID_GATES = ("input", "forget", "output")  # the candidate ("cell") gate is a tanh
SATURATED_LOW, SATURATED_HIGH = 0.1, 0.9  # Karpathy, Johnson & Fei-Fei (2015)


@dataclass(frozen=True)
class LayerInternals:
    """One LSTM layer over B windows: each gate's activation, the cell state c and the hidden
    state h after every timestep, each (B, T, D, H). Direction 1 (when bidirectional) reads the
    window backwards; its timestep t is still the window's t."""

    name: str
    gates: dict[str, np.ndarray]  # GATES -> (B, T, D, H)
    cell: np.ndarray
    hidden: np.ndarray


def _direction(
    lstm: nn.LSTM,
    layer: int,
    reverse: bool,
    x: torch.Tensor,
    state: tuple[torch.Tensor, torch.Tensor] | None,
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """One direction of one fused layer, step by step: gates, c and h as (B, T, H)."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    w_ih, w_hh = getattr(lstm, "weight_ih" + suffix), getattr(lstm, "weight_hh" + suffix)
    bias = getattr(lstm, "bias_ih" + suffix) + getattr(lstm, "bias_hh" + suffix)
    batch, steps, _ = x.shape
    hidden = lstm.hidden_size
    h, c = (x.new_zeros(batch, hidden), x.new_zeros(batch, hidden)) if state is None else state
    projected = x @ w_ih.T + bias  # (B, T, 4H): the input's share of every gate, at once
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    gates: dict[str, list[torch.Tensor]] = {name: [] for name in GATES}
    cells, hiddens = [], []
    for t in order:
        i, f, g, o = (projected[:, t] + h @ w_hh.T).chunk(4, dim=-1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        for name, value in zip(GATES, (i, f, g, o), strict=True):
            gates[name].append(value)
        cells.append(c)
        hiddens.append(h)
    if reverse:  # back to the window's time order
        for values in (*gates.values(), cells, hiddens):
            values.reverse()
    return (
        {name: torch.stack(values, dim=1) for name, values in gates.items()},
        torch.stack(cells, dim=1),
        torch.stack(hiddens, dim=1),
    )


def _layer(
    lstm: nn.LSTM, x: torch.Tensor, name: str, state: tuple[torch.Tensor, torch.Tensor] | None
) -> tuple[LayerInternals, torch.Tensor]:
    """Every direction of one (single-layer) nn.LSTM; returns its internals and its output
    (B, T, D*H), the next layer's input. `state`: (h0, c0) each (D, B, H), or zeros."""
    directions = 2 if lstm.bidirectional else 1
    runs = [
        _direction(lstm, 0, d == 1, x, None if state is None else (state[0][d], state[1][d]))
        for d in range(directions)
    ]

    def stacked(parts: list[torch.Tensor]) -> np.ndarray:
        return torch.stack(parts, dim=2).numpy()  # (B, T, D, H)

    internals = LayerInternals(
        name=name,
        gates={gate: stacked([run[0][gate] for run in runs]) for gate in GATES},
        cell=stacked([run[1] for run in runs]),
        hidden=stacked([run[2] for run in runs]),
    )
    output = torch.cat([run[2] for run in runs], dim=-1)
    return internals, output


@torch.no_grad()
def lstm_internals(model: StackedLSTM, x: torch.Tensor) -> list[LayerInternals]:
    """Per layer (first to last, then seq2seq's decoder), per timestep: the gate activations,
    c and h of windows x (B, T, F), recomputed from the fused weights as the model runs them in
    eval mode (no dropout between layers, none on the recurrent weights)."""
    if model.training:
        raise ValueError("lstm_internals reads a model in eval mode; call model.eval() first")
    x = x.detach().float().cpu()
    model = model.cpu()
    layers = []
    for number, lstm in enumerate(model.lstm_layers, start=1):
        internals, x = _layer(lstm, x, f"layer_{number}", None)
        layers.append(internals)
    if model.decoder is not None:  # seq2seq: starts from the last layer's final (h, c)
        h, c = (torch.from_numpy(_final(state)) for state in (layers[-1].hidden, layers[-1].cell))
        repeated = h.unsqueeze(1).expand(-1, model.fitted.horizon, -1).contiguous()  # (B, K, D*H)
        decoder, _ = _layer(model.decoder, repeated, "decoder", (h[None], c[None]))
        layers.append(decoder)
    return layers


def _final(values: np.ndarray) -> np.ndarray:
    """(B, D*H) the final state of each direction, as nn.LSTM's h_n / c_n concatenated: the
    forward direction's after the last timestep, the backward one's after the first."""
    parts = [values[:, -1, 0]] + ([values[:, 0, 1]] if values.shape[2] == 2 else [])
    return np.concatenate(parts, axis=-1)


def gate_saturation(layers: list[LayerInternals]) -> dict[str, dict[str, dict[str, float]]]:
    """layer -> sigmoid gate -> share of activations below SATURATED_LOW ("low", a closed
    gate) and above SATURATED_HIGH ("high", an open one)."""
    return {
        layer.name: {
            gate: {
                "low": float(np.mean(layer.gates[gate] < SATURATED_LOW)),
                "high": float(np.mean(layer.gates[gate] > SATURATED_HIGH)),
            }
            for gate in SIGMOID_GATES
        }
        for layer in layers
    }


def saliency(model: StackedLSTM, x: torch.Tensor) -> np.ndarray:
    """(T,) how much the forecast depends on each lookback step, lag 1 (the last day) first:
    the mean over windows x (B, T, F) of the absolute gradient of the first forecast step with
    respect to each step's inputs (summed over features), normalized to sum to 1. For a
    residual network, the gradient of the learned change only: the naive forecast it starts
    from reads lag 1 by construction, and would hide what the network learned."""
    if model.training:
        raise ValueError("saliency reads a model in eval mode; call model.eval() first")
    x = x.detach().float().clone().requires_grad_(True)
    with torch.enable_grad():
        forecast = model(x)[:, 0]
        naive = model._naive(x, -1)
        learned = forecast - naive if isinstance(naive, torch.Tensor) else forecast
        (gradient,) = torch.autograd.grad(learned.sum(), x)
    per_step = gradient.abs().sum(dim=-1).mean(dim=0).numpy()  # (T,), oldest first
    total = per_step.sum()
    by_lag = per_step[::-1].copy()
    return by_lag / total if total > 0 else by_lag


def lags_holding(share: float, by_lag: np.ndarray) -> int:
    """How many of the most recent lags hold `share` of the saliency (the whole lookback when
    the saliency is all zero: an untrained residual network looks at nothing)."""
    if by_lag.sum() <= 0:
        return len(by_lag)
    return int(np.searchsorted(np.cumsum(by_lag), share - 1e-12) + 1)


@dataclass(frozen=True)
class Inspection:
    """A model looked at on a batch of windows: every layer's insides, the gates' saturation
    and the saliency over the lookback."""

    layers: list[LayerInternals]
    saturation: dict[str, dict[str, dict[str, float]]]
    saliency: np.ndarray  # (T,) by lag, lag 1 first

    @classmethod
    def of(cls, model: StackedLSTM, x: torch.Tensor) -> Inspection:
        layers = lstm_internals(model, x)
        return cls(layers, gate_saturation(layers), saliency(model, x))

    def metrics(self) -> dict[str, float]:
        """Flat figures two versions can be compared by in the MLflow UI."""
        out = {
            "saliency/peak_lag": float(np.argmax(self.saliency) + 1),
            "saliency/lags_for_50pct": float(lags_holding(0.5, self.saliency)),
            "saliency/lags_for_90pct": float(lags_holding(0.9, self.saliency)),
            "saliency/lag_1_share": float(self.saliency[0]),
        }
        for layer, gates in self.saturation.items():
            for gate, shares in gates.items():
                for side, share in shares.items():
                    out[f"gates/{layer}/{gate}/{side}"] = share
        return out

    def summary(self) -> dict[str, object]:
        """The same, with the saliency at every lag and the layer shapes: JSON-ready."""
        windows, steps = self.layers[0].hidden.shape[:2]
        return {
            "windows": int(windows),
            "timesteps": int(steps),
            "layers": {
                layer.name: {"directions": layer.hidden.shape[2], "units": layer.hidden.shape[3]}
                for layer in self.layers
            },
            "saliency_by_lag": [float(v) for v in self.saliency],
            "gate_saturation": self.saturation,
            "saturation_thresholds": [SATURATED_LOW, SATURATED_HIGH],
            **self.metrics(),
        }
