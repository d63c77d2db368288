"""Local Azure emulators: the Cosmos DB SQL-API server and Azurite (Blob), for the tests and `make prod-local`.

`make test` installs both (npm, pinned in emulators/package-lock.json) into `.tools/`. The servers start on
free loopback ports in their own session with default signal handlers, and stop by PID (SIGTERM, then
SIGKILL) whatever the test outcome. Missing binaries fail loudly: nothing is skipped.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from .processes import free_port, start, stop, wait_for_port  # noqa: F401  (stop: for the callers)

ROOT = Path(__file__).resolve().parents[2]  # the checkout (`make tools` installs into .tools/)
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
