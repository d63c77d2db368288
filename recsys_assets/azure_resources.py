"""Dagster resources of the dev and prod deployments: the Cosmos DB store and Dagster's storage on Azure Blob.

- `CosmosStoreResource`: the recommendation store in Cosmos DB, one database per target (dev, prod). Which
  target a run publishes to follows `publication_target` (targets.py): only schedule / sensor runs of the
  prod deployment reach prod.
- `BlobPickleIOManager`: asset values pickled to blobs through dagster-azure's `AzureBlobStorageResource`
  (Blob API, so it runs against Azurite in the tests as well as against a storage account), with the same
  single-run multi-partition support as the local IO manager.
"""

import contextlib
import pickle
from typing import Any

from dagster import ConfigurableIOManagerFactory, InitResourceContext, MetadataValue, OutputContext
from dagster_azure.blob import AzureBlobStorageResource
from pydantic import Field, PrivateAttr

from .core.cosmos_store import CosmosRecommendationStore, CosmosSettings
from .resources import StoreResource, _PartitionDictPickleIOManager
from .targets import TARGETS, publication_target


class CosmosStoreResource(StoreResource):
    """Recommendations in Azure Cosmos DB (SQL API): database `dev_database` or `prod_database` by target."""

    endpoint: str = Field(description="Account endpoint, e.g. https://<account>.documents.azure.com:443/")
    key: str = Field(description="Account key (set it through an environment variable, never in a file).")
    deployment: str = Field("dev", description="The deployment these resources belong to: dev or prod.")
    dev_database: str = "recsys-dev"
    prod_database: str = "recsys-prod"
    container: str = "recommendations"
    concurrency: int = Field(32, description="Document writes in flight at once (see README: RU budget).")
    batch_customers: int = Field(1000, description="Documents built and written per batch (bounds memory).")
    max_retries: int = Field(8, description="Retries of a document write answered 429/503.")
    max_retry_wait_s: float = Field(10.0, description="Longest single wait between retries.")
    connection_verify: bool = Field(True, description="Verify the TLS certificate (off only for an emulator).")

    _run_tags: dict = PrivateAttr(default_factory=dict)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        run = context.dagster_run
        self._run_tags = dict(run.tags) if run is not None else {}

    def target(self) -> str:
        return publication_target(self.deployment, self._run_tags)

    def settings_for(self, target: str) -> CosmosSettings:
        if target not in ("dev", "prod"):
            raise ValueError(f"a Cosmos DB store target is dev or prod, got {target!r} (targets: {TARGETS})")
        return CosmosSettings(
            endpoint=self.endpoint,
            key=self.key,
            database=self.prod_database if target == "prod" else self.dev_database,
            container=self.container,
            concurrency=self.concurrency,
            batch_customers=self.batch_customers,
            max_retries=self.max_retries,
            max_retry_wait_s=self.max_retry_wait_s,
            connection_verify=self.connection_verify,
        )

    def store_for(self, target: str) -> CosmosRecommendationStore:
        return CosmosRecommendationStore(self.settings_for(target), target=target)

    def store(self) -> CosmosRecommendationStore:
        return self.store_for(self.target())


class _BlobPartitionDictPickleIOManager(_PartitionDictPickleIOManager):
    """The local pickle IO manager's layout, with blobs instead of files (paths are blob names)."""

    def __init__(self, container_client, prefix: str):
        super().__init__(base_dir=prefix)
        self._container = container_client

    def _blob(self, path):
        return self._container.get_blob_client(path.as_posix())

    def dump_to_path(self, context: OutputContext, obj: Any, path) -> None:
        self._blob(path).upload_blob(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL), overwrite=True)

    def load_from_path(self, context, path) -> Any:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return pickle.loads(self._blob(path).download_blob().readall())
        except ResourceNotFoundError as error:
            raise FileNotFoundError(f"blob {self._container.url}/{path.as_posix()} does not exist") from error

    def path_exists(self, path) -> bool:
        return self._blob(path).exists()

    def unlink(self, path) -> None:
        self._blob(path).delete_blob()

    def make_directory(self, path) -> None:  # blob names have no directories
        pass

    def _handle_transition_to_partitioned_asset(self, context, path) -> None:
        pass

    def get_metadata(self, context: OutputContext, obj: Any) -> dict:
        return {"blob_container": MetadataValue.url(self._container.url)}


class BlobPickleIOManager(ConfigurableIOManagerFactory):
    """Asset values as pickled blobs in `container` under `prefix` (created on first use)."""

    blob_storage: AzureBlobStorageResource
    container: str = "dagster"
    prefix: str = "storage"

    def create_io_manager(self, context) -> _BlobPartitionDictPickleIOManager:
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient(
            account_url=self.blob_storage.account_url, credential=self.blob_storage._raw_credential()
        )
        container = service.get_container_client(self.container)
        with contextlib.suppress(ResourceExistsError):
            container.create_container()
        return _BlobPartitionDictPickleIOManager(container, self.prefix)
