"""`retrain_after_ingest`: new `raw_orders` data starts `retrain_job`, exactly once per batch of new data.

Why a sensor rather than declarative automation: `interactions` (not partitioned) depends on every daily
partition of `raw_orders`. `AutomationCondition.eager()` does not fire while any upstream partition is missing
(the days before the first order), and a sensor lets us wait for a whole single-run backfill to finish and turn
its hundreds of partition materializations into one retraining. The decision rules are pure functions in
core/lifecycle/retrain_policy.py; this module only reads the Dagster instance.
"""

import os

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from ..core.lifecycle.retrain_policy import NewData, decide_retrain
from ..jobs import retrain_job
from ..tags import REASON_TAG, TRIGGER_TAG

RAW_ORDERS = AssetKey("raw_orders")
INTERACTIONS = AssetKey("interactions")
BUSY_STATUSES = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]
FINISHED_STATUSES = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
PAGE = 1000


def _rebuilds_interactions(run) -> bool:
    if run.job_name == retrain_job.name:
        return True
    return bool(run.asset_selection) and INTERACTIONS in run.asset_selection


def _new_data(instance, cursor: int | None) -> list[NewData]:
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=RAW_ORDERS, after_storage_id=cursor), limit=PAGE, ascending=True
    ).records
    return [NewData(r.storage_id, r.run_id, r.partition_key, r.timestamp) for r in records]


def _consumer(instance) -> tuple[float | None, str | None]:
    """Start time and id of the run behind the newest `interactions` materialization."""
    records = instance.fetch_materializations(INTERACTIONS, limit=1).records
    if not records:
        return None, None
    record = instance.get_run_record_by_id(records[0].run_id)
    if record is None:
        return records[0].timestamp, records[0].run_id
    return (record.start_time or record.create_timestamp.timestamp()), records[0].run_id


@sensor(
    name="retrain_after_ingest",
    job=retrain_job,
    minimum_interval_seconds=int(os.environ.get("RECSYS_RETRAIN_SENSOR_INTERVAL", "60")),
    default_status=DefaultSensorStatus.RUNNING,
    description="Start retrain_job once per batch of new raw_orders data (waits for backfills to finish).",
)
def retrain_after_ingest(context: SensorEvaluationContext):
    instance = context.instance
    cursor = int(context.cursor) if context.cursor else None
    new_data = _new_data(instance, cursor)
    run_ids = {record.run_id for record in new_data}
    finished = (
        {run.run_id for run in instance.get_runs(RunsFilter(run_ids=list(run_ids))) if run.status in FINISHED_STATUSES}
        if run_ids
        else set()
    )
    busy = next(
        (run.run_id for run in instance.get_runs(RunsFilter(statuses=BUSY_STATUSES)) if _rebuilds_interactions(run)),
        None,
    )
    consumed_at, consumer_run = _consumer(instance)
    decision = decide_retrain(new_data, finished, cursor, consumed_at, busy, consumer_run)
    if decision.cursor is not None and decision.cursor != cursor:
        context.update_cursor(str(decision.cursor))
    if decision.action != "request":
        return SkipReason(decision.reason)
    context.log.info(f"retrain_after_ingest: {decision.reason}; requesting {retrain_job.name}")
    return RunRequest(
        run_key=decision.run_key,
        tags={TRIGGER_TAG: "sensor", REASON_TAG: f"new data: {decision.reason}"[:250]},
    )
