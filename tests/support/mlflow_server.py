"""A real `mlflow server` for the tests: SQLite backend and a local artifact store in a temporary folder, on a free
loopback port, in its own session with default signal handlers, stopped by PID (SIGTERM, then SIGKILL) whatever
happens. Clients reach it over HTTP as they would an MLflow server (or an Azure ML workspace) in dev / prod."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.dagster_processes import free_port, stop
from tests.support.signals import default_signals

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class MlflowServer:
    url: str
    folder: Path

    @property
    def artifacts(self) -> Path:
        return self.folder / "artifacts"


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    # no background job runner (it would start workers of its own), no usage telemetry, one worker: a test server
    env.update(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    return env


@contextlib.contextmanager
def mlflow_server(timeout: float = 90.0, empty_db: Path | None = None):
    """Start a server in a fresh temporary folder (its SQLite store copied from `empty_db`, an empty store already
    migrated, when given); yields an `MlflowServer`; stops it and removes the folder afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="recsys-mlflow-"))
    database, artifacts = folder / "mlflow.db", folder / "artifacts"
    artifacts.mkdir()
    if empty_db is not None:
        shutil.copy(empty_db, database)
    port = free_port()
    command = [
        str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{database}",
        "--artifacts-destination", str(artifacts), "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    log_path = folder / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, env=server_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=default_signals,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mlflow server exited {process.returncode}: {log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"mlflow server not ready after {timeout} s: {log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield MlflowServer(url, folder)
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)
