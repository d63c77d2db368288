"""A real `mlflow server` for the tests: SQLite backend and a local artifact store in a temporary folder, on a free
loopback port, in its own session with default signal handlers, stopped by PID (SIGTERM, then SIGKILL) whatever
happens. Clients reach it over HTTP as they would an MLflow server (or an Azure ML workspace) in dev / prod."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from recsys_assets.topology.processes import answers, free_port, start, stop, wait_until
from recsys_assets.topology.stack import MLFLOW_SERVER_ENV, mlflow_server_command


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
    # no usage telemetry; no job runner of the server's own (MLFLOW_SERVER_ENV)
    env.update(MLFLOW_SERVER_ENV, MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    return env


@contextlib.contextmanager
def mlflow_server(timeout: float = 90.0, empty_db: Path | None = None):
    """Start a server in a fresh temporary folder (its SQLite store copied from `empty_db`, an empty store already
    migrated, when given); yields an `MlflowServer`; stops it and removes the folder afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="recsys-mlflow-"))
    (folder / "artifacts").mkdir()
    if empty_db is not None:
        shutil.copy(empty_db, folder / "mlflow.db")
    port = free_port()
    log_path = folder / "server.log"
    process = start(mlflow_server_command(folder, port), log_path, env=server_env())
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(answers(f"{url}/health"), process, "mlflow server", log_path, timeout)
        yield MlflowServer(url, folder)
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)
