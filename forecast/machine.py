"""What this machine offers, without importing torch: the worker pool is sized before any
model code loads."""

from __future__ import annotations

import psutil


def physical_cores() -> int:
    """Physical CPU cores this process may use (hyperthreads do not help a small LSTM): psutil's
    physical count, capped by the CPU affinity (a container or taskset may allow fewer)."""

    allowed = len(psutil.Process().cpu_affinity() or []) or psutil.cpu_count() or 1
    return max(1, min(allowed, psutil.cpu_count(logical=False) or allowed))
