"""Start `dagster-webserver` / `dagster-daemon` on workspace.yaml for a test, and always stop them by PID."""

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import httpx

from recsys_assets.topology import processes
from recsys_assets.topology.processes import free_port, stop

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
READY_QUERY = "{ repositoriesOrError { __typename ... on RepositoryConnection { nodes { name location { name } } } } }"


def start(command: list[str], log_path: Path) -> subprocess.Popen:
    """`command` in its own session from the checkout, output to `log_path` (recsys_assets/topology/processes.py)."""
    return processes.start(command, log_path, cwd=ROOT)


def graphql(url: str, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    body = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=timeout).json()
    if body.get("errors"):
        raise AssertionError(body["errors"])
    return body["data"]


@contextlib.contextmanager
def webserver(log_dir: Path, timeout: float = 90):
    """A webserver on a free loopback port, yielding its URL once the code location has loaded."""
    port = free_port()
    log_path = log_dir / "webserver.log"
    process = start(
        [str(BIN / "dagster-webserver"), "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        log_path,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"dagster-webserver exited {process.returncode}: {log_path.read_text()[-3000:]}")
            try:
                if graphql(url, READY_QUERY, timeout=5)["repositoriesOrError"].get("nodes"):
                    break
            except (httpx.HTTPError, KeyError, ValueError, TypeError, AssertionError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dagster-webserver not ready after {timeout}s: {log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        stop(process)


@contextlib.contextmanager
def daemon(log_dir: Path):
    """`dagster-daemon run`: dequeues runs, runs schedules, sensors and backfills."""
    process = start([str(BIN / "dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")], log_dir / "daemon.log")
    try:
        yield process
    finally:
        stop(process)


def wait_for(predicate, timeout: float, what: str, poll: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll)
