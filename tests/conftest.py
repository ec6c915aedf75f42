"""Shared fixtures. Tests never touch the network: non-loopback name lookups fail here."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))

# shared CI machines are noisy: no per-example deadline
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")

_LOOPBACK = {"localhost", "127.0.0.1", "::1", "0.0.0.0", None, ""}
_real_getaddrinfo = socket.getaddrinfo


def _loopback_only(host, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
    if host not in _LOOPBACK:
        raise socket.gaierror(socket.EAI_NONAME, f"tests are offline: no lookup of {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _loopback_only)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private price cache; STOCKCAST_DATA_DIR points at it."""
    path = tmp_path / "data"
    monkeypatch.setenv("STOCKCAST_DATA_DIR", str(path))
    return path
