"""`published_recommendations_freshness`: re-evaluates the freshness check whenever it could have become overdue."""

import os
import warnings

from dagster import DefaultSensorStatus, build_sensor_for_freshness_checks

from ..checks.freshness import freshness_checks

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    freshness_sensor = build_sensor_for_freshness_checks(
        freshness_checks=freshness_checks,
        name="published_recommendations_freshness",
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=int(os.environ.get("RECSYS_FRESHNESS_SENSOR_INTERVAL", "300")),
    )
