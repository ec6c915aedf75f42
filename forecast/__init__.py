"""Stockcast's library: price data, features, windowing, scaling, models, training, evaluation."""

__version__ = "0.1.0"
