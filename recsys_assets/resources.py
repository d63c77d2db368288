"""Dagster resources: thin wrappers that hand the assets core objects (source database, store, storage)."""

from typing import Any

from dagster import ConfigurableIOManagerFactory, ConfigurableResource, MetadataValue, OutputContext
from dagster._core.storage.fs_io_manager import PickledObjectFilesystemIOManager

from .core.source_db import SourceDatabase, SourceTables, safe_url
from .core.store import LocalRecommendationStore, RecommendationStore


class SourceDatabaseResource(ConfigurableResource):
    """The orders database (any SQLAlchemy URL) and the names of its three tables."""

    url: str
    orders_table: str = "orders"
    products_table: str = "products"
    customers_table: str = "customers"

    def database(self) -> SourceDatabase:
        return SourceDatabase(self.url, SourceTables(self.orders_table, self.products_table, self.customers_table))

    def display_url(self) -> str:
        return safe_url(self.url)


class StoreResource(ConfigurableResource):
    """Where recommendations are published; each deployment binds a concrete subclass."""

    def store(self) -> RecommendationStore:
        raise NotImplementedError

    def target(self) -> str:
        return "local"


class LocalStoreResource(StoreResource):
    """The embedded SQLite recommendation store."""

    path: str

    def store(self) -> RecommendationStore:
        return LocalRecommendationStore(self.path)


class _PartitionDictPickleIOManager(PickledObjectFilesystemIOManager):
    """Pickles outputs to files; a partitioned output covering several partitions (a single-run backfill)
    is a dict {partition_key: value} and is written as one file per partition."""

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        if not context.has_asset_partitions or len(context.asset_partition_keys) == 1:
            if context.has_asset_partitions and isinstance(obj, dict):
                obj = obj[context.asset_partition_key]
            super().handle_output(context, obj)
            return
        if not isinstance(obj, dict):
            raise TypeError(
                f"{context.asset_key.to_user_string()}: an output for {len(context.asset_partition_keys)} partitions "
                "must be a dict keyed by partition"
            )
        paths = self._get_paths_for_partitions(context)
        missing = sorted(set(paths) - set(obj))
        if missing:
            raise ValueError(f"{context.asset_key.to_user_string()}: no value for partition(s) {missing[:5]}")
        for key, path in paths.items():
            self.make_directory(path.parent)
            self.dump_to_path(context=context, obj=obj[key], path=path)
        first = next(iter(paths.values()))
        context.add_output_metadata({"path": MetadataValue.path(str(first.parent))})

    def _load_partition_from_path(self, context, partition_key, path, backcompat_path=None):
        # A rolling window over daily partitions meets days never materialized (before the data starts, or
        # gaps); the consuming asset reports them in one line instead of one warning per day.
        try:
            return self.load_from_path(context=context, path=path)
        except FileNotFoundError:
            if (context.definition_metadata or {}).get("allow_missing_partitions"):
                return None
            raise


class PartitionedPickleIOManager(ConfigurableIOManagerFactory):
    """Filesystem storage of asset values under `base_dir`, single-run backfills included."""

    base_dir: str

    def create_io_manager(self, context) -> PickledObjectFilesystemIOManager:
        return _PartitionDictPickleIOManager(base_dir=self.base_dir)


class ModelRegistryResource(ConfigurableResource):
    """Where trained model artifacts are kept by version (the model gate scores the live champion from here)."""

    path: str

    def registry(self):
        from .core.model_registry import ModelRegistry

        return ModelRegistry(self.path)
