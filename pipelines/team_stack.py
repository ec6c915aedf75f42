"""python -m pipelines.team_stack up: docker-compose.yml's topology as local processes, no Docker.

PostgreSQL (a throwaway cluster in a temp folder, on a free loopback port), `mlflow server` on it
with served artifacts, and the Stockcast API pointed at that server. It waits for each to be
healthy, prints where they are, and stops everything it started (by PID) on exit or Ctrl-C.
The end-to-end test and CI use the `Stack` class directly.
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from forecast.data.tickers import normalize_ticker
from pipelines.processes import free_port, terminate, wait_for, wait_http
from service.launch import api_command

DB_USER, DB_NAME, LEDGER_DB = "stockcast", "mlflow", "ledger"  # one server, two databases


def postgres_bin() -> Path:
    """The folder holding initdb/postgres (PATH, then Debian's /usr/lib/postgresql/N/bin)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if not candidates:
        raise RuntimeError(
            "PostgreSQL is not installed: apt-get install postgresql (Debian) or put initdb on PATH"
        )
    return Path(candidates[-1]).parent


class Stack:
    """PostgreSQL -> mlflow server -> Stockcast API, started in that order, stopped in reverse."""

    def __init__(
        self,
        workdir: str | Path | None = None,
        tickers: tuple[str, ...] = (),
        api_env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="stockcast-stack-")).resolve()
        self.tickers, self.api_env = tickers, dict(api_env or {})
        self.processes: list[subprocess.Popen] = []
        self.pg_port, self.mlflow_port, self.api_port = free_port(), free_port(), free_port()
        self.pg_dir: Path | None = None
        self._pg_user: str | None = None

    @property
    def mlflow_uri(self) -> str:
        return f"http://127.0.0.1:{self.mlflow_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Self:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._start_postgres()
        self._start_mlflow()
        self._start_api()
        return self

    def _spawn(
        self,
        command: list[str],
        log: str,
        env: dict[str, str] | None = None,
        user: str | None = None,
    ) -> subprocess.Popen:
        if user is not None:
            command = ["runuser", "-u", user, "--", *command]
        process = subprocess.Popen(
            command,
            stdout=(self.workdir / log).open("w"),
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # its own group: stop() gets its children
        )
        self.processes.append(process)
        return process

    def _start_postgres(self) -> None:
        binaries = postgres_bin()
        folder, self._pg_user = self._postgres_folder()
        initdb = [str(binaries / "initdb"), "-D", str(folder / "data"), "-U", DB_USER]
        as_user = ["runuser", "-u", self._pg_user, "--"] if self._pg_user else []
        subprocess.run(
            [*as_user, *initdb, "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
        )
        self._run_postgres()
        address = ["-h", "127.0.0.1", "-p", str(self.pg_port)]
        for database in (DB_NAME, LEDGER_DB):
            createdb = [str(binaries / "createdb"), *address, "-U", DB_USER, database]
            subprocess.run(createdb, check=True, capture_output=True)

    def _run_postgres(self) -> None:
        binaries, folder = postgres_bin(), self.pg_dir
        if folder is None:
            raise RuntimeError("PostgreSQL was never initialized: start() the stack first")
        settings = ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
        self.postgres_process = server = self._spawn(
            [str(binaries / "postgres"), "-D", str(folder / "data"), "-p", str(self.pg_port)]
            + ["-k", str(folder), *settings],
            "postgres.log",
            user=self._pg_user,
        )
        address = ["-h", "127.0.0.1", "-p", str(self.pg_port)]
        wait_for(
            lambda: (
                subprocess.run(
                    [str(binaries / "pg_isready"), *address], capture_output=True
                ).returncode
                == 0
            ),
            30,
            "PostgreSQL to accept connections",
            process=server,
            log=self.workdir / "postgres.log",
        )

    @property
    def ledger_uri(self) -> str:
        return f"postgresql://{DB_USER}@127.0.0.1:{self.pg_port}/{LEDGER_DB}"

    def stop_postgres(self) -> None:
        """Stop only PostgreSQL (fault injection: MLflow's store and the ledger go away): a fast
        shutdown (SIGINT), which does not wait for the clients' pooled connections to close."""
        terminate(self.postgres_process, signal.SIGINT)
        self.processes.remove(self.postgres_process)
        pid_file = (self.pg_dir or Path("/nonexistent")) / "data" / "postmaster.pid"
        wait_for(lambda: not pid_file.exists(), 30, "PostgreSQL to stop")

    def start_postgres(self) -> None:
        """Start PostgreSQL again on the same data and port."""
        self._run_postgres()

    def _postgres_folder(self) -> tuple[Path, str | None]:
        """A new folder for the cluster (self.pg_dir), and the user postgres runs as: postgres
        refuses to run as root, so as root it runs as the `postgres` system user in a folder of
        its own under /tmp (a test's tmp_path is not traversable for other users)."""
        self.pg_dir = folder = Path(tempfile.mkdtemp(prefix="stockcast-pg-"))
        if os.geteuid() != 0:
            return folder, None
        try:
            account = pwd.getpwnam("postgres")
        except KeyError as err:
            raise RuntimeError(
                "running as root needs the `postgres` system user (apt-get install postgresql)"
            ) from err
        os.chown(folder, account.pw_uid, account.pw_gid)
        return folder, "postgres"

    def _start_mlflow(self) -> None:
        backend = f"postgresql://{DB_USER}@127.0.0.1:{self.pg_port}/{DB_NAME}"
        self.mlflow_process = process = self._spawn(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--backend-store-uri",
                backend,
                "--serve-artifacts",
                "--artifacts-destination",
                str(self.workdir / "mlartifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.mlflow_port),
                "--workers",
                "1",
            ],
            "mlflow.log",
            env={
                "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            },
        )
        wait_http(f"{self.mlflow_uri}/health", 180, process, self.workdir / "mlflow.log")

    def _start_api(self) -> None:
        env = {
            "STOCKCAST_TRACKING_URI": self.mlflow_uri,
            "STOCKCAST_TICKERS": ",".join(self.tickers),
            "STOCKCAST_DATA_DIR": str(self.workdir / "cache"),
            "STOCKCAST_LEDGER_URI": self.ledger_uri,
            **self.api_env,
        }
        process = self._spawn(api_command(self.api_port, python=True), "api.log", env=env)
        wait_http(f"{self.api_url}/health", 60, process, self.workdir / "api.log")

    def stop_mlflow(self) -> None:
        """Stop only the MLflow server (fault injection: the registry goes away)."""
        terminate(self.mlflow_process)
        self.processes.remove(self.mlflow_process)

    def start_mlflow(self) -> None:
        """Start the MLflow server again on the same port and database."""
        self._start_mlflow()

    def stop(self) -> None:
        """Stop what this stack started, newest first, and remove the database folder."""
        for process in reversed(self.processes):
            terminate(process)
        if self.pg_dir is not None:
            shutil.rmtree(self.pg_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.team_stack", description=__doc__.splitlines()[0]
    )
    parser.add_argument("command", choices=["up"])
    parser.add_argument("--dir", help="folder for logs and artifacts (default: a new temp folder)")
    parser.add_argument(
        "--tickers", default="", help="models the API loads at startup, e.g. AAPL,MSFT"
    )
    args = parser.parse_args(argv)
    tickers = tuple(normalize_ticker(t) for t in args.tickers.split(",") if t.strip())
    with Stack(args.dir, tickers) as stack:
        print(  # noqa: T201
            f"PostgreSQL  127.0.0.1:{stack.pg_port} (user {DB_USER}, databases {DB_NAME} "
            f"and {LEDGER_DB})\n"
            f"MLflow      {stack.mlflow_uri}   (UI and registry)\n"
            f"Stockcast   {stack.api_url}   (POST /forecast, /docs)\n"
            f"logs        {stack.workdir}\n"
            f"train:      MLFLOW_TRACKING_URI={stack.mlflow_uri} python -m pipelines.train AAPL\n"
            "Ctrl-C stops everything."
        )
        try:
            signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
            while all(p.poll() is None for p in stack.processes):
                time.sleep(1)
            print("a process of the stack exited; stopping the rest", file=sys.stderr)  # noqa: T201
            return 1
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
