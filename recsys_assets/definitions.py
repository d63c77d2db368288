"""The one Definitions object of the code location (workspace.yaml points `dagster dev` here)."""

from dagster import Definitions

from .assets import ALL_ASSETS
from .checks import ALL_CHECKS
from .jobs import ALL_JOBS, graph_executor
from .resources import resources_for
from .schedules import daily_ingest, daily_online_metrics
from .sensors import ALL_SENSORS

defs = Definitions(
    assets=ALL_ASSETS,
    asset_checks=ALL_CHECKS,
    jobs=ALL_JOBS,
    schedules=[daily_ingest, daily_online_metrics],
    sensors=ALL_SENSORS,
    resources=resources_for(),
    executor=graph_executor(),  # the UI's Materialize and backfills: as retrain_job
)
