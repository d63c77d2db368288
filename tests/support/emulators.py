"""Local Azure emulators for the tests: the Cosmos DB SQL-API server and Azurite (Blob).

`make test` installs both (npm, pinned in emulators/package-lock.json) into `.tools/`. The servers start on
free loopback ports in their own session with default signal handlers, and stop by PID (SIGTERM, then
SIGKILL) whatever the test outcome. Missing binaries fail loudly: nothing is skipped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.signals import default_signals

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".tools" / "node_modules" / ".bin"
# Azurite's well-known development account (public, documented by Microsoft; not a secret)
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# the emulator accepts any base64 string as the account key
COSMOS_EMULATOR_KEY = "ZW11bGF0b3Ita2V5"


def binary(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        raise RuntimeError(f"{path} is missing: run `make test` (or `make tools`) to install the Azure emulators")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, name: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    stop(process)
    raise RuntimeError(f"{name} did not listen on 127.0.0.1:{port} within {timeout:.0f} s: {log.read_text()[-2000:]}")


def start(command: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=default_signals,
        )


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop the server and everything it started (its own process group), by PID."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)


@dataclass
class CosmosEmulator:
    process: subprocess.Popen
    port: int
    ssl: bool
    key: str = COSMOS_EMULATOR_KEY

    @property
    def endpoint(self) -> str:
        return f"{'https' if self.ssl else 'http'}://127.0.0.1:{self.port}"


def start_cosmos(workdir: Path, ssl: bool = False) -> CosmosEmulator:
    port = free_port()
    command = [str(binary("cosmosdb-server")), "-p", str(port), "--host", "127.0.0.1"]
    if not ssl:
        command.append("--no-ssl")
    log = workdir / f"cosmosdb-server-{port}.log"
    process = start(command, log)
    wait_for_port(port, process, "cosmosdb-server", log)
    return CosmosEmulator(process, port, ssl)


@dataclass
class Azurite:
    process: subprocess.Popen
    port: int
    account: str = AZURITE_ACCOUNT
    key: str = AZURITE_KEY

    @property
    def account_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.account}"


def start_azurite(workdir: Path) -> Azurite:
    port = free_port()
    location = workdir / f"azurite-{port}"
    location.mkdir(parents=True, exist_ok=True)
    command = [
        str(binary("azurite-blob")),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--location",
        str(location),
        "--silent",
        "--skipApiVersionCheck",
        "--loose",
        "--disableTelemetry",
    ]
    log = workdir / f"azurite-{port}.log"
    process = start(command, log)
    wait_for_port(port, process, "azurite-blob", log)
    return Azurite(process, port)


# ---- pytest fixtures (imported by conftest.py) ----------------------------------------------------------
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def cosmos_emulator(tmp_path_factory):
    """The Cosmos DB emulator over plain HTTP (the fast mode; HTTPS is covered by its own test)."""
    emulator = start_cosmos(tmp_path_factory.mktemp("cosmos"), ssl=False)
    try:
        yield emulator
    finally:
        stop(emulator.process)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    emulator = start_azurite(tmp_path_factory.mktemp("azurite"))
    try:
        yield emulator
    finally:
        stop(emulator.process)
