"""Run tag keys: the only place they are spelled (schedules, sensors, assets, the CLI and its GraphQL client)."""

# who started the run: "manual" (default when absent), "schedule" or "sensor"
TRIGGER_TAG = "recsys/trigger"
AUTOMATIC_TRIGGERS = ("schedule", "sensor")
# which publication target the run writes to: "local", "dev" or "prod" (set by the deployment logic)
TARGET_TAG = "recsys/target"
# why a retraining run was requested (drift report, skew report, ...)
REASON_TAG = "recsys/reason"
# the Evidently report behind a drift or skew run request
REPORT_TAG = "recsys/report"
# run-queue limits (the instance's concurrency settings): at most one run tagged retrain at a time
CONCURRENCY_TAG = "recsys/concurrency"
RETRAIN_CONCURRENCY = "retrain"

# Dagster's own tags: one partition, a range of partitions run as one (single-run backfill), and the tags its
# schedules and sensors put on the runs they launch
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
DAGSTER_AUTOMATION_TAGS = ("dagster/schedule_name", "dagster/sensor_name")
