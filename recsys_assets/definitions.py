"""The one Definitions object of the code location (workspace.yaml points `dagster dev` here)."""

from dagster import Definitions

from .assets import ALL_ASSETS
from .assets.monitoring import MONITORING_ASSETS
from .checks import ALL_CHECKS
from .deployment import current_deployment, resources_for
from .jobs import ingest_job, retrain_job
from .monitoring_resource import MonitoringResource
from .monitoring_sensors import MONITORING_SENSORS
from .promotion import promote_job

defs = Definitions(
    assets=ALL_ASSETS + MONITORING_ASSETS,
    asset_checks=ALL_CHECKS,
    jobs=[ingest_job, retrain_job, promote_job],
    sensors=MONITORING_SENSORS,
    resources={"monitoring": MonitoringResource(), **resources_for(current_deployment())},
)
