"""`drift_sensor` and `skew_sensor`: evaluate new data against the live model and request `retrain_job` on drift.

Each tick is bounded: the reference features are cached per model version, the drift sensor evaluates the
newest `max_current_days` materialized raw_orders days (reading from the source only those materialized since the
last tick: the others' purchase lines are cached per partition) and the skew sensor the newest `skew_window_days`
serving-log files. The master data come from the products/customers assets as last materialized: a sensor has no
asset inputs, so it loads them through the IO manager (`watch.inputs.stored_master_data`) and hands them to the
same check the assets run.
The cursor (JSON) records what was evaluated, so the same data never fires twice:
- drift: {"model_version", "partition"} — the newest raw_orders partition evaluated for that model;
- skew: {"model_version", "day", "bytes"} — the newest serving-log day file and its size when evaluated.
A new model version (after retraining) starts afresh. Too little new data leaves the cursor where it was, so
the next tick judges the larger sample. The report is recorded as a materialization of `drift_report` /
`skew_report`, so the UI shows it whether or not a run is requested.
"""

import json
import os

from dagster import (
    AssetMaterialization,
    DefaultSensorStatus,
    IOManager,
    ResourceParam,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from ..core.stores.serving_log import no_servings_reason
from ..instance.live_model import LiveModel, NoLiveModel, live_model, new_partitions
from ..jobs import retrain_job
from ..resources.monitoring import MonitoringResource
from ..resources.source import SourceDatabaseResource
from ..resources.stores import StoreResource
from ..tags import REASON_TAG, REPORT_TAG, TRIGGER_TAG
from ..watch.inputs import log_window, stored_master_data
from ..watch.live_checks import run_data_drift, run_serving_skew
from ..watch.results import CheckOutcome, outcome_metadata

# RECSYS_MONITOR_SENSOR_INTERVAL: seconds between two ticks of each monitor (default hourly)
SENSOR_INTERVAL_SECONDS = int(os.environ.get("RECSYS_MONITOR_SENSOR_INTERVAL", "3600"))


def _model_and_cursor(context: SensorEvaluationContext, store: StoreResource) -> tuple[LiveModel | str, dict]:
    """The model the store serves (or why there is none to compare with) and the sensor's JSON cursor."""
    try:
        model: LiveModel | str = live_model(context.instance, store.served_store())
    except NoLiveModel as error:
        model = str(error)
    try:
        cursor = json.loads(context.cursor) if context.cursor else {}
    except json.JSONDecodeError:
        context.log.warning(f"{context.sensor_name}: unreadable cursor {context.cursor!r}; starting afresh")
        cursor = {}
    return model, cursor


def _result(outcome: CheckOutcome, asset: str, label: str, run_key: str, cursor: dict) -> SensorResult:
    """The run request (when drifted), the report as a materialization of `asset`, and the new cursor."""
    event = AssetMaterialization(asset_key=asset, metadata=outcome_metadata(outcome))
    if not outcome.drifted:
        return SensorResult(
            cursor=json.dumps(cursor),
            asset_events=[event],
            skip_reason=f"{outcome.check}: {outcome.result.verdict} in {outcome.evaluated[0]}..{outcome.evaluated[-1]}"
            + (f" (no score for {outcome.result.unscored_features})" if outcome.result.unscored_features else "")
            + f" (report {outcome.files.html})",
        )
    request = RunRequest(
        run_key=run_key,
        tags={TRIGGER_TAG: "sensor", REASON_TAG: outcome.reason(label), REPORT_TAG: str(outcome.files.html)},
    )
    return SensorResult(run_requests=[request], cursor=json.dumps(cursor), asset_events=[event])


@sensor(
    job=retrain_job,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="Data drift of new raw_orders partitions vs the served model's training data; retrains on drift.",
)
def drift_sensor(
    context: SensorEvaluationContext,
    source: SourceDatabaseResource,
    store: StoreResource,
    monitoring: MonitoringResource,
    io_manager: ResourceParam[IOManager],
):
    model, cursor = _model_and_cursor(context, store)
    if isinstance(model, str):
        return SkipReason(model)
    partitions = new_partitions(context.instance, model)
    if not partitions:
        return SkipReason(f"no raw_orders partition after the training data of model {model.version}")
    if cursor.get("model_version") == model.version and partitions[-1] <= cursor.get("partition", ""):
        return SkipReason(f"raw_orders up to {cursor['partition']} already evaluated for model {model.version}")
    products, customers = stored_master_data(context.instance, io_manager)
    database, served = source.database(), store.served_store()
    outcome = run_data_drift(context.instance, database, served, monitoring, products, customers)
    if outcome.result is None:
        return SkipReason(outcome.skipped)
    newest = outcome.evaluated[-1]
    return _result(
        outcome,
        "drift_report",
        "drift",
        f"drift:{model.version}:{newest}",
        {"model_version": model.version, "partition": newest},
    )


@sensor(
    job=retrain_job,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="Training/serving skew of the serving log vs the served model's training data; retrains on skew.",
)
def skew_sensor(
    context: SensorEvaluationContext,
    source: SourceDatabaseResource,
    store: StoreResource,
    monitoring: MonitoringResource,
    io_manager: ResourceParam[IOManager],
):
    model, cursor = _model_and_cursor(context, store)
    if isinstance(model, str):
        return SkipReason(model)
    log = monitoring.serving_log()
    days, size = log_window(log, monitoring.skew_window_days)
    if not days:
        return SkipReason(no_servings_reason(log))
    seen = (cursor.get("model_version"), cursor.get("day"), cursor.get("bytes"))
    if seen == (model.version, days[-1], size):
        return SkipReason(f"serving log up to {days[-1]} ({size} bytes) already evaluated for model {model.version}")
    products, customers = stored_master_data(context.instance, io_manager)
    database, served = source.database(), store.served_store()
    outcome = run_serving_skew(context.instance, database, served, monitoring, products, customers)
    if outcome.result is None:
        return SkipReason(outcome.skipped)
    return _result(
        outcome,
        "skew_report",
        "skew",
        f"skew:{model.version}:{days[-1]}:{size}",
        {"model_version": model.version, "day": days[-1], "bytes": size},
    )
