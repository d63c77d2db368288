"""The dev deployment as the Helm chart runs it, on this machine: one process per pod, sharing only the stores.

| process here                                   | in the chart (deploy/helm-values.yaml)                       |
|------------------------------------------------|--------------------------------------------------------------|
| PostgreSQL (instance database + order source)  | Azure Database for PostgreSQL (`postgresql.postgresqlHost`)  |
| Cosmos DB emulator, Azurite                    | the Cosmos DB account, the storage account                   |
| `mlflow server` (SQLite, artifacts in its home) | the MLflow tracking server / Azure ML workspace              |
| `evidently ui` (owns its workspace folder)     | the Evidently UI service with its volume                     |
| `dagster code-server start` (+ a process/run)  | `dagster-user-deployments` (+ one Kubernetes Job per run)    |
| `dagster-webserver`, `dagster-daemon`          | the chart's webserver and daemon                             |
| two `recsys serve`                             | two replicas of the serving API                              |

Every process gets its own empty, read-only home (processes.Home) and the environment of a pod of the dev
deployment (RECSYS_DEPLOYMENT=dev, the emulators' endpoints and keys, MLFLOW_TRACKING_URI, RECSYS_EVIDENTLY_URL).
The instance is deploy/dagster.yaml with one change: compute logs. dagster-azure's AzureBlobComputeLogManager builds
`https://<account>.blob.<suffix>/` itself and cannot reach Azurite (http://127.0.0.1:<port>/devstoreaccount1), so
here step logs go nowhere (NoOpComputeLogManager); the event log in PostgreSQL still holds every Dagster event.
Runs start as processes of the code server (DefaultRunLauncher); when one dies (killed, out of memory) the code server
marks its run failed, as run monitoring does for the K8sRunLauncher's Jobs.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from . import emulators
from .clock import clock_behind_env
from .postgres import PostgresServer, postgres_server
from .processes import (
    Home,
    answers,
    confined,
    free_port,
    new_home,
    remove_homes,
    start,
    stop,
    wait_for_port,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LOCATION = "recsys"
READY_QUERY = "{ repositoriesOrError { __typename ... on RepositoryConnection { nodes { name } } } }"
# keys of the two serving APIs (generated per topology; only the test and the person at the console see them)
API_KEY_ENV, REVIEW_KEY_ENV = "RECSYS_API_KEY", "RECSYS_REVIEW_KEY"
# the environment passed through from the launching shell: the interpreter's search paths, nothing of its state
PASSED_THROUGH = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "OPENBLAS_NUM_THREADS", "RECSYS_GIT_COMMIT")


@dataclass
class Service:
    name: str
    process: object  # subprocess.Popen
    log: Path
    home: Home | None = None
    url: str = ""


@dataclass
class Stores:
    """Where the shared stores answer (what the pods' environment names)."""

    cosmos: emulators.CosmosEmulator
    azurite: emulators.Azurite
    postgres: PostgresServer
    instance_url: str
    source_url: str


@dataclass
class Topology:
    """Start with `with Topology(base).running(postgres) as topology:`; every process is stopped by PID on exit."""

    base: Path
    extra_env: dict = field(default_factory=dict)  # e.g. RECSYS_PARTITIONS_START, sensor intervals
    api_key: str = field(default_factory=lambda: os.urandom(16).hex())
    review_key: str = field(default_factory=lambda: os.urandom(16).hex())
    services: dict[str, Service] = field(default_factory=dict)
    stores: Stores | None = None
    grpc_port: int = 0
    # the APIs' ports, chosen up front: the runs link their reports to API 1 (RECSYS_API_URL) before it starts
    api_ports: dict[str, int] = field(default_factory=lambda: {"api-1": free_port(), "api-2": free_port()})
    # the test only: the APIs' wall clock this many days behind (clock.py), so that their servings fall into a daily
    # partition (the newest is yesterday) that online_metrics can measure; `make prod-local` keeps the real clock
    api_clock_offset_days: int = 0

    # ---- environment -------------------------------------------------------------------------------------------
    def deployment_env(self) -> dict[str, str]:
        """What every pod of the dev deployment has in its environment (the chart's env and secrets)."""
        stores = self.stores
        assert stores is not None
        env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "PYTHONDONTWRITEBYTECODE": "1",  # the code is read-only in the image too
                "DO_NOT_TRACK": "1",  # Evidently, MLflow: no usage telemetry
                "MLFLOW_DISABLE_TELEMETRY": "true",
                "RECSYS_DEPLOYMENT": "dev",
                "RECSYS_SOURCE_URL": stores.source_url,
                "COSMOS_ENDPOINT": stores.cosmos.endpoint,
                "COSMOS_KEY": stores.cosmos.key,
                "AZURE_STORAGE_ACCOUNT_URL": stores.azurite.account_url,
                "AZURE_STORAGE_KEY": stores.azurite.key,
                "DAGSTER_POSTGRES_URL": stores.instance_url,
            }
        )
        if "mlflow" in self.services:
            env["MLFLOW_TRACKING_URI"] = self.services["mlflow"].url
        if "evidently" in self.services:
            env["RECSYS_EVIDENTLY_URL"] = self.services["evidently"].url
        env["RECSYS_API_URL"] = f"http://127.0.0.1:{self.api_ports['api-1']}"
        return {**env, **self.extra_env}

    def _start(
        self, name: str, command: list[str], home: Home, env: dict | None = None, url: str = "", seal: bool = True
    ) -> Service:
        if seal:
            home.seal()
        log = self.base / "logs" / f"{name}.log"
        env = {**self.deployment_env(), **home.env(), **(env or {})}
        process = start(confined(command), log, env=env, cwd=home.root)
        service = Service(name, process, log, home, url)
        self.services[name] = service
        return service

    # ---- the pieces ----------------------------------------------------------------------------------------------
    def start_stores(self, postgres: PostgresServer) -> None:
        (self.base / "logs").mkdir(parents=True, exist_ok=True)
        stores_dir = self.base / "stores"  # the emulators' data: the Azure services' own disks
        stores_dir.mkdir(exist_ok=True)
        cosmos = emulators.start_cosmos(stores_dir, ssl=False)
        self.services["cosmos"] = Service("cosmos", cosmos.process, stores_dir, url=cosmos.endpoint)
        azurite = emulators.start_azurite(stores_dir)
        self.services["azurite"] = Service("azurite", azurite.process, stores_dir, url=azurite.account_url)
        instance = postgres.create_database("dagster", driver="postgresql+psycopg2")
        source = postgres.create_database("orders", driver="postgresql+psycopg2")
        self.stores = Stores(cosmos, azurite, postgres, instance, source)

    def start_mlflow(self) -> None:
        """The tracking server and model registry: SQLite backend and artifact store in the volume it owns."""
        home = new_home(self.base / "homes", "mlflow", owned=("mlflow",))
        port = free_port()
        command = mlflow_server_command(home.root / "mlflow", port)
        service = self._start("mlflow", command, home, MLFLOW_SERVER_ENV, url=f"http://127.0.0.1:{port}")
        wait_until(answers(f"{service.url}/health"), service.process, "mlflow server", service.log, 120)

    def start_evidently(self) -> None:
        """The Evidently UI service, owner of its workspace volume (the runs and sensors write through its API)."""
        home = new_home(self.base / "homes", "evidently", owned=("workspace",))
        port = free_port()
        command = [str(BIN / "evidently"), "ui", "--workspace", str(home.root / "workspace")]
        command += ["--host", "127.0.0.1", "--port", str(port)]
        service = self._start("evidently", command, home, url=f"http://127.0.0.1:{port}")
        wait_until(answers(f"{service.url}/api/projects"), service.process, "evidently ui", service.log, 90)

    def dagster_home(self, name: str) -> Home:
        """A home with the instance settings every Dagster process mounts (the chart's instance ConfigMap) and the
        workspace that points at the code server."""
        home = new_home(self.base / "homes", name)
        (home.dagster / "dagster.yaml").write_text(yaml.safe_dump(instance_settings(), sort_keys=False))
        server = {"host": "127.0.0.1", "port": self.grpc_port, "location_name": LOCATION}
        workspace = {"load_from": [{"grpc_server": server}]}
        (home.root / "workspace.yaml").write_text(yaml.safe_dump(workspace))
        return home

    def start_code_server(self, env: dict | None = None) -> None:
        """The code location's gRPC server (the image's CMD); it starts a fresh process for every run."""
        self.grpc_port = self.grpc_port or free_port()
        home = self.dagster_home("code-server")
        command = [str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1", "-p", str(self.grpc_port)]
        command += ["-m", "recsys_assets.definitions", "--location-name", LOCATION]
        service = self._start("code-server", command, home, env)
        wait_for_port(self.grpc_port, service.process, "dagster code-server", service.log, 180)

    def restart_code_server(self, env: dict | None = None) -> None:
        """Stop the code server and start a new one on the same port (a new image rolled out)."""
        old = self.services.pop("code-server")
        stop(old.process)
        if old.home is not None:  # keep the old home's files for the post-mortem, under another name
            old.log.rename(old.log.with_suffix(f".{old.process.pid}.log"))
            remove_homes(old.home.root)
        self.start_code_server(env)
        self.reload_location()

    def start_webserver(self) -> None:
        home = self.dagster_home("webserver")
        port = free_port()
        command = [str(BIN / "dagster-webserver"), "-w", str(home.root / "workspace.yaml")]
        command += ["-h", "127.0.0.1", "-p", str(port)]
        service = self._start("webserver", command, home, url=f"http://127.0.0.1:{port}")

        def loaded() -> bool:
            return bool(graphql(service.url, READY_QUERY, timeout=5)["repositoriesOrError"].get("nodes"))

        wait_until(loaded, service.process, "dagster-webserver", service.log, 120)

    def start_daemon(self) -> None:
        home = self.dagster_home("daemon")
        self._start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(home.root / "workspace.yaml")], home)

    def start_api(self, name: str) -> Service:
        home = new_home(self.base / "homes", name)
        port = self.api_ports[name]
        command = [str(BIN / "recsys"), "serve", "--host", "127.0.0.1", "--port", str(port), "--refresh-seconds", "1"]
        env = {API_KEY_ENV: self.api_key, REVIEW_KEY_ENV: self.review_key}
        env.update(clock_behind_env(self.api_clock_offset_days))
        service = self._start(name, command, home, env, url=f"http://127.0.0.1:{port}")

        def up() -> bool:  # 503 "no live version" is an answer too: the API is up, the store is empty
            return httpx.get(f"{service.url}/health", timeout=2).status_code in (200, 503)

        wait_until(up, service.process, f"recsys serve ({name})", service.log, 90)
        return service

    def kill(self, name: str, sig: int) -> None:
        """Send `sig` to one process by its PID (a pod lost, an out-of-memory kill)."""
        os.kill(self.services[name].process.pid, sig)
        self.services[name].process.wait(30)

    def reload_location(self) -> None:
        """What *Reload* in the UI does: the webserver reconnects to the (restarted) code server."""
        mutation = "mutation($l: String!) { reloadRepositoryLocation(repositoryLocationName: $l) { __typename } }"
        graphql(self.services["webserver"].url, mutation, {"l": LOCATION}, timeout=120)

        def loaded() -> bool:
            return bool(graphql(self.services["webserver"].url, READY_QUERY, timeout=5)["repositoriesOrError"]["nodes"])

        wait_until(loaded, self.services["webserver"].process, "location reload", self.services["webserver"].log, 120)

    def write_source(self, data) -> None:
        """The orders, products and customers of `data` (a GeneratedData) into the PostgreSQL source."""
        from ..core.stores.source_db import open_for_writing

        assert self.stores is not None
        database = open_for_writing(self.stores.source_url)
        for table in ("orders", "products", "customers"):
            database.write(table, getattr(data, table), replace=True)

    def append_orders(self, orders) -> None:
        """New order lines in the source (the ERP's nightly load)."""
        from ..core.stores.source_db import open_for_writing

        assert self.stores is not None
        open_for_writing(self.stores.source_url).write("orders", orders, replace=False)

    def start_services(self) -> None:
        self.start_mlflow()
        self.start_evidently()
        self.start_code_server()
        self.start_webserver()
        self.start_daemon()
        self.start_api("api-1")
        self.start_api("api-2")

    def stop_all(self) -> None:
        for service in reversed(list(self.services.values())):
            stop(service.process)
        self.services.clear()

    @contextlib.contextmanager
    def running(self, data=None, postgres: PostgresServer | None = None):
        """The stores (PostgreSQL too, unless given), the source filled with `data` (the code location reads its
        first order day at start-up), then every process; everything stopped by PID afterwards."""
        with contextlib.ExitStack() as stack:
            if postgres is None:
                postgres = stack.enter_context(postgres_server())
            stack.callback(self.stop_all)
            self.start_stores(postgres)
            if data is not None:
                self.write_source(data)
            self.start_services()
            yield self

    def urls(self) -> dict[str, str]:
        """Where each UI and API answers."""
        return {
            "Dagster UI": self.services["webserver"].url,
            "API 1 (review page: /)": self.services["api-1"].url,
            "API 2 (review page: /)": self.services["api-2"].url,
            "Evidently UI": self.services["evidently"].url,
            "MLflow UI": self.services["mlflow"].url,
        }


# no background job runner of the server's own (it would start workers of its own)
MLFLOW_SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def mlflow_server_command(store: Path, port: int) -> list[str]:
    """`mlflow server` on the loopback `port`: SQLite backend `store/mlflow.db`, artifacts in `store/artifacts`."""
    command = [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += ["--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}"]
    return command + ["--artifacts-destination", str(store / "artifacts")]


def instance_settings() -> dict:
    """deploy/dagster.yaml (PostgreSQL storage, run queue limits, telemetry off) with step logs off: see above."""
    settings = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    settings["compute_logs"] = {
        "module": "dagster._core.storage.noop_compute_log_manager",
        "class": "NoOpComputeLogManager",
    }
    return settings


def graphql(url: str, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    body = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=timeout).json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


def temporary_base() -> Path:
    """A fresh folder for the homes, logs and emulator data (readable by the PostgreSQL user as well)."""
    base = Path(tempfile.mkdtemp(prefix="recsys-topology-"))
    base.chmod(0o755)
    return base
