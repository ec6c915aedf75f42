"""Child processes of the local stack and the benchmarks: a free port, the one polling wait
(and a health wait that shows the log's tail when it fails), and a group-wide stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 60.0,
    what: str = "condition",
    *,
    process: subprocess.Popen | None = None,
    log: Path | None = None,
    interval: float = 0.2,
) -> T:
    """Poll `predicate` until it returns something truthy, and return that: the one way the
    harness, the benchmarks and the tests wait for a process or a state. TimeoutError naming
    `what` once `timeout` seconds pass (a deadline against hanging, not a measurement);
    RuntimeError as soon as `process` exits, with the tail of its `log`."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            tail = "" if log is None else f":\n{log_tail(log)}"
            raise RuntimeError(f"{what}: the process exited with {process.returncode}{tail}")
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = "" if log is None else f"\n{log_tail(log)}"
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}{tail}")
        time.sleep(interval)


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """Whether `url` answers 200 now (False when it refuses, fails or answers otherwise)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_http(url: str, timeout: float, process: subprocess.Popen, log: Path) -> None:
    """Wait for `url` to answer 200 while `process` (writing `log`) runs."""
    wait_for(lambda: http_ok(url), timeout, f"{url} to be healthy", process=process, log=log)


def log_tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def terminate(process: subprocess.Popen, first: int = signal.SIGTERM) -> None:
    """Signal its process group (`first`: SIGTERM), SIGKILL after 20 s."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, first)
        process.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
