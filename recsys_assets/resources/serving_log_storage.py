"""The serving log's location for this deployment: append blobs in Azure Blob storage in dev / prod
(AZURE_STORAGE_ACCOUNT_URL is required there: the API pods and the run pods share no disk), the
RECSYS_SERVING_LOG_DIR folder locally.

The Blob client is built from the same settings as the asset values' storage: AZURE_STORAGE_ACCOUNT_URL, the
container AZURE_STORAGE_CONTAINER (default `recsys-<deployment>`), AZURE_STORAGE_KEY when set, else the host's
managed identity / az login. No Dagster import: the API uses it too.
"""

from __future__ import annotations

import functools
import os

from .. import settings
from ..core.stores.serving_log_location import BlobLog, FolderLog, ServingLogLocation

BLOB_PREFIX = "serving-log"


def serving_log_in_blob() -> bool:
    """Dev / prod keep their shared state in Blob storage, never on a pod's disk (blob_container_client refuses to
    go on without a storage account)."""
    return settings.current_deployment() in ("dev", "prod")


def blob_container_client():
    """The deployment's Blob container (azure-storage-blob ContainerClient): the serving log and the monitors' state
    (resources/state_storage.py) live in it under prefixes of their own. One client per account, container and key
    in a process (a sensor tick asks often; the managed identity's token is then fetched once)."""
    account_url = os.environ.get("AZURE_STORAGE_ACCOUNT_URL", "").strip()
    if not account_url:
        raise settings.DeploymentError(
            f"RECSYS_DEPLOYMENT={settings.current_deployment()} keeps the serving log and the monitors' state in Blob "
            "storage: set AZURE_STORAGE_ACCOUNT_URL (see the docs: Deploy to Azure and AKS)"
        )
    container = settings.blob_container(settings.current_deployment())
    return _container_client(account_url, container, os.environ.get("AZURE_STORAGE_KEY") or None)


@functools.lru_cache(maxsize=8)
def _container_client(account_url: str, container: str, key: str | None):
    from azure.storage.blob import BlobServiceClient

    if key:
        credential = key
    else:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    return BlobServiceClient(account_url=account_url, credential=credential).get_container_client(container)


def blob_serving_log(writer_id: str | None = None) -> BlobLog:
    return BlobLog(blob_container_client(), BLOB_PREFIX, writer_id)


def serving_log_location(folder: str = "") -> ServingLogLocation:
    """`folder` when given (an explicit choice); else Blob storage in dev / prod; else the folder
    RECSYS_SERVING_LOG_DIR (default RECSYS_HOME/serving_log)."""
    if folder:
        return FolderLog(folder)
    if serving_log_in_blob():
        return blob_serving_log()
    return FolderLog(settings.serving_log_dir())
