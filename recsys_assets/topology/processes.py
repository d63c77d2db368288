"""Start servers in their own session, wait for them, stop them by PID; give each one its own read-only home.

In dev/prod no two processes share a disk (the chart's pods), so a process here gets a home of its own: RECSYS_HOME,
DAGSTER_HOME, HOME and the working directory point into it, and it is made read-only after the files that must exist
before start-up (dagster.yaml, workspace.yaml) are written. Only TMPDIR (its own) stays writable: a write of state to a
local folder fails loudly instead of working by accident. A process that owns a volume (MLflow's store, the Evidently
workspace) gets that folder writable, and nothing else.

Read-only means nothing to root (CAP_DAC_OVERRIDE): run as root, the processes start without the two file-permission
capabilities (`setpriv`), so the mode bits bind them as they bind any other user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

DROP_FILE_CAPS = [
    "setpriv",
    "--inh-caps=-dac_override,-dac_read_search",
    "--bounding-set=-dac_override,-dac_read_search",
]


def default_signals() -> None:
    """`preexec_fn` of a child process: the default actions of SIGINT, SIGTERM and SIGHUP, whatever the launching
    shell left (a background job of a non-interactive shell ignores SIGINT; a child inherits an ignored signal), so
    that the signals sent to a server or a run's process do what they do."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], log: Path, env: dict | None = None, cwd: Path | None = None) -> subprocess.Popen:
    """Start `command` in its own session (stdout and stderr to `log`) with default signal handlers."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=default_signals,
        )


def stop(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM the process group (children included: a code server's run workers), SIGKILL after `timeout`."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout)
        except ProcessLookupError:
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):  # whatever is left in the group
        os.killpg(process.pid, signal.SIGKILL)


def tail(log: Path, chars: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def wait_until(ready: Callable[[], bool], process: subprocess.Popen, name: str, log: Path, timeout: float) -> None:
    """Poll `ready` until it is true; fail with the log's tail if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}: {tail(log)}")
        with contextlib.suppress(OSError, httpx.HTTPError, ValueError, KeyError, TypeError):
            if ready():
                return
        if time.monotonic() > deadline:
            stop(process)
            raise RuntimeError(f"{name} not ready after {timeout:.0f} s: {tail(log)}")
        time.sleep(0.2)


def wait_for_port(port: int, process: subprocess.Popen, name: str, log: Path, timeout: float = 60.0) -> None:
    def listening() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True

    wait_until(listening, process, name, log, timeout)


def answers(url: str) -> Callable[[], bool]:
    return lambda: httpx.get(url, timeout=2).status_code == 200


@dataclass
class Home:
    """One process's own folders: `root` (RECSYS_HOME, HOME, DAGSTER_HOME under it) and `tmp` (TMPDIR)."""

    root: Path
    tmp: Path
    owned: list[Path] = field(default_factory=list)  # volumes this process owns: writable

    @property
    def dagster(self) -> Path:
        return self.root / "dagster"

    def env(self) -> dict[str, str]:
        return {
            "RECSYS_HOME": str(self.root),
            "DAGSTER_HOME": str(self.dagster),
            "HOME": str(self.root),
            "TMPDIR": str(self.tmp),
        }

    def seal(self) -> None:
        """Make every folder and file of the home read-only, except TMPDIR and the owned volumes."""
        keep = {self.tmp, *self.owned}
        for folder, dirs, files in os.walk(self.root):
            here = Path(folder)
            dirs[:] = [d for d in dirs if here / d not in keep]
            for name in files:
                (here / name).chmod(0o444)
            here.chmod(0o555)

    def unseal(self) -> None:
        for folder, _dirs, _files in os.walk(self.root):
            Path(folder).chmod(Path(folder).stat().st_mode | stat.S_IWUSR)


def new_home(base: Path, name: str, owned: tuple[str, ...] = ()) -> Home:
    """An empty home for process `name` under `base`: TMPDIR and the `owned` folders exist and stay writable."""
    root = base / name
    home = Home(root, root / "tmp", [root / folder for folder in owned])
    for folder in (home.root, home.tmp, home.dagster, *home.owned):
        folder.mkdir(parents=True, exist_ok=True)
    return home


def remove_homes(base: Path) -> None:
    for folder, _dirs, _files in os.walk(base):
        with contextlib.suppress(OSError):
            Path(folder).chmod(0o755)
    shutil.rmtree(base, ignore_errors=True)


def confined(command: list[str]) -> list[str]:
    """`command` without the capabilities that let root write into a read-only folder (as is for other users)."""
    if os.geteuid() != 0:
        return command
    if shutil.which("setpriv") is None:
        raise RuntimeError("running as root needs `setpriv` (util-linux) to make the read-only homes bind")
    return [*DROP_FILE_CAPS, "--", *command]
