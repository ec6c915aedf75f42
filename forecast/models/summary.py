"""Keras-style summary of a StackedLSTM, with torch's and Keras' parameter counts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

if TYPE_CHECKING:
    from forecast.models.lstm import StackedLSTM


def lstm_params(lstm: nn.LSTM) -> tuple[int, int]:
    """(torch, keras) parameter counts: Keras has one bias vector of 4H per direction."""
    torch_count = sum(p.numel() for p in lstm.parameters())
    directions = 2 if lstm.bidirectional else 1
    return torch_count, torch_count - directions * 4 * lstm.hidden_size


def summary_table(model: StackedLSTM) -> str:
    """Keras' model.summary() for a StackedLSTM: layers, output shapes, both parameter counts."""
    return _table(_layer_rows(model), model)


def _layer_rows(model: StackedLSTM) -> list[tuple[str, str, int, int]]:
    """(layer, output shape, torch params, Keras params) per layer, first to last."""
    config = model.config
    rows: list[tuple[str, str, int, int]] = []
    for i, lstm in enumerate(model.lstm_layers):
        width = lstm.hidden_size * (2 if lstm.bidirectional else 1)
        last = i == len(model.layers) - 1 and config.head != "per_step"
        shape = f"(None, {width})" if last else f"(None, None, {width})"
        kind = "Bidirectional(LSTM)" if lstm.bidirectional else "LSTM"
        rows.append((f"lstm_{i} ({kind})", shape, *lstm_params(lstm)))
        if config.dropout > 0 and i < len(model.layers) - 1:
            rows.append((f"dropout_{i} (Dropout)", shape, 0, 0))
    if model.decoder is not None:
        rows.append(
            (
                "repeat (RepeatVector)",
                f"(None, {model.fitted.horizon}, {model.decoder.input_size})",
                0,
                0,
            )
        )
        rows.append(
            (
                "decoder (LSTM)",
                f"(None, {model.fitted.horizon}, {model.decoder.hidden_size})",
                *lstm_params(model.decoder),
            )
        )
    head = sum(p.numel() for p in model.head.parameters())
    if config.head == "direct":
        rows.append(("dense (Dense)", f"(None, {model.fitted.horizon})", head, head))
    else:
        rows.append(("dense (TimeDistributed(Dense))", "(None, None, 1)", head, head))

    return rows


def _table(rows: list[tuple[str, str, int, int]], model: StackedLSTM) -> str:
    headers = ("Layer (type)", "Output Shape", "Param # (torch)", "Param # (Keras)")
    widths = [
        max(len(headers[0]), *(len(r[0]) for r in rows)) + 2,
        max(len(headers[1]), *(len(r[1]) for r in rows)) + 2,
        17,
        17,
    ]

    def line(cells: tuple[str, ...]) -> str:
        return "".join(
            cell.ljust(w) if j < 2 else cell.rjust(w)
            for j, (cell, w) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "=" * sum(widths)
    out = [
        f'Model: "StackedLSTM" (head={model.config.head}, horizon={model.fitted.horizon})',
        rule,
        line(headers),
        rule,
    ]
    out += [line((name, shape, f"{t:,}", f"{k:,}")) for name, shape, t, k in rows]
    total_torch, total_keras = sum(r[2] for r in rows), sum(r[3] for r in rows)
    out += [
        rule,
        f"Total params: {total_torch:,} (torch) / {total_keras:,} (Keras)",
        "torch keeps two bias vectors per LSTM layer (bias_ih and bias_hh, 4H each); Keras keeps "
        "one, so torch counts 4H more per layer and direction. Their sum is what Keras' bias is.",
    ]
    return "\n".join(out)
