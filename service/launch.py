"""How the API process starts: the one uvicorn command line. docker-compose.yml and the
Dockerfile spell it in their own syntax; tests/deploy checks both against this."""

from __future__ import annotations

import sys

APP = "service.app:app"  # the default app (settings from the environment)


def api_command(
    port: int, host: str = "127.0.0.1", *, log_level: str | None = None, python: bool = False
) -> list[str]:
    """uvicorn serving the API on host:port (one worker, no access log); with `python`, run as
    this interpreter's module (`python -m uvicorn ...`, for child processes)."""
    command = ["uvicorn", APP, "--host", host, "--port", str(port), "--no-access-log"]
    if log_level is not None:
        command += ["--log-level", log_level]
    return [sys.executable, "-m", *command] if python else command
