"""StackedLSTM: Keras' stacked LSTM stock model in PyTorch, with three forecast heads.

Shape letters: B batch, T timesteps (any T >= 1), F features, H hidden size of a layer,
D directions (2 when bidirectional), K horizon.

Heads (LSTMConfig.head):
- direct:   last hidden state -> Linear -> K values at once (Keras: LSTM -> Dense(K)).
- per_step: a shared Linear on every timestep (Keras: TimeDistributed(Dense(1))); trained on the
            next value after every timestep; forecasts K > 1 steps by feeding its output back.
- seq2seq:  the encoder's final (h, c) start a decoder LSTM unrolled over K steps (Keras'
            return_state pattern), its input the encoder's last output repeated (RepeatVector).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
from torch import nn
from torch.func import functional_call

from forecast.config import LSTMConfig


@dataclass
class LSTMStates:
    """What Keras' return_sequences + return_state give, for every layer."""

    outputs: list[torch.Tensor]  # per layer: (B, T, D*H)
    final: list[tuple[torch.Tensor, torch.Tensor]]  # per layer: h_n, c_n each (D, B, H)


@dataclass(frozen=True)
class NetworkFit:
    """What the data and the fit fix about a network, beside the user's LSTMConfig: saved with
    the weights (forecaster.json's "fitted")."""

    n_features: int = 1  # F, columns of the input windows
    horizon: int = 1  # K, the steps it was built to forecast
    # where the naive forecast is in model space: an input column (the target's scaled input)
    # and/or a constant (the head's bias when residual): the encoder's fitted naive level
    naive_column: int | None = None
    naive_level: float = 0.0

    def __post_init__(self) -> None:
        for name in ("n_features", "horizon"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1; got {value!r}")


class StackedLSTM(nn.Module):
    """LSTM layers of `hidden_sizes`, dropout between them, and a forecast head; `fitted` (or the
    keywords) say the input width, the horizon and where the naive forecast is."""

    def __init__(
        self,
        config: LSTMConfig,
        fitted: NetworkFit | None = None,
        *,
        n_features: int = 1,
        horizon: int = 1,
    ) -> None:
        super().__init__()
        self.config = config
        self.fitted = fitted or NetworkFit(n_features, horizon)
        if config.head == "per_step" and self.fitted.horizon > 1 and self.fitted.n_features != 1:
            raise ValueError(
                "head='per_step' with horizon > 1 feeds its own forecasts back as input, so it "
                f"needs n_features=1 (the target alone); got n_features={self.fitted.n_features}"
            )
        directions = 2 if config.bidirectional else 1
        sizes_in = [self.fitted.n_features, *(directions * h for h in config.hidden_sizes[:-1])]
        self.layers = nn.ModuleList(
            nn.LSTM(n_in, h, batch_first=True, bidirectional=config.bidirectional)
            for n_in, h in zip(sizes_in, config.hidden_sizes, strict=True)
        )
        # Identity when off: a p=0 Dropout still costs a kernel call per layer and step
        self.between: nn.Module = (
            nn.Dropout(config.dropout) if config.dropout > 0 else nn.Identity()
        )
        width = directions * config.hidden_sizes[-1]
        if config.head == "seq2seq":
            self.decoder: nn.LSTM | None = nn.LSTM(width, width, batch_first=True)
            self.head = nn.Linear(width, 1)
        else:
            self.decoder = None
            self.head = nn.Linear(width, self.fitted.horizon if config.head == "direct" else 1)
        if config.init == "keras":
            self.reset_keras()
        if config.residual:
            self.reset_naive()

    @property
    def lstm_layers(self) -> list[nn.LSTM]:
        """The encoder's LSTM layers, first to last."""
        return [cast(nn.LSTM, layer) for layer in self.layers]

    @torch.no_grad()
    def reset_keras(self) -> None:
        """Keras' initializers: Glorot-uniform input and Dense weights, orthogonal recurrent
        weights, zero biases with the forget-gate bias at 1 (unit_forget_bias)."""
        for lstm in [*self.lstm_layers, *([self.decoder] if self.decoder is not None else [])]:
            hidden = lstm.hidden_size
            for name, param in lstm.named_parameters():
                if name.startswith("weight_ih"):
                    nn.init.xavier_uniform_(param)
                elif name.startswith("weight_hh"):
                    nn.init.orthogonal_(param)
                elif name.startswith("bias_ih"):
                    param.zero_()
                    param[hidden : 2 * hidden] = (
                        1.0  # torch gate order: input, forget, cell, output
                    )
                else:  # bias_hh: torch's second bias; Keras has one, so it stays 0
                    param.zero_()
        nn.init.xavier_uniform_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    @torch.no_grad()
    def reset_naive(self) -> None:
        """Zero output weights and the naive level as bias: with residual=True the network
        then forecasts exactly the naive forecast, and training moves it away from there."""
        nn.init.zeros_(self.head.weight)
        nn.init.constant_(self.head.bias, self.fitted.naive_level)

    def _naive(self, x: torch.Tensor, at: slice | int) -> torch.Tensor | float:
        """The residual's base: the target's scaled input at timesteps `at` when the naive
        forecast is an input column, else 0 (its constant is the head's bias)."""
        column = self.fitted.naive_column
        if not self.config.residual or column is None:
            return 0.0
        return x[:, at, column]

    def _run_layer(self, lstm: nn.LSTM, x: torch.Tensor, state=None):  # noqa: ANN001, ANN202
        p = self.config.recurrent_dropout
        if not self.training:
            return run_lstm(lstm, x, state)
        if p == 0:
            return lstm(x, state)
        # DropConnect on the hidden-to-hidden weights: one mask of hidden units per batch, shared
        # over time (as Keras' recurrent_dropout), applied to the weights so the fused kernel runs
        swapped = {}
        for name, weight in lstm.named_parameters():
            if name.startswith("weight_hh"):
                keep = torch.empty(1, weight.shape[1], device=weight.device).bernoulli_(1 - p)
                swapped[name] = weight * keep / (1 - p)
        return functional_call(lstm, swapped, (x, state))

    def forward_with_states(self, x: torch.Tensor) -> LSTMStates:
        """Every layer's per-timestep outputs and final (h, c), for inspection and seq2seq."""
        outputs, final = [], []
        for i, lstm in enumerate(self.lstm_layers):
            if i > 0:
                x = self.between(x)
            x, (h, c) = self._run_layer(lstm, x)  # (B, T, F or D*H) -> (B, T, D*H)
            outputs.append(x)
            final.append((h, c))
        return LSTMStates(outputs, final)

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, LSTMStates]:
        _check_input(x, self.fitted.n_features)
        states = self.forward_with_states(x)
        h_last = states.final[-1][0]  # (D, B, H)
        last = h_last[0] if len(h_last) == 1 else torch.cat(list(h_last), dim=-1)
        return last, states  # (B, D*H)

    def forward(self, x: torch.Tensor, steps: int | None = None) -> torch.Tensor:
        """Forecast: (B, T, F) -> (B, K). `steps` (per_step head only) rolls further than K."""
        if self.config.head == "per_step":
            return self._roll_forward(x, steps or self.fitted.horizon)
        if steps is not None and steps != self.fitted.horizon:
            raise ValueError(
                f"head={self.config.head!r} forecasts exactly {self.fitted.horizon} steps; "
                f"got steps={steps}"
            )
        last, states = self._encode(x)  # (B, D*H)
        base = self._naive(x, -1)
        base = base.unsqueeze(-1) if isinstance(base, torch.Tensor) else base  # (B, 1): all K
        if self.config.head == "direct":
            return self.head(self.between(last)) + base  # (B, D*H) -> (B, K)
        return self._decode(last, states) + base

    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        """per_step head: the next-value prediction after every timestep, (B, T, F) -> (B, T)."""
        _check_input(x, self.fitted.n_features)
        sequence = self.forward_with_states(x).outputs[-1]  # (B, T, D*H)
        # (B, T, 1) -> (B, T), plus each timestep's naive next value: the value at that step
        return self.head(self.between(sequence)).squeeze(-1) + self._naive(x, slice(None))

    def _roll_forward(self, x: torch.Tensor, horizon: int) -> torch.Tensor:
        steps = []
        for _ in range(horizon):
            step = self.forward_sequence(x)[:, -1:]  # (B, 1)
            steps.append(step)
            x = torch.cat([x, step.unsqueeze(-1)], dim=1)  # (B, T+1, 1): the forecast fed back
        return torch.cat(steps, dim=1)  # (B, K)

    def _decode(self, last: torch.Tensor, states: LSTMStates) -> torch.Tensor:
        if self.decoder is None:
            raise RuntimeError("_decode needs the decoder that head='seq2seq' builds")
        h, c = states.final[-1]  # (D, B, H)
        init = (torch.cat(list(h), -1).unsqueeze(0), torch.cat(list(c), -1).unsqueeze(0))
        repeated = last.unsqueeze(1).expand(-1, self.fitted.horizon, -1)  # (B, K, D*H)
        decoded, _ = self._run_layer(self.decoder, repeated.contiguous(), init)  # (B, K, D*H)
        return self.head(self.between(decoded)).squeeze(-1)  # (B, K)

    def summary(self) -> str:
        """A Keras-style table of layers, output shapes and parameters. torch keeps two bias
        vectors per LSTM gate set (bias_ih, bias_hh) where Keras keeps one, so both counts are
        shown. The final fit logs it (model_summary.txt) and pipelines.inspect prints it."""
        from forecast.models.summary import summary_table

        return summary_table(self)


def run_lstm(
    lstm: nn.LSTM, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """`lstm(x, state)` for batch-first (B, T, F) input, calling the fused op nn.LSTM.forward
    ends in without its per-call argument checks (a quarter of a served request's LSTM time;
    the same kernel, so the same numbers): for inference on input already checked."""
    if state is None:
        zeros = torch.zeros(
            lstm.num_layers * (2 if lstm.bidirectional else 1),
            x.shape[0],
            lstm.hidden_size,
            dtype=x.dtype,
            device=x.device,
        )
        state = (zeros, zeros)
    output, h, c = torch.lstm(
        x,
        state,
        cast(list[torch.Tensor], lstm._flat_weights),  # noqa: SLF001
        lstm.bias,
        lstm.num_layers,
        0.0,
        False,
        lstm.bidirectional,
        True,
    )
    return output, (h, c)


def _check_input(x: torch.Tensor, n_features: int) -> None:
    if x.dim() != 3 or x.shape[-1] != n_features or x.shape[1] < 1:
        raise ValueError(
            f"input must be (batch, timesteps >= 1, {n_features} features); got {tuple(x.shape)}"
        )
