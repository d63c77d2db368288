"""IO managers: asset values pickled to a folder (local) or to Azure Blob storage (dev / prod).

Both keep one layout, `<base>/<asset key path>[/<partition key>]` (op outputs: `<base>/<run id>/<step>/<output>`),
and both support what `raw_orders` needs:
- a single-run backfill returns one dict {partition_key: value} for the whole range; it is stored as one value
  per partition, so later runs can load any day on its own;
- an input over many daily partitions with `allow_missing_partitions` metadata skips the days never
  materialized (before the data starts, or gaps) instead of failing; the consuming asset reports them.
- an unpartitioned input with `allow_missing` metadata loads as None while the asset was never materialized
  (raw_orders_suite falls back to the source's master data then).
Files are written to a temporary name and renamed, so a killed run never leaves half a value behind.
"""

from __future__ import annotations

import contextlib
import pickle
from pathlib import Path
from typing import Any

from dagster import (
    ConfigurableIOManagerFactory,
    InputContext,
    IOManager,
    MetadataValue,
    OutputContext,
)
from dagster_azure.blob import AzureBlobStorageResource

from ..core.faults import failpoint
from ..core.stores.files import write_atomically


class _FolderStorage:
    """Values as files under `base_dir`."""

    def __init__(self, base_dir: str):
        self.base = Path(base_dir)

    def write(self, name: str, data: bytes) -> dict:
        path = write_atomically(self.base / name, data)
        return {"path": MetadataValue.path(str(path))}

    def read(self, name: str) -> bytes:
        return (self.base / name).read_bytes()  # FileNotFoundError when never written

    def folder_metadata(self, name: str) -> dict:
        return {"path": MetadataValue.path(str(self.base / name))}


class _BlobStorage:
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


class PickleIOManager(IOManager):
    """Pickled values in a storage (folder or blob container), one value per asset partition."""

    def __init__(self, storage: _FolderStorage | _BlobStorage):
        self.storage = storage

    @staticmethod
    def _name(context: InputContext | OutputContext, partition: str | None = None) -> str:
        parts = list(context.asset_key.path) if context.has_asset_key else list(context.get_identifier())
        return "/".join([*parts, partition] if partition is not None else parts)

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        if not context.has_asset_partitions:
            context.add_output_metadata(self.storage.write(self._name(context), _dumps(obj)))
            return
        keys = list(context.asset_partition_keys)
        asset = context.asset_key.to_user_string()
        if len(keys) == 1:
            value = obj[keys[0]] if isinstance(obj, dict) and keys[0] in obj else obj
            context.add_output_metadata(self.storage.write(self._name(context, keys[0]), _dumps(value)))
            return
        if not isinstance(obj, dict):
            raise TypeError(f"{asset}: an output for {len(keys)} partitions must be a dict keyed by partition")
        missing = sorted(set(keys) - set(obj))
        if missing:
            raise ValueError(f"{asset}: no value for partition(s) {missing[:5]}")
        for key in keys:
            self.storage.write(self._name(context, key), _dumps(obj[key]))
            failpoint("io_manager.partition")  # some partitions of a backfill written, the rest not
        context.add_output_metadata(self.storage.folder_metadata(self._name(context)))

    def load_partition(self, asset_path: list[str], partition: str) -> Any:
        """One stored partition of an asset, None when it was never written (assets that read a window of a
        partitioned asset themselves, instead of loading every partition as an input)."""
        try:
            return pickle.loads(self.storage.read("/".join([*asset_path, partition])))
        except FileNotFoundError:
            return None

    def load_input(self, context: InputContext) -> Any:
        metadata = context.definition_metadata or {}
        if not context.has_asset_partitions:
            try:
                return pickle.loads(self.storage.read(self._name(context)))
            except FileNotFoundError:
                if metadata.get("allow_missing"):
                    return None
                raise
        keys = list(context.asset_partition_keys)
        allow_missing = bool(metadata.get("allow_missing_partitions"))
        values = {}
        for key in keys:
            try:
                values[key] = pickle.loads(self.storage.read(self._name(context, key)))
            except FileNotFoundError:
                if not allow_missing:
                    raise
        if len(keys) == 1:
            return values.get(keys[0])
        return values


def _dumps(obj: Any) -> bytes:
    return pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)


class PartitionedPickleIOManager(ConfigurableIOManagerFactory):
    """Asset values as pickle files under `base_dir`, single-run backfills included."""

    base_dir: str

    def create_io_manager(self, context) -> PickleIOManager:
        return PickleIOManager(_FolderStorage(self.base_dir))


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
        return PickleIOManager(_BlobStorage(container, self.prefix))
