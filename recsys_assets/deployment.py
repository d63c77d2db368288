"""The one place that decides the deployment (local / dev / prod) and the resources each one uses.

`RECSYS_DEPLOYMENT` picks the deployment (default `local`); everything else asks `current_deployment()` and
`resources_for()`. Secrets are read only through `dagster.EnvVar`, never stored or logged.
"""

from __future__ import annotations

import os
from pathlib import Path

DEPLOYMENTS = ("local", "dev", "prod")
DEFAULT_PARTITIONS_START = "2026-01-01"


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


def partitions_start() -> str:
    """First day of the daily `raw_orders` partitions (set it to the first day of your order history)."""
    return os.environ.get("RECSYS_PARTITIONS_START", DEFAULT_PARTITIONS_START)


def local_source_url() -> str:
    return os.environ.get("RECSYS_SOURCE_URL") or f"sqlite:///{recsys_home() / 'source.db'}"


def resources_for(deployment: str) -> dict:
    """The resources of `deployment`, keyed by resource name."""
    from .resources import LocalStoreResource, ModelRegistryResource, PartitionedPickleIOManager, SourceDatabaseResource

    home = recsys_home()
    if deployment == "local":
        return {
            "source": SourceDatabaseResource(url=local_source_url()),
            "store": LocalStoreResource(path=str(home / "store.sqlite")),
            "io_manager": PartitionedPickleIOManager(base_dir=str(home / "storage")),
            "models": ModelRegistryResource(path=str(home / "models")),
        }
    if deployment in ("dev", "prod"):
        from .azure_deployment import azure_resources

        return azure_resources(deployment)
    raise DeploymentError(f"deployment must be one of {DEPLOYMENTS}, got {deployment!r}")


def serving_log_dir() -> Path:
    """Where the serving API appends its request log and the skew monitor reads it (RECSYS_SERVING_LOG_DIR)."""
    return Path(os.environ.get("RECSYS_SERVING_LOG_DIR") or recsys_home() / "serving_log").resolve()


def monitoring_dir() -> Path:
    """Where drift and skew reports are written: <dir>/<check>/<timestamp>.html and .json."""
    return Path(os.environ.get("RECSYS_MONITORING_DIR") or recsys_home() / "monitoring").resolve()


def serving_stores(deployment: str | None = None) -> dict:
    """The recommendation stores the serving API and review page can read, keyed by target name.

    The first entry is the default target. Imports core only (no Dagster), so the API starts fast.
    """
    deployment = deployment or current_deployment()
    if deployment == "local":
        from .core.store import LocalRecommendationStore

        return {"local": LocalRecommendationStore(recsys_home() / "store.sqlite")}
    from .azure_deployment import cosmos_serving_stores

    return cosmos_serving_stores()


def serving_source():
    """The source database the review page reads purchase history and product/customer names from."""
    from .core.source_db import SourceDatabase

    return SourceDatabase(local_source_url())
