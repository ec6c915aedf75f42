"""Pure torch models: they know tensors, not prices or dates."""

from forecast.models.lstm import LSTMStates, NetworkFit, StackedLSTM

__all__ = ["LSTMStates", "NetworkFit", "StackedLSTM"]
