"""IO managers: asset values pickled to a folder (local) or to Azure Blob storage (dev / prod, blob_io_manager.py:
dagster-azure and the Azure SDK are imported only by the deployments that use them).

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

import pickle
from pathlib import Path
from typing import Any, Protocol

from dagster import (
    ConfigurableIOManagerFactory,
    InputContext,
    IOManager,
    MetadataValue,
    OutputContext,
)

from ..core.faults import failpoint
from ..core.stores.files import write_atomically


class ValueStorage(Protocol):
    """Where a PickleIOManager keeps its values: a folder here, a blob container in blob_io_manager.py."""

    def write(self, name: str, data: bytes) -> dict: ...

    def read(self, name: str) -> bytes: ...

    def folder_metadata(self, name: str) -> dict: ...


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


class PickleIOManager(IOManager):
    """Pickled values in a storage (folder or blob container), one value per asset partition."""

    def __init__(self, storage: ValueStorage):
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
