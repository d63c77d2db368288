"""Environment and paths of the product (no Dagster import): which deployment, where its data lives.

`RECSYS_DEPLOYMENT` picks the deployment (`local` by default, `dev` or `prod`); `resources/` turns it into
Dagster resources and `serving/stores.py` into the stores the API reads. Everything that reads the environment
for a setting (not a secret) lives here; secrets reach Dagster only as `dagster.EnvVar` (resources/azure.py)
and the serving app straight from the environment, and are never logged.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

DEPLOYMENTS = ("local", "dev", "prod")
DEFAULT_PARTITIONS_START = "2026-01-01"
# what the dev / prod deployments cannot run without (docs: how-to/deploy-azure-aks.md)
AZURE_REQUIRED = ("RECSYS_SOURCE_URL", "COSMOS_ENDPOINT", "COSMOS_KEY", "AZURE_STORAGE_ACCOUNT_URL")


class DeploymentError(RuntimeError):
    """The deployment settings are missing or inconsistent; the message names the variable."""


def current_deployment() -> str:
    deployment = os.environ.get("RECSYS_DEPLOYMENT", "local").strip().lower()
    if deployment not in DEPLOYMENTS:
        raise DeploymentError(f"RECSYS_DEPLOYMENT must be one of {DEPLOYMENTS}, got {deployment!r}")
    return deployment


def recsys_home() -> Path:
    """The data folder of the local deployment: source DB, store, Dagster storage and instance."""
    return Path(os.environ.get("RECSYS_HOME", ".recsys")).resolve()


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or recsys_home() / "dagster").resolve()


def explicit_partitions_start() -> str | None:
    """RECSYS_PARTITIONS_START when set (else the partitions start at the first order day: partitions.py)."""
    return os.environ.get("RECSYS_PARTITIONS_START", "").strip() or None


def local_source_url() -> str:
    return os.environ.get("RECSYS_SOURCE_URL") or f"sqlite:///{recsys_home() / 'source.db'}"


def source_url() -> str | None:
    """The source database of the current deployment: RECSYS_SOURCE_URL, or the local file by default."""
    if current_deployment() == "local":
        return local_source_url()
    return os.environ.get("RECSYS_SOURCE_URL") or None


def local_store_path() -> Path:
    """The embedded SQLite recommendation store of the local deployment."""
    return recsys_home() / "store.sqlite"


def serving_log_dir() -> Path:
    """Where the serving API appends its request log and the skew monitor reads it (RECSYS_SERVING_LOG_DIR)."""
    return Path(os.environ.get("RECSYS_SERVING_LOG_DIR") or recsys_home() / "serving_log").resolve()


def serving_cached_lists() -> int:
    """How many decoded lists the serving API keeps for repeated requests (RECSYS_SERVING_CACHED_LISTS; default 0:
    none). Pays off when customers ask again before the store changes; costs CPU when they do not."""
    text = os.environ.get("RECSYS_SERVING_CACHED_LISTS", "").strip() or "0"
    if not text.isdigit():
        raise DeploymentError(f"RECSYS_SERVING_CACHED_LISTS must be a whole number of lists (0: none), got {text!r}")
    return int(text)


# <monitoring dir>/online/<day>.json: the online_metrics figures of each day, shown by the API's /metrics
ONLINE_FOLDER = "online"


def monitoring_dir() -> Path:
    """Where drift and skew reports are written: <dir>/<check>/<timestamp>.html and .json."""
    return Path(os.environ.get("RECSYS_MONITORING_DIR") or recsys_home() / "monitoring").resolve()


def control_share() -> float:
    """Share of customers served the popularity list as a control group (RECSYS_CONTROL_SHARE, 0 to 0.5)."""
    text = os.environ.get("RECSYS_CONTROL_SHARE", "").strip() or "0.05"
    try:
        return float(text)
    except ValueError as error:
        raise DeploymentError(f"RECSYS_CONTROL_SHARE must be a number between 0 and 0.5, got {text!r}") from error


def control_salt() -> str:
    """Salt of the control-group assignment (RECSYS_CONTROL_SALT); a new salt draws a new group."""
    return os.environ.get("RECSYS_CONTROL_SALT", "").strip() or "recsys-control-1"


def evidently_workspace_dir() -> Path:
    """The folder Evidently workspace (RECSYS_EVIDENTLY_WORKSPACE, default RECSYS_HOME/evidently)."""
    return Path(os.environ.get("RECSYS_EVIDENTLY_WORKSPACE") or recsys_home() / "evidently").resolve()


def evidently_url() -> str:
    """A remote `evidently ui` service used as the workspace instead of the folder (RECSYS_EVIDENTLY_URL)."""
    return os.environ.get("RECSYS_EVIDENTLY_URL", "").strip().rstrip("/")


def evidently_ui_url(remote: str = "") -> str:
    """Where people open the Evidently UI (RECSYS_EVIDENTLY_UI_URL; default the remote service, else the address
    `make monitor-ui` serves on)."""
    return (os.environ.get("RECSYS_EVIDENTLY_UI_URL", "").strip() or remote or "http://127.0.0.1:8001").rstrip("/")


def api_url() -> str:
    """The serving API's address as the data team opens it (RECSYS_API_URL, e.g. https://recsys.example.com): the
    monitoring assets link their reports to its /reports/<check>/<stamp>.html route when the reports are in Blob
    storage. Empty: they link the blob's URL."""
    return os.environ.get("RECSYS_API_URL", "").strip().rstrip("/")


def mlflow_tracking_uri(deployment: str) -> str:
    """The MLflow tracking server and model registry that keeps the model versions (MLFLOW_TRACKING_URI).

    Local default: a SQLite store under RECSYS_HOME/mlflow (artifacts in RECSYS_HOME/mlflow/artifacts). Dev and prod
    share no disk between processes: there it is required (an MLflow server, or an Azure ML workspace's URI).
    """
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if uri:
        return uri
    if deployment != "local":
        raise DeploymentError(
            f"RECSYS_DEPLOYMENT={deployment} needs the environment variable MLFLOW_TRACKING_URI: the MLflow tracking "
            "server that keeps the model registry (see the docs: Deploy to Azure and AKS)"
        )
    return f"sqlite:///{mlflow_home() / 'mlflow.db'}"


def mlflow_home() -> Path:
    """The local MLflow store: RECSYS_HOME/mlflow (mlflow.db and artifacts/)."""
    return recsys_home() / "mlflow"


def mlflow_artifact_location(deployment: str) -> str | None:
    """Where a new experiment keeps its artifacts: next to a SQLite store (`<its folder>/artifacts`: locally
    RECSYS_HOME/mlflow/artifacts); with a tracking server None, the server's own artifact store (Blob in dev/prod)."""
    uri = mlflow_tracking_uri(deployment)
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").resolve().as_uri()
    return None


def mlflow_model_name(deployment: str) -> str:
    """The registered model (and the experiment of its runs): RECSYS_MLFLOW_MODEL_NAME, default recsys-<deployment>."""
    return os.environ.get("RECSYS_MLFLOW_MODEL_NAME", "").strip() or f"recsys-{deployment}"


def legacy_model_folder() -> Path:
    """The folder of pickled models of older local homes (imported into MLflow once, then renamed)."""
    return recsys_home() / "models"


def model_registry_settings(deployment: str) -> dict[str, str]:
    """The model registry of `deployment` (core/stores/mlflow_registry.open_registry's arguments): the resource and
    the serving API both build it from here."""
    return {
        "tracking_uri": mlflow_tracking_uri(deployment),
        "model_name": mlflow_model_name(deployment),
        "artifact_location": mlflow_artifact_location(deployment) or "",
        "legacy_folder": str(legacy_model_folder()) if deployment == "local" else "",
    }


EXECUTORS = ("in_process", "multiprocess")


def retrain_executor() -> tuple[str, int]:
    """How retrain_job executes its steps (RECSYS_EXECUTOR) and how many at once (RECSYS_MAX_CONCURRENT, 0: one per
    core). `in_process` (default) runs the chain of steps in the run's process; `multiprocess` gives every step
    its own process, so the candidates of model selection are fitted side by side."""
    name = os.environ.get("RECSYS_EXECUTOR", "in_process").strip().lower() or "in_process"
    if name not in EXECUTORS:
        raise DeploymentError(f"RECSYS_EXECUTOR must be one of {EXECUTORS}, got {name!r}")
    return name, int(os.environ.get("RECSYS_MAX_CONCURRENT") or 0)


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise DeploymentError(f"{name} must be true or false, got {value!r}")


def check_azure_environment(deployment: str) -> None:
    missing = [name for name in AZURE_REQUIRED if not os.environ.get(name)]
    if missing:
        raise DeploymentError(
            f"RECSYS_DEPLOYMENT={deployment} needs the environment variable(s) {', '.join(missing)} "
            "(see the docs: Deploy to Azure and AKS)"
        )


def cosmos_databases() -> dict[str, str]:
    """The Cosmos DB database of each publication target."""
    return {
        "dev": os.environ.get("COSMOS_DEV_DATABASE") or "recsys-dev",
        "prod": os.environ.get("COSMOS_PROD_DATABASE") or "recsys-prod",
    }


def cosmos_container() -> str:
    return os.environ.get("COSMOS_CONTAINER") or "recommendations"


def cosmos_concurrency() -> int:
    return int(os.environ.get("COSMOS_CONCURRENCY") or 32)


def cosmos_connection_verify() -> bool:
    return env_flag("COSMOS_CONNECTION_VERIFY", True)


def blob_container(deployment: str) -> str:
    return os.environ.get("AZURE_STORAGE_CONTAINER") or f"recsys-{deployment}"


@functools.cache
def git_commit() -> str:
    """The git commit of this checkout (RECSYS_GIT_COMMIT overrides; 'unknown' outside a checkout)."""
    if os.environ.get("RECSYS_GIT_COMMIT"):
        return os.environ["RECSYS_GIT_COMMIT"]
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return result.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def import_date_order() -> bool | None:
    """RECSYS_IMPORT_DATES: `day-first` or `month-first` for imported files whose dates read both ways (03/04/2026);
    None (unset or `auto`): decided by the values, and refused when they cannot decide."""
    text = os.environ.get("RECSYS_IMPORT_DATES", "").strip().lower() or "auto"
    orders = {"day-first": True, "month-first": False, "auto": None}
    if text not in orders:
        raise DeploymentError(f"RECSYS_IMPORT_DATES must be day-first, month-first or auto, got {text!r}")
    return orders[text]


def import_currency() -> str | None:
    """RECSYS_IMPORT_CURRENCY: the currency of imported order lines when the export has no currency column."""
    return os.environ.get("RECSYS_IMPORT_CURRENCY", "").strip().upper() or None
