"""A real PostgreSQL server for the tests and `make prod-local`: initdb into a temporary folder, started on a free
loopback port, stopped by PID (SIGTERM, then SIGKILL) whatever happens.

`make test` installs Debian's PostgreSQL where it is missing (`make postgres`). PostgreSQL refuses to run as root:
when the tests run as root, the server runs as the `postgres` system user (`runuser`), which owns its folder.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .processes import default_signals, free_port


@dataclass(frozen=True)
class PostgresServer:
    port: int
    user: str = "recsys"
    password: str = "recsys-test"

    def url(self, database: str, driver: str = "postgresql") -> str:
        return f"{driver}://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, driver: str = "postgresql") -> str:
        """A fresh database; returns its SQLAlchemy URL (with `driver` as the scheme)."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name, driver)


def binaries() -> Path:
    """The folder of initdb/postgres: on PATH, or Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise RuntimeError(
            "PostgreSQL is not installed: run `make test` (it installs Debian's postgresql) or `make postgres`"
        )
    return Path(candidates[-1]).parent


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def postgres_server(timeout: float = 60.0):
    """Initialise and start a server in a fresh temporary folder (one the `postgres` user can reach: pytest's own
    temporary folders are private to root); yields a `PostgresServer`; removes the folder afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="recsys-postgres-"))
    folder.chmod(0o755)
    try:
        with _started(folder, timeout) as server:
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _started(folder: Path, timeout: float):
    bin_dir, server = binaries(), PostgresServer(free_port())
    data, sockets = folder / "data", folder / "sockets"
    data.mkdir(parents=True)
    sockets.mkdir()
    password_file = folder / "password"
    password_file.write_text(server.password)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        for path in (data, sockets, password_file):
            shutil.chown(path, "postgres")
    subprocess.run(
        _as_server_user(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", server.user, "--pwfile", str(password_file)]
            + ["--auth=scram-sha-256", "--encoding=UTF8", "--locale=C"]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        _as_server_user(
            [str(bin_dir / "postgres"), "-D", str(data), "-p", str(server.port), "-h", "127.0.0.1"]
            + ["-k", str(sockets), "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=default_signals,
    )
    log.close()
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"postgres exited {process.returncode}: {(folder / 'server.log').read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=1):
                try:
                    server.create_database("probe")
                    break
                except Exception:  # still starting up
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres not ready after {timeout}s: {(folder / 'server.log').read_text()}")
            time.sleep(0.2)
        yield server
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
