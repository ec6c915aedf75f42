"""Where training runs: the torch device (checked to exist), autocast precision, and the CPU
thread budget (physical cores, not hyperthreads)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from forecast.machine import physical_cores


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda, then mps, then cpu; anything else as torch reads it, checked to exist
    here (ValueError naming the device and what this machine has)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise ValueError(
            f"device={name!r} is not a torch device; use auto, cpu, cuda, cuda:N or mps"
        ) from err
    if device.type == "cuda" and not torch.cuda.is_available():
        missing = "CUDA is not available here"
    elif device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        missing = f"this machine has {torch.cuda.device_count()} CUDA device(s)"
    elif device.type == "mps" and not torch.backends.mps.is_available():
        missing = "MPS (Apple silicon) is not available here"
    elif device.type not in ("cpu", "cuda", "mps"):
        missing = "Stockcast trains on cpu, cuda or mps"
    else:
        return device
    raise ValueError(f"device={name!r} was asked for but {missing}; use auto or cpu")


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for `precision` on `device`, or None for plain fp32."""
    if precision == "fp32" or device.type != "cuda":
        if precision in ("bf16", "fp16") and device.type != "cuda":
            raise ValueError(f"precision={precision!r} needs a CUDA device; got {device.type}")
        return None
    if precision == "fp16":
        return torch.float16
    if precision == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


@contextmanager
def cpu_threads(threads: int | None) -> Iterator[int]:
    """Run with an explicit torch CPU thread count, restoring the previous one afterwards."""
    before = torch.get_num_threads()
    count = threads or physical_cores()
    torch.set_num_threads(count)
    try:
        yield count
    finally:
        torch.set_num_threads(before)
