"""What the serving app reads, per deployment: the recommendation stores by target, and the source database.

Imports core and settings only (no Dagster), so the API starts fast. Outside Dagster the Cosmos DB key is read
straight from the environment (never logged).
"""

from __future__ import annotations

import os

from ..settings import (
    DeploymentError,
    cosmos_connection_verify,
    cosmos_container,
    cosmos_databases,
    current_deployment,
    local_source_url,
    local_store_path,
)


def serving_stores(deployment: str | None = None) -> dict:
    """The recommendation stores the serving API and review page can read, keyed by target name.

    The first entry is the default target: `{"local": ...}` locally, `{"dev": ..., "prod": ...}` in dev / prod.
    """
    deployment = deployment or current_deployment()
    if deployment == "local":
        from ..core.stores.store import LocalRecommendationStore

        return {"local": LocalRecommendationStore(local_store_path())}
    return cosmos_serving_stores()


def cosmos_serving_stores() -> dict:
    """The dev and prod Cosmos DB stores, from the environment."""
    from ..core.stores.cosmos_store import CosmosRecommendationStore, CosmosSettings

    for name in ("COSMOS_ENDPOINT", "COSMOS_KEY"):
        if not os.environ.get(name):
            raise DeploymentError(f"serving from Cosmos DB needs the environment variable {name}")
    return {
        target: CosmosRecommendationStore(
            CosmosSettings(
                endpoint=os.environ["COSMOS_ENDPOINT"],
                key=os.environ["COSMOS_KEY"],
                database=database,
                container=cosmos_container(),
                connection_verify=cosmos_connection_verify(),
            ),
            target,
        )
        for target, database in cosmos_databases().items()
    }


def serving_source():
    """The source database the review page reads purchase history and product/customer names from."""
    from ..core.stores.source_db import SourceDatabase

    return SourceDatabase(local_source_url())
