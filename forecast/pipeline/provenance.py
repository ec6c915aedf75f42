"""What a run records about where it came from: the data's hash, the code's commit, every
setting as a flat param, and the folds signature that makes two CV skills comparable."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecast.pipeline.options import PipelineOptions


def data_hash(prices: pd.DataFrame) -> str:
    digest = hashlib.sha256(prices.index.to_numpy().astype("int64").tobytes())
    digest.update(np.ascontiguousarray(prices.to_numpy(dtype=np.float64)).tobytes())
    return digest.hexdigest()[:16]


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def flat_params(options: PipelineOptions) -> dict[str, Any]:
    params: dict[str, Any] = {
        "data.source": options.source,
        "data.start": options.start,
        "data.end": options.end,
        # how the fits ran: never what they computed (the threads per fit, train.threads, do)
        "run.executor": options.executor,
        "run.workers": options.workers or "auto",
    }
    if options.retrain_of is not None:
        params["run.retrain_of"] = options.retrain_of
    for section in ("window", "lstm", "train", "cv"):
        for key, value in asdict(getattr(options, section)).items():
            params[f"{section}.{key}"] = value
    return params


def folds_signature(prices: pd.DataFrame, options: PipelineOptions) -> str:
    """Equal for two runs exactly when their CV used the same data and the same folds."""
    cv, window = options.cv, options.window
    parts = (data_hash(prices), cv.n_folds, cv.test_size, cv.mode, cv.train_size, cv.gap)
    spec = "|".join(str(p) for p in (*parts, window.horizon, window.target))
    return hashlib.sha256(spec.encode()).hexdigest()[:16]
