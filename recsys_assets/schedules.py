"""`daily_ingest`: every night, materialize the `raw_orders` partition of the day that just ended (and, in the same
run, the master data `products` / `customers` its check validates against).

The downstream assets follow through the `retrain_after_ingest` sensor (recsys_assets/sensors/retrain.py), once per
batch of new data. Runs carry TRIGGER_TAG = "schedule" (production publishing is routed on it).

`daily_online_metrics`: every night after the ingestion, materialize `online_metrics` for the serving day whose
attribution window (`RECSYS_ONLINE_ATTRIBUTION_DAYS`, 14) closed with the orders just ingested.
"""

import datetime as dt
import os

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, SkipReason, schedule

from .jobs import ingest_job, online_job
from .partitions import daily_partitions
from .tags import TRIGGER_TAG

# 01:00 UTC: the orders of the previous UTC day have landed in the source database
DAILY_INGEST_CRON = os.environ.get("RECSYS_DAILY_INGEST_CRON", "0 1 * * *")


def ingest_partition_for(tick: dt.datetime) -> str:
    """The partition a tick ingests: the UTC day before the tick."""
    return (tick.astimezone(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%d")


@schedule(
    name="daily_ingest",
    cron_schedule=DAILY_INGEST_CRON,
    execution_timezone="UTC",
    job=ingest_job,
    default_status=DefaultScheduleStatus.RUNNING,
    description="Ingest the raw_orders partition of the previous UTC day; retrain_after_ingest retrains after it.",
)
def daily_ingest(context: ScheduleEvaluationContext):
    partition = ingest_partition_for(context.scheduled_execution_time)
    if not daily_partitions.has_partition_key(partition):
        return SkipReason(f"daily_ingest: partition {partition} is outside raw_orders' partitions")
    return RunRequest(
        run_key=partition,  # one run per day, however often the tick is re-evaluated
        partition_key=partition,
        tags={TRIGGER_TAG: "schedule"},
    )


DAILY_ONLINE_CRON = os.environ.get("RECSYS_DAILY_ONLINE_CRON", "0 3 * * *")


def online_partition_for(tick: dt.datetime, attribution_days: int) -> str:
    """The serving day whose attribution window ends with the UTC day before the tick."""
    return (tick.astimezone(dt.UTC) - dt.timedelta(days=1 + attribution_days)).strftime("%Y-%m-%d")


@schedule(
    name="daily_online_metrics",
    cron_schedule=DAILY_ONLINE_CRON,
    execution_timezone="UTC",
    job=online_job,
    default_status=DefaultScheduleStatus.RUNNING,
    description="online_metrics of the serving day whose attribution window closed with yesterday's orders.",
)
def daily_online_metrics(context: ScheduleEvaluationContext):
    days = int(os.environ.get("RECSYS_ONLINE_ATTRIBUTION_DAYS", "14"))
    partition = online_partition_for(context.scheduled_execution_time, days)
    if not daily_partitions.has_partition_key(partition):
        return SkipReason(f"daily_online_metrics: partition {partition} is outside the daily partitions")
    return RunRequest(
        run_key=partition,
        partition_key=partition,
        run_config={"ops": {"online_metrics": {"config": {"attribution_days": days}}}},
        tags={TRIGGER_TAG: "schedule"},
    )
