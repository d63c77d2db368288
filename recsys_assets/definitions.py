"""The one Definitions object of the code location (workspace.yaml points `dagster dev` here)."""

from dagster import Definitions

from .alerting import alert_on_run_failure, freshness_alerts, metric_threshold_alerts
from .assets import ALL_ASSETS
from .assets.monitoring import MONITORING_ASSETS
from .checks import ALL_CHECKS
from .deployment import current_deployment, resources_for
from .freshness import freshness_checks, freshness_sensor
from .jobs import ingest_job, retrain_job
from .monitoring_resource import MonitoringResource
from .monitoring_sensors import MONITORING_SENSORS
from .promotion import promote_job
from .retrain_sensor import retrain_after_ingest
from .schedules import daily_ingest

defs = Definitions(
    assets=ALL_ASSETS + MONITORING_ASSETS,
    asset_checks=[*ALL_CHECKS, *freshness_checks],
    jobs=[ingest_job, retrain_job, promote_job],
    schedules=[daily_ingest],
    sensors=[
        retrain_after_ingest,
        alert_on_run_failure,
        metric_threshold_alerts,
        freshness_sensor,
        freshness_alerts,
        *MONITORING_SENSORS,
    ],
    resources={"monitoring": MonitoringResource(), **resources_for(current_deployment())},
)
