"""The resources of the dev and prod deployments, read from the environment (docs: how-to/deploy-azure-aks.md).

Secrets (`COSMOS_KEY`, `AZURE_STORAGE_KEY`) reach Dagster only as `EnvVar`s, resolved when a run starts and
never written to the run config or a log. Settings that are not secret are read at load time (settings.py).
"""

from __future__ import annotations

import os

from dagster import EnvVar

from .. import settings


def cosmos_store_resource(deployment: str):
    """The store resource; endpoint and key are `EnvVar`s (resolved only when a run starts)."""
    from .stores import CosmosStoreResource

    databases = settings.cosmos_databases()
    return CosmosStoreResource(
        endpoint=EnvVar("COSMOS_ENDPOINT"),
        key=EnvVar("COSMOS_KEY"),
        deployment=deployment,
        dev_database=databases["dev"],
        prod_database=databases["prod"],
        container=settings.cosmos_container(),
        concurrency=settings.cosmos_concurrency(),
        connection_verify=settings.cosmos_connection_verify(),
    )


def blob_storage_resource():
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
    """Source from RECSYS_SOURCE_URL, store in Cosmos DB, asset values in Blob storage, the model registry
    on the MLflow tracking server of MLFLOW_TRACKING_URI."""
    from .blob_io_manager import BlobPickleIOManager
    from .models import ModelRegistryResource
    from .source import SourceDatabaseResource

    settings.check_azure_environment(deployment)
    return {
        "source": SourceDatabaseResource(url=EnvVar("RECSYS_SOURCE_URL")),
        "store": cosmos_store_resource(deployment),
        "io_manager": BlobPickleIOManager(
            blob_storage=blob_storage_resource(), container=settings.blob_container(deployment), prefix="storage"
        ),
        "models": ModelRegistryResource(
            **settings.model_registry_settings(deployment) | {"tracking_uri": EnvVar("MLFLOW_TRACKING_URI")}
        ),
    }
