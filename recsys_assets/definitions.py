"""The one Definitions object of the code location (workspace.yaml points `dagster dev` here)."""

from dagster import Definitions

from .assets import ALL_ASSETS
from .checks import ALL_CHECKS
from .deployment import current_deployment, resources_for
from .jobs import ingest_job, retrain_job

defs = Definitions(
    assets=ALL_ASSETS,
    asset_checks=ALL_CHECKS,
    jobs=[ingest_job, retrain_job],
    resources=resources_for(current_deployment()),
)
