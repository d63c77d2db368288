"""Asset values as pickled blobs (dev / prod): PickleIOManager's layout and rules in an Azure Blob container."""

from __future__ import annotations

import contextlib

from dagster import ConfigurableIOManagerFactory, MetadataValue
from dagster_azure.blob import AzureBlobStorageResource

from .io_managers import PickleIOManager


class BlobValueStorage:
    """Values as blobs `prefix/name` of a container (a blob upload is committed whole or not at all)."""

    def __init__(self, container_client, prefix: str):
        self.container = container_client
        self.prefix = prefix.strip("/")

    def _blob(self, name: str):
        return self.container.get_blob_client(f"{self.prefix}/{name}" if self.prefix else name)

    def write(self, name: str, data: bytes) -> dict:
        blob = self._blob(name)
        blob.upload_blob(data, overwrite=True)
        return {"path": MetadataValue.path(blob.blob_name), "blob_container": MetadataValue.url(self.container.url)}

    def read(self, name: str) -> bytes:
        from azure.core.exceptions import ResourceNotFoundError

        blob = self._blob(name)
        try:
            return blob.download_blob().readall()
        except ResourceNotFoundError as error:
            raise FileNotFoundError(f"blob {self.container.url}/{blob.blob_name} does not exist") from error

    def folder_metadata(self, name: str) -> dict:
        return {"path": MetadataValue.path(self._blob(name).blob_name)}


class BlobPickleIOManager(ConfigurableIOManagerFactory):
    """Asset values as pickled blobs in `container` under `prefix` (created on first use), through dagster-azure's
    `AzureBlobStorageResource` (Blob API: runs against Azurite in the tests as well as against an account)."""

    blob_storage: AzureBlobStorageResource
    container: str = "dagster"
    prefix: str = "storage"

    def create_io_manager(self, context) -> PickleIOManager:
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import BlobServiceClient

        # dagster-azure offers no public accessor for the credential it resolved (private attribute, pinned version)
        service = BlobServiceClient(
            account_url=self.blob_storage.account_url, credential=self.blob_storage._raw_credential()
        )
        container = service.get_container_client(self.container)
        with contextlib.suppress(ResourceExistsError):
            container.create_container()
        return PickleIOManager(BlobValueStorage(container, self.prefix))
