"""The training pipeline as a library: one ticker's CV, final fit, MLflow logging and registry
step (run.py), a grid of candidates (sweep.py), looking inside a registered model
(inspection.py), and what the CLIs in pipelines/ share (session.py, options.py). The CLIs parse
arguments and call these; nothing here parses a command line.

Imports nothing at package level: `python -m pipelines.train --help` must stay instant."""
