"""The `store` resource: where recommendations are published, one concrete class per deployment.

- `LocalStoreResource`: the embedded SQLite store of the local deployment.
- `CosmosStoreResource`: Azure Cosmos DB, one database per target (dev, prod). Which target a run publishes to
  follows `publication_target` (targets.py): only schedule / sensor runs of the prod deployment reach prod.
"""

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from ..core.stores.cosmos_store import CosmosRecommendationStore, CosmosSettings
from ..core.stores.store import LocalRecommendationStore, RecommendationStore
from .targets import TARGETS, publication_target


class StoreResource(ConfigurableResource):
    """Where recommendations are published; each deployment binds a concrete subclass."""

    def store(self) -> RecommendationStore:
        raise NotImplementedError

    def target(self) -> str:
        return "local"

    def served_store(self) -> RecommendationStore:
        """The store this deployment's customers are served from (what the monitors judge)."""
        return self.store()


class LocalStoreResource(StoreResource):
    """The embedded SQLite recommendation store."""

    path: str

    def store(self) -> RecommendationStore:
        return LocalRecommendationStore(self.path)


class CosmosStoreResource(StoreResource):
    """Recommendations in Azure Cosmos DB (SQL API): database `dev_database` or `prod_database` by target."""

    endpoint: str = Field(description="Account endpoint, e.g. https://<account>.documents.azure.com:443/")
    key: str = Field(description="Account key (set it through an environment variable, never in a file).")
    deployment: str = Field("dev", description="The deployment these resources belong to: dev or prod.")
    dev_database: str = "recsys-dev"
    prod_database: str = "recsys-prod"
    container: str = "recommendations"
    concurrency: int = Field(32, description="Document writes in flight at once (docs: Deploy to Azure, RU budget).")
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

    def served_store(self) -> CosmosRecommendationStore:
        """dev serves from the dev database, prod from the prod one, whoever launched the run or tick."""
        return self.store_for(self.deployment)
