"""Every sensor: retraining after new data, drift and skew monitoring, alerts, freshness."""

from .alerts import alert_on_run_failure, freshness_alerts, metric_threshold_alerts
from .fold_in import fold_in_orders_sensor
from .freshness import freshness_sensor
from .monitoring import drift_sensor, skew_sensor
from .retrain import retrain_after_ingest

ALL_SENSORS = [
    retrain_after_ingest,
    alert_on_run_failure,
    metric_threshold_alerts,
    freshness_sensor,
    freshness_alerts,
    drift_sensor,
    skew_sensor,
    fold_in_orders_sensor,
]
