import pytest
import torch

from forecast.models.device import cpu_threads, physical_cores, resolve_device


def test_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="device='tpu0' is not a torch device"):
        resolve_device("tpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available here"):
            resolve_device("cuda")
        with pytest.raises(ValueError, match="CUDA is not available here"):
            resolve_device("cuda:1")
    else:
        with pytest.raises(ValueError, match="CUDA device"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")
    if not torch.backends.mps.is_available():
        with pytest.raises(ValueError, match="device='mps' was asked for but MPS"):
            resolve_device("mps")
    with pytest.raises(ValueError, match="Stockcast trains on cpu, cuda or mps"):
        resolve_device("meta")


def test_thread_count_is_explicit_and_restored():
    before = torch.get_num_threads()
    with cpu_threads(1) as count:
        assert count == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    assert 1 <= physical_cores() <= (torch.get_num_threads() or 1) * 4
