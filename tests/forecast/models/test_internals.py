import numpy as np
import pytest
import torch

from forecast.config import LSTMConfig, TrainConfig
from forecast.models import NetworkFit, StackedLSTM
from forecast.models.internals import (
    GATES,
    gate_saturation,
    lags_holding,
    lstm_internals,
    saliency,
)
from forecast.models.training import WindowedData, seed_everything, train


def trained_looking(config, seed=0, **fitted):
    """A model whose weights are random but not the initializer's tidy values."""
    seed_everything(seed)
    model = StackedLSTM(config, **fitted)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.3 * torch.randn_like(param))
    return model.eval()


@pytest.mark.parametrize("bidirectional", [False, True], ids=["one-way", "bidirectional"])
@pytest.mark.parametrize("head", ["direct", "per_step", "seq2seq"])
def test_recomputed_states_equal_the_fused_lstms(head, bidirectional):
    horizon = 1 if head == "per_step" else 3
    config = LSTMConfig(
        hidden_sizes=(6, 4, 5),
        dropout=0.3,
        recurrent_dropout=0.4,  # eval mode: neither applies, in nn.LSTM or the recomputation
        bidirectional=bidirectional,
        head=head,
    )
    model = trained_looking(config, n_features=2, horizon=horizon)
    x = torch.randn(7, 12, 2)
    layers = lstm_internals(model, x)
    with torch.no_grad():
        states = model.forward_with_states(x)
    directions = 2 if bidirectional else 1
    for layer, output, (h_n, c_n) in zip(layers, states.outputs, states.final, strict=False):
        batch, steps, d, units = layer.hidden.shape
        assert d == directions and set(layer.gates) == set(GATES)
        # every timestep's h, and the final h and c of each direction
        hidden = torch.from_numpy(layer.hidden.reshape(batch, steps, d * units))
        torch.testing.assert_close(hidden, output, atol=1e-5, rtol=0)
        torch.testing.assert_close(
            torch.from_numpy(layer.hidden[:, -1, 0]), h_n[0], atol=1e-5, rtol=0
        )
        torch.testing.assert_close(
            torch.from_numpy(layer.cell[:, -1, 0]), c_n[0], atol=1e-5, rtol=0
        )
        if bidirectional:  # the backward direction ends at the window's first step
            torch.testing.assert_close(
                torch.from_numpy(layer.cell[:, 0, 1]), c_n[1], atol=1e-5, rtol=0
            )
    assert len(layers) == 3 + (head == "seq2seq")
    if head == "seq2seq":  # the decoder, as _decode runs it
        h, c = states.final[-1]
        init = (torch.cat(list(h), -1)[None], torch.cat(list(c), -1)[None])
        last = torch.cat(list(h), -1)
        with torch.no_grad():
            decoded, (_, c_k) = model.decoder(
                last[:, None].expand(-1, horizon, -1).contiguous(), init
            )
        decoder = layers[-1]
        assert decoder.name == "decoder"
        torch.testing.assert_close(
            torch.from_numpy(decoder.hidden[:, :, 0]), decoded, atol=1e-5, rtol=0
        )
        torch.testing.assert_close(
            torch.from_numpy(decoder.cell[:, -1, 0]), c_k[0], atol=1e-5, rtol=0
        )


def test_a_model_in_training_mode_is_refused():
    model = StackedLSTM(LSTMConfig(hidden_sizes=(4,)))
    with pytest.raises(ValueError, match="eval mode"):
        lstm_internals(model, torch.zeros(1, 5, 1))
    with pytest.raises(ValueError, match="eval mode"):
        saliency(model, torch.zeros(1, 5, 1))


def test_gate_saturation_counts_closed_and_open_gates():
    model = trained_looking(LSTMConfig(hidden_sizes=(4,)))
    with torch.no_grad():  # forget gate bias far up: always open; input gate far down: closed
        model.layers[0].bias_ih_l0[4:8] = 50.0
        model.layers[0].bias_ih_l0[0:4] = -50.0
    saturation = gate_saturation(lstm_internals(model, torch.randn(3, 8, 1)))
    assert saturation["layer_1"]["forget"] == {"low": 0.0, "high": 1.0}
    assert saturation["layer_1"]["input"] == {"low": 1.0, "high": 0.0}
    assert 0 <= saturation["layer_1"]["output"]["low"] <= 1


@pytest.mark.parametrize("lag", [3, 8])
def test_saliency_peaks_at_the_lag_the_answer_depends_on(lag):
    """y = x[t - lag] on white noise: only that lookback step matters."""
    rng = np.random.default_rng(lag)
    x = rng.normal(size=(3000, 15, 1)).astype(np.float32)
    y = x[:, -lag, 0:1].copy()  # lag 1 is the last step
    config = LSTMConfig(hidden_sizes=(24,), residual=False)
    seed_everything(0)
    model = StackedLSTM(config)
    result = train(
        model,
        WindowedData(x, y),
        TrainConfig(epochs=25, batch_size=64, lr=5e-3, device="cpu", threads=1, progress=False),
    )
    assert result.history["val_loss"][-1] < 0.2  # it learned the copy (the variance is 1)
    by_lag = saliency(model.cpu().eval(), torch.from_numpy(x[:256]))
    assert by_lag.shape == (15,) and by_lag.sum() == pytest.approx(1.0)
    assert int(np.argmax(by_lag)) + 1 == lag
    assert by_lag[lag - 1] > 0.5


def test_an_untrained_residual_network_learned_nothing_to_look_at():
    model = StackedLSTM(LSTMConfig(hidden_sizes=(4,)), NetworkFit(naive_column=0)).eval()
    by_lag = saliency(model, torch.randn(4, 10, 1))
    assert (by_lag == 0).all() and lags_holding(0.9, by_lag) == 10
    assert lags_holding(0.9, np.array([0.5, 0.3, 0.15, 0.05])) == 3
