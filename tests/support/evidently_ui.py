"""Start `evidently ui` on a workspace folder for a test (free loopback port), and always stop it by PID."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.dagster_processes import BIN, free_port, start, stop


@contextmanager
def evidently_ui(workspace: Path, log_path: Path, timeout: float = 60.0) -> Iterator[str]:
    """The UI's base URL once `GET /api/projects` answers; the process group is stopped on exit (SIGKILL after 15 s).

    Set DO_NOT_TRACK=1 in the environment first: the service then sends no usage telemetry.
    """
    port = free_port()
    command = [str(BIN / "evidently"), "ui", "--workspace", str(workspace), "--host", "127.0.0.1", "--port", str(port)]
    process = start(command, log_path)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"evidently ui exited with {process.returncode}: {log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/api/projects", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"evidently ui did not answer on {url} in {timeout}s: {log_path.read_text()[-2000:]}"
                )
            time.sleep(0.2)
        yield url
    finally:
        stop(process)
