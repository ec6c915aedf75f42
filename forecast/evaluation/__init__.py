"""Honest evaluation: walk-forward splits, naive baselines, metrics, cross-validation, plots."""
