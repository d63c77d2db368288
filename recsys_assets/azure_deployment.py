"""The resources of the dev and prod deployments, read from the environment (see README, "Azure").

Secrets (`COSMOS_KEY`, `AZURE_STORAGE_KEY`) reach Dagster only as `EnvVar`s, resolved when a run starts and
never written to the run config or a log. Settings that are not secret are read here, at load time.
"""

from __future__ import annotations

import os

from .deployment import DeploymentError

REQUIRED = ("RECSYS_SOURCE_URL", "COSMOS_ENDPOINT", "COSMOS_KEY", "AZURE_STORAGE_ACCOUNT_URL")


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise DeploymentError(f"{name} must be true or false, got {value!r}")


def check_environment(deployment: str) -> None:
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        raise DeploymentError(
            f"RECSYS_DEPLOYMENT={deployment} needs the environment variable(s) {', '.join(missing)} "
            "(see the README section 'Azure: Cosmos DB and storage')"
        )


def cosmos_store_resource(deployment: str):
    """The store resource; endpoint and key are `EnvVar`s (resolved only when a run starts)."""
    from dagster import EnvVar

    from .azure_resources import CosmosStoreResource

    return CosmosStoreResource(
        endpoint=EnvVar("COSMOS_ENDPOINT"),
        key=EnvVar("COSMOS_KEY"),
        deployment=deployment,
        dev_database=os.environ.get("COSMOS_DEV_DATABASE") or "recsys-dev",
        prod_database=os.environ.get("COSMOS_PROD_DATABASE") or "recsys-prod",
        container=os.environ.get("COSMOS_CONTAINER") or "recommendations",
        concurrency=int(os.environ.get("COSMOS_CONCURRENCY") or 32),
        connection_verify=_flag("COSMOS_CONNECTION_VERIFY", True),
    )


def blob_storage_resource():
    from dagster import EnvVar
    from dagster_azure.blob import (
        AzureBlobStorageDefaultCredential,
        AzureBlobStorageKeyCredential,
        AzureBlobStorageResource,
    )

    # with a key in the environment use it; otherwise the managed identity / az login of the host
    credential = (
        AzureBlobStorageKeyCredential(key=EnvVar("AZURE_STORAGE_KEY"))
        if os.environ.get("AZURE_STORAGE_KEY")
        else AzureBlobStorageDefaultCredential()
    )
    return AzureBlobStorageResource(account_url=EnvVar("AZURE_STORAGE_ACCOUNT_URL"), credential=credential)


def azure_resources(deployment: str) -> dict:
    from dagster import EnvVar

    from .azure_resources import BlobPickleIOManager
    from .deployment import recsys_home
    from .resources import ModelRegistryResource, SourceDatabaseResource

    check_environment(deployment)
    return {
        "source": SourceDatabaseResource(url=EnvVar("RECSYS_SOURCE_URL")),
        "store": cosmos_store_resource(deployment),
        "io_manager": BlobPickleIOManager(
            blob_storage=blob_storage_resource(),
            container=os.environ.get("AZURE_STORAGE_CONTAINER") or f"recsys-{deployment}",
            prefix="storage",
        ),
        # the model gate reads the champion's model from here: on several machines, mount shared storage
        # (e.g. an Azure Files share) at RECSYS_MODEL_REGISTRY_DIR
        "models": ModelRegistryResource(
            path=os.environ.get("RECSYS_MODEL_REGISTRY_DIR") or str(recsys_home() / "models" / deployment)
        ),
    }


def cosmos_serving_stores() -> dict:
    """The dev and prod Cosmos DB stores for the serving app (outside Dagster: read straight from the
    environment, and no Dagster import, so the app starts fast)."""
    from .core.cosmos_store import CosmosRecommendationStore, CosmosSettings

    for name in ("COSMOS_ENDPOINT", "COSMOS_KEY"):
        if not os.environ.get(name):
            raise DeploymentError(f"serving from Cosmos DB needs the environment variable {name}")
    databases = {
        "dev": os.environ.get("COSMOS_DEV_DATABASE") or "recsys-dev",
        "prod": os.environ.get("COSMOS_PROD_DATABASE") or "recsys-prod",
    }
    return {
        target: CosmosRecommendationStore(
            CosmosSettings(
                endpoint=os.environ["COSMOS_ENDPOINT"],
                key=os.environ["COSMOS_KEY"],
                database=database,
                container=os.environ.get("COSMOS_CONTAINER") or "recommendations",
                connection_verify=_flag("COSMOS_CONNECTION_VERIFY", True),
            ),
            target,
        )
        for target, database in databases.items()
    }
