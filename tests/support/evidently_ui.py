"""Start `evidently ui` on a workspace folder for a test (free loopback port), and always stop it by PID."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from recsys_assets.topology.processes import answers, wait_until
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
        wait_until(answers(f"{url}/api/projects"), process, "evidently ui", log_path, timeout)
        yield url
    finally:
        stop(process)
