"""Alert sensors: a failed run, a metric beyond its threshold or a failed freshness check becomes an alert.

The alert record and the thresholds are plain functions in core/lifecycle/alerts.py, the alert log and the
webhook POST in core/stores/alert_sinks.py. Thresholds come
from the environment (RECSYS_ALERT_MAP_FLOOR, RECSYS_ALERT_DROPPED_SHARE_CEILING), the webhook URL from
RECSYS_ALERT_WEBHOOK_URL (optional; only its host is ever logged).
"""

import os
import warnings

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    MultiAssetSensorEvaluationContext,
    RunFailureSensorContext,
    SensorEvaluationContext,
    SkipReason,
    multi_asset_sensor,
    run_failure_sensor,
    sensor,
)

from ..checks.freshness import freshness_checks
from ..core.lifecycle.alerts import Alert, evaluate_thresholds, thresholds_from_env
from ..core.stores.alert_sinks import raise_alert
from ..resources.state_storage import alert_home
from ..tags import PARTITION_TAG, TRIGGER_TAG

ALERT_INTERVAL_SECONDS = int(os.environ.get("RECSYS_ALERT_SENSOR_INTERVAL", "30"))
MONITORED_METRICS = [AssetKey("model_metrics"), AssetKey("interactions")]


def root_cause(error) -> str:
    """The original error behind wrappers such as "Exceeded max_retries" (the innermost cause)."""
    if error is None:
        return ""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip()


def run_failure_alert(context: RunFailureSensorContext) -> Alert:
    run = context.dagster_run
    failed_steps = {
        event.step_key: root_cause(event.event_specific_data.error) for event in context.get_step_failure_events()
    }
    error = context.failure_event.message or ""
    first = next(iter(failed_steps.items()), None)
    summary = f"step {first[0]} failed: {first[1][:300]}" if first else error[:300]
    return Alert(
        kind="run_failure",
        source=run.job_name,
        message=f"run {run.run_id} of {run.job_name} failed: {summary}",
        details={
            "run_id": run.run_id,
            "job": run.job_name,
            "trigger": run.tags.get(TRIGGER_TAG, "manual"),
            "partition": run.tags.get(PARTITION_TAG),
            "failed_steps": failed_steps,
        },
    )


@run_failure_sensor(
    name="alert_on_run_failure",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=ALERT_INTERVAL_SECONDS,
    description="Record an alert (the alert history, log, optional webhook) for every failed run.",
)
def alert_on_run_failure(context: RunFailureSensorContext):
    alert = run_failure_alert(context)
    delivery = raise_alert(alert, alert_home())
    context.log.warning(f"alert {delivery.describe()}: {alert.message}")


def _metric_threshold_alerts(context: MultiAssetSensorEvaluationContext):
    thresholds = thresholds_from_env()
    raised = []
    first_tick = not context.cursor  # a newly enabled sensor looks at the latest values, not the whole history
    for key in MONITORED_METRICS:
        if first_tick:
            latest = context.latest_materialization_records_by_key([key]).get(key)
            records = [latest] if latest is not None else []
        else:
            records = list(context.materialization_records_for_key(key, limit=100))
        for record in records:
            materialization = record.asset_materialization
            metadata = {name: value.value for name, value in materialization.metadata.items()}
            details = {"run_id": record.run_id, "storage_id": record.storage_id}
            if "model_version" in metadata:
                details["model_version"] = metadata["model_version"]
            for alert in evaluate_thresholds(key.to_user_string(), metadata, thresholds, details):
                raise_alert(alert, alert_home())
                raised.append(alert.message)
        if records:
            context.advance_cursor({key: records[-1]})
    if not raised:
        return SkipReason("every new metric is within its threshold")
    context.log.warning(f"{len(raised)} metric alert(s): " + "; ".join(raised))
    return SkipReason(f"{len(raised)} alert(s) recorded: " + "; ".join(raised)[:900])


# multi-asset sensors are "superseded" by declarative automation for launching runs; an alert is a side effect,
# the use Dagster still recommends them for
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    metric_threshold_alerts = multi_asset_sensor(
        name="metric_threshold_alerts",
        monitored_assets=MONITORED_METRICS,
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=ALERT_INTERVAL_SECONDS,
        description="Alert when MAP@K of the model falls below a floor or the dropped-row share rises above a ceiling.",
    )(_metric_threshold_alerts)


FRESHNESS_CHECK_KEYS = [spec.key for checks in freshness_checks for spec in checks.check_specs]


@sensor(
    name="freshness_alerts",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=ALERT_INTERVAL_SECONDS,
    description="Alert once for every failed freshness check evaluation of published_recommendations.",
)
def freshness_alerts(context: SensorEvaluationContext):
    cursor = int(context.cursor) if context.cursor else 0
    newest, raised = cursor, []
    for check_key in FRESHNESS_CHECK_KEYS:
        record = context.instance.get_latest_asset_check_evaluation_record(check_key)
        if record is None or record.id <= cursor or record.status.value == "PLANNED":
            continue
        newest = max(newest, record.id)
        if record.status.value != "FAILED":
            continue
        evaluation = record.event.asset_check_evaluation if record.event else None
        description = (evaluation.description if evaluation else None) or "the freshness check failed"
        alert = Alert(
            kind="freshness",
            source=check_key.asset_key.to_user_string(),
            message=f"{check_key.to_user_string()} failed: {description}",
            details={"check": check_key.to_user_string(), "run_id": record.run_id},
        )
        raise_alert(alert, alert_home())
        raised.append(alert.message)
    if newest != cursor:
        context.update_cursor(str(newest))
    return SkipReason("; ".join(raised) if raised else "no new failed freshness evaluation")
