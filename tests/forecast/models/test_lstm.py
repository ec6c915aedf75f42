import numpy as np
import pytest
import torch

from forecast.config import LSTMConfig, WindowConfig, check_model
from forecast.models import NetworkFit, StackedLSTM
from forecast.models.summary import lstm_params


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("head", ["direct", "per_step", "seq2seq"])
def test_every_head_forecasts_batch_by_horizon(head, bidirectional):
    horizon = 4
    config = LSTMConfig(hidden_sizes=(8, 6), head=head, bidirectional=bidirectional, dropout=0.1)
    model = StackedLSTM(config, horizon=horizon).eval()
    assert model(torch.randn(5, 12, 1)).shape == (5, horizon)


@pytest.mark.parametrize("head", ["direct", "seq2seq"])
def test_multi_feature_input(head):
    model = StackedLSTM(LSTMConfig(hidden_sizes=(8,), head=head), n_features=5, horizon=3).eval()
    assert model(torch.randn(2, 10, 5)).shape == (2, 3)


def test_per_step_sequence_output_covers_every_timestep():
    model = StackedLSTM(LSTMConfig(hidden_sizes=(8,), head="per_step")).eval()
    assert model.forward_sequence(torch.randn(3, 9, 1)).shape == (3, 9)


def test_per_step_rolls_forward_with_its_own_output():
    model = StackedLSTM(LSTMConfig(hidden_sizes=(8,), head="per_step"), horizon=3).eval()
    x = torch.randn(2, 6, 1)
    with torch.inference_mode():
        out = model(x)
        first = model.forward_sequence(x)[:, -1]
        second = model.forward_sequence(torch.cat([x, first[:, None, None]], dim=1))[:, -1]
    torch.testing.assert_close(out[:, 0], first)
    torch.testing.assert_close(out[:, 1], second)


@pytest.mark.parametrize("length", [1, 2, 60, 300])
def test_any_input_length_at_inference(length):
    model = StackedLSTM(LSTMConfig(hidden_sizes=(8, 4)), horizon=2).eval()
    assert model(torch.randn(1, length, 1)).shape == (1, 2)


def test_bad_input_shape_is_named():
    model = StackedLSTM(LSTMConfig(hidden_sizes=(4,)), n_features=2)
    with pytest.raises(
        ValueError, match=r"input must be \(batch, timesteps >= 1, 2 features\); got \(3, 5, 1\)"
    ):
        model(torch.randn(3, 5, 1))
    with pytest.raises(ValueError, match=r"got \(3, 0, 2\)"):
        model(torch.randn(3, 0, 2))


def test_forward_with_states_gives_every_layer():
    model = StackedLSTM(LSTMConfig(hidden_sizes=(8, 6, 4), bidirectional=True)).eval()
    states = model.forward_with_states(torch.randn(2, 7, 1))
    assert [o.shape for o in states.outputs] == [(2, 7, 16), (2, 7, 12), (2, 7, 8)]
    assert [h.shape for h, _ in states.final] == [(2, 2, 8), (2, 2, 6), (2, 2, 4)]
    assert [c.shape for _, c in states.final] == [(2, 2, 8), (2, 2, 6), (2, 2, 4)]
    # the last output step of the forward direction is its final hidden state
    torch.testing.assert_close(states.outputs[-1][:, -1, :4], states.final[-1][0][0])


def test_keras_init_forget_bias_one_and_orthogonal_recurrent_weights():
    model = StackedLSTM(LSTMConfig(hidden_sizes=(16, 8)))
    for lstm in model.lstm_layers:
        h = lstm.hidden_size
        bias = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach()
        assert torch.all(bias[h : 2 * h] == 1.0)
        assert torch.all(bias[:h] == 0) and torch.all(bias[2 * h :] == 0)
        w = lstm.weight_hh_l0.detach()  # (4H, H): orthonormal columns, as Keras' (H, 4H) rows
        torch.testing.assert_close(w.T @ w, torch.eye(h), atol=1e-5, rtol=0)
        limit = np.sqrt(6 / sum(lstm.weight_ih_l0.shape))
        assert lstm.weight_ih_l0.abs().max() <= limit
    assert torch.all(model.head.bias == 0)


def test_torch_init_is_an_option():
    model = StackedLSTM(LSTMConfig(hidden_sizes=(16,), init="torch"))
    h = 16
    assert not torch.all(model.lstm_layers[0].bias_ih_l0[h : 2 * h] == 1.0)


def hand_count_lstm(n_in, h, biases):
    return 4 * h * (n_in + h) + biases * 4 * h


def test_summary_counts_equal_a_hand_count():
    model = StackedLSTM(LSTMConfig())  # Keras' 64-32-16 + Dense(1)
    torch_total = (
        hand_count_lstm(1, 64, 2) + hand_count_lstm(64, 32, 2) + hand_count_lstm(32, 16, 2) + 17
    )
    keras_total = (
        hand_count_lstm(1, 64, 1) + hand_count_lstm(64, 32, 1) + hand_count_lstm(32, 16, 1) + 17
    )
    assert (torch_total, keras_total) == (32_913, 32_465)
    table = model.summary()
    assert "Total params: 32,913 (torch) / 32,465 (Keras)" in table
    assert sum(p.numel() for p in model.parameters()) == torch_total
    assert "lstm_0 (LSTM)" in table and "(None, None, 64)" in table and "dense (Dense)" in table
    assert "two bias vectors" in table


def test_summary_counts_bidirectional_and_seq2seq():
    model = StackedLSTM(
        LSTMConfig(hidden_sizes=(8,), bidirectional=True, head="seq2seq"), horizon=3
    )
    torch_lstm, keras_lstm = lstm_params(model.lstm_layers[0])
    assert torch_lstm == 2 * hand_count_lstm(1, 8, 2) and keras_lstm == 2 * hand_count_lstm(1, 8, 1)
    table = model.summary()
    total = sum(p.numel() for p in model.parameters())
    assert f"Total params: {total:,} (torch)" in table
    assert "decoder (LSTM)" in table and "Bidirectional(LSTM)" in table


def test_summary_returns_the_table_and_prints_nothing(capsys):
    table = StackedLSTM(LSTMConfig(hidden_sizes=(4,))).summary()
    assert "Total params" in table and capsys.readouterr().out == ""


def test_recurrent_dropout_changes_training_outputs_only():
    torch.manual_seed(0)
    # residual=False: a residual head starts at zero, which would hide the LSTM's outputs
    model = StackedLSTM(LSTMConfig(hidden_sizes=(16,), recurrent_dropout=0.5, residual=False))
    x = torch.randn(4, 20, 1)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))
    model(x).sum().backward()
    assert model.lstm_layers[0].weight_hh_l0.grad is not None


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("hidden_sizes", (), "hidden_sizes must be one or more integers >= 1; got ()"),
        ("hidden_sizes", (8, 0), "hidden_sizes must be one or more integers >= 1; got (8, 0)"),
        ("dropout", 1.0, "dropout must be in [0, 1); got 1.0"),
        ("recurrent_dropout", -0.1, "recurrent_dropout must be in [0, 1); got -0.1"),
        ("head", "attention", "head='attention' is not one of direct, per_step, seq2seq"),
        ("init", "he", "init='he' is not one of keras, torch"),
    ],
)
def test_config_errors_name_the_value(field, value, message):
    with pytest.raises(ValueError) as err:
        LSTMConfig(**{field: value})
    assert str(err.value) == message


def test_per_step_feedback_needs_a_single_feature():
    with pytest.raises(ValueError, match="needs n_features=1 .*got n_features=3"):
        StackedLSTM(LSTMConfig(head="per_step"), n_features=3, horizon=2)
    with pytest.raises(ValueError, match="needs one input column .*got features='ohlcv'"):
        check_model(LSTMConfig(head="per_step"), WindowConfig(horizon=2, features="ohlcv"))


def test_the_network_fit_is_apart_from_the_users_config():
    """LSTMConfig holds what a user chooses; the width, horizon and naive level are fitted."""
    with pytest.raises(TypeError):
        LSTMConfig(n_features=3)  # not a choice: the data's width
    with pytest.raises(ValueError, match="horizon must be an integer >= 1; got 0"):
        NetworkFit(horizon=0)


def test_config_round_trips_through_a_dict():
    from dataclasses import asdict

    config = LSTMConfig(hidden_sizes=(8, 4), head="seq2seq", dropout=0.2)
    rebuilt = LSTMConfig.from_dict(
        {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}
    )
    assert rebuilt == config
    with pytest.raises(ValueError, match=r"unknown LSTMConfig fields \['units'\]"):
        LSTMConfig.from_dict({"units": 3})


@pytest.mark.parametrize(
    "config",
    [LSTMConfig(), LSTMConfig(bidirectional=True), LSTMConfig(head="seq2seq")],
    ids=["direct", "bidirectional", "seq2seq"],
)
def test_inference_without_the_modules_checks_gives_the_same_numbers(config):
    # eval mode calls the fused op directly (run_lstm); training mode the nn.LSTM modules
    model = StackedLSTM(config, n_features=2, horizon=3)
    x = torch.randn(4, 30, 2)
    with torch.no_grad():
        model.eval()
        fast = model(x)
        model.train()  # dropout is 0: training mode differs only in the path it takes
        slow = model(x)
    assert torch.equal(fast, slow)
