"""Jobs: ingest one day of orders, or retrain and republish from what is ingested."""

from dagster import AssetSelection, define_asset_job, in_process_executor

from .partitions import daily_partitions

ingest_job = define_asset_job(
    "ingest_job",
    selection=AssetSelection.keys("raw_orders"),
    partitions_def=daily_partitions,
    description="Read one day (or a range, as a single-run backfill) of orders from the source database.",
    executor_def=in_process_executor,
)

retrain_job = define_asset_job(
    "retrain_job",
    # the monitoring group judges the live model; the drift/skew sensors request this job, not the reverse
    selection=AssetSelection.all() - AssetSelection.keys("raw_orders") - AssetSelection.groups("monitoring"),
    description="Clean, split, train, evaluate, recommend and publish from the materialized raw_orders.",
    # the steps form a chain: one process saves a Python start-up and an import of the libraries per step
    executor_def=in_process_executor,
)
