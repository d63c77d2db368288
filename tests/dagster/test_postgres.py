"""Dagster on PostgreSQL, and the source database on PostgreSQL: the production engines, for real.

The instance's run, event-log and schedule storage live in a PostgreSQL server (the `storage: postgres` block of
deploy/dagster.yaml) with the product's run limits, a real webserver and daemon run against it, and the source
orders are imported into another PostgreSQL database. Then, as a data team meets it in the UI: the backfill of every
raw_orders partition ("Materialize... > All partitions > Launch backfill") runs as one ingest run, exactly one
retraining started by retrain_after_ingest publishes, a retraining asked for by hand meanwhile waits for it (the run
queue's limit), and a tick of the daily schedule runs — all recorded in PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from recsys_assets.cli.local_run import INSTANCE_SETTINGS
from recsys_assets.core.data.generator import GeneratorConfig, generate
from recsys_assets.core.stores.alert_sinks import read_alerts
from recsys_assets.core.stores.erp_csv import write_erp_csv
from recsys_assets.tags import CONCURRENCY_TAG, REASON_TAG, TRIGGER_TAG
from tests.support import dagster_processes

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DAYS = 20
# what the UI sends for "Materialize... > All partitions > Launch backfill" on raw_orders
LAUNCH_BACKFILL = """
mutation Backfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
  }
}
"""
BACKFILL_STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) { __typename ... on PartitionBackfill { status } }
}
"""
LAUNCH_RUN = """
mutation($p: ExecutionParams!) {
  launchRun(executionParams: $p) { __typename ... on LaunchRunSuccess { run { runId } } }
}
"""
RETRAIN = {"repositoryLocationName": "recsys", "repositoryName": "__repository__", "jobName": "retrain_job"}
# the retraining asked for by hand only shows the queue: one fit instead of the model selection's grid
ONE_FIT = {"ops": {"als_model": {"config": {"select_model": False}}}}
DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


def test_instance_and_source_on_postgres(recsys_home, tmp_path, monkeypatch, postgres):
    from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter

    # the source: an ERP-style export imported into PostgreSQL (staging tables + renames in one transaction)
    end = dt.date.today() - dt.timedelta(days=1)
    data = generate(GeneratorConfig(customers=600, products=500, days=DAYS, lines_per_day=500, seed=3, end_date=end))
    source = postgres.create_database("source")
    for table in ("orders", "products", "customers"):
        write_erp_csv(getattr(data, table), tmp_path / f"{table}.csv")
    files = [str(tmp_path / "orders.csv"), "--products", str(tmp_path / "products.csv")]
    files += ["--customers", str(tmp_path / "customers.csv"), "--url", source]
    imported = subprocess.run(
        [str(Path(sys.executable).parent / "recsys"), "import-orders", *files],
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    indexes = {i["name"] for i in sa.inspect(sa.create_engine(source)).get_indexes("orders")}
    assert {"ix_orders_order_ts", "ix_orders_customer_id"} <= indexes

    # the instance: deploy/dagster.yaml's storage block (PostgreSQL) and the product's run limits
    deployed = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    local = yaml.safe_load(INSTANCE_SETTINGS.read_text())
    home = Path(os.environ["DAGSTER_HOME"])
    local.pop("event_log_storage")  # the local instance's SQLite event log; PostgreSQL stores every part here
    (home / "dagster.yaml").write_text(yaml.safe_dump({**local, "storage": deployed["storage"]}))
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", postgres.create_database("dagster", driver="postgresql+psycopg2"))
    monkeypatch.setenv("RECSYS_SOURCE_URL", source)
    first = (end - dt.timedelta(days=DAYS - 1)).isoformat()
    monkeypatch.setenv("RECSYS_PARTITIONS_START", first)
    monkeypatch.setenv("RECSYS_RETRAIN_SENSOR_INTERVAL", "5")
    # one tick of the daily schedule about three minutes in (by then the backfill and its retraining are under way),
    # instead of the nightly one; every minute would start an ingest and a retraining each minute
    tick = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=3)).replace(second=0, microsecond=0)
    monkeypatch.setenv("RECSYS_DAILY_INGEST_CRON", f"{tick.minute} {tick.hour} * * *")

    with dagster_processes.webserver(tmp_path) as url, dagster_processes.daemon(tmp_path):
        launched = dagster_processes.graphql(
            url, LAUNCH_BACKFILL, {"params": {"assetSelection": [{"path": ["raw_orders"]}], "allPartitions": True}}
        )["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched

        def backfill_done():
            status = dagster_processes.graphql(url, BACKFILL_STATUS, {"id": launched["backfillId"]})
            value = status["partitionBackfillOrError"].get("status")
            return value if value in DONE else None

        assert dagster_processes.wait_for(backfill_done, 400, "the backfill") in {"COMPLETED", "COMPLETED_SUCCESS"}
        instance = DagsterInstance.get()
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"

        def finished(filters):
            runs = instance.get_runs(filters)
            return [r for r in runs if r.status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE)]

        def sensor_retrainings():
            runs = finished(RunsFilter(job_name="retrain_job", tags={TRIGGER_TAG: "sensor"}))
            return sorted(runs, key=lambda run: instance.get_run_record_by_id(run.run_id).create_timestamp)

        def sensor_retraining_started():
            return instance.get_runs(RunsFilter(job_name="retrain_job", tags={TRIGGER_TAG: "sensor"}))

        # a retraining asked for by hand while the sensor's runs (a data team's re-run, say): the run queue keeps
        # them one after the other
        dagster_processes.wait_for(sensor_retraining_started, 300, "the sensor to ask for a retraining")
        asked = dagster_processes.graphql(url, LAUNCH_RUN, {"p": {"selector": RETRAIN, "runConfigData": ONE_FIT}})
        by_hand = asked["launchRun"]["run"]["runId"]
        [retrain, *_] = dagster_processes.wait_for(sensor_retrainings, 300, "the retraining started by the sensor")
        [hand] = dagster_processes.wait_for(lambda: finished(RunsFilter(run_ids=[by_hand])), 300, "the hand retraining")
        [scheduled, *_] = dagster_processes.wait_for(
            lambda: finished(RunsFilter(tags={"dagster/schedule_name": "daily_ingest"})), 300, "a schedule tick's run"
        )
        for_the_backfill = [run for run in sensor_retrainings() if first in run.tags[REASON_TAG]]

    failures = [
        f"{e.step_key}: {e.dagster_event.event_specific_data}"
        for e in instance.all_logs(retrain.run_id)
        if e.dagster_event and e.dagster_event.event_type_value in ("STEP_FAILURE", "RUN_FAILURE")
    ]
    assert retrain.status == DagsterRunStatus.SUCCESS, failures
    assert scheduled.status == DagsterRunStatus.SUCCESS and scheduled.tags["dagster/partition"] == str(
        tick.date() - dt.timedelta(days=1)
    )
    # the backfill: one run for all partitions (single-run backfill policy), then exactly one retraining for them
    raw = instance.fetch_materializations(AssetKey("raw_orders"), limit=100).records
    assert {r.partition_key for r in raw} == {(end - dt.timedelta(days=n)).isoformat() for n in range(DAYS)}
    ticks = {run.run_id for run in instance.get_runs(RunsFilter(tags={"dagster/schedule_name": "daily_ingest"}))}
    assert len({r.run_id for r in raw if r.run_id not in ticks}) == 1
    # exactly once for the backfill's days (a schedule tick may add a retraining of its own)
    assert [run.run_id for run in for_the_backfill] == [retrain.run_id]
    assert f"new raw_orders materialization(s), partitions {first} to {end.isoformat()}" in retrain.tags[REASON_TAG]
    published = instance.fetch_materializations(AssetKey("published_recommendations"), limit=10).records
    assert published[-1].run_id == retrain.run_id  # the oldest publication is the sensor's retraining
    assert not [a for a in read_alerts(recsys_home / "alerts.jsonl") if a["kind"] == "run_failure"]
    records = sorted((instance.get_run_record_by_id(run.run_id) for run in (retrain, hand)), key=lambda r: r.start_time)
    assert hand.status == DagsterRunStatus.SUCCESS and records[0].end_time <= records[1].start_time  # one at a time
    assert all(r.dagster_run.tags[CONCURRENCY_TAG] == "retrain" for r in records)
    # everything above is in PostgreSQL: runs, their events, the sensor and schedule ticks
    dagster_db = sa.create_engine(os.environ["DAGSTER_POSTGRES_URL"])
    with dagster_db.connect() as connection:
        assert connection.execute(sa.text("SELECT COUNT(*) FROM runs")).scalar() >= 3
        assert connection.execute(sa.text("SELECT COUNT(*) FROM event_logs")).scalar() > 100
        assert connection.execute(sa.text("SELECT COUNT(*) FROM job_ticks")).scalar() > 0


def test_source_reads_on_postgres_come_through_adbc_as_the_dbapi_frame(postgres):
    from recsys_assets.core.stores.arrow_reads import read_arrow
    from recsys_assets.core.stores.source_db import SourceDatabase
    from tests.unit.test_source_db import dbapi_read

    data = generate(GeneratorConfig(customers=120, products=150, days=10, lines_per_day=120, seed=5))
    database = SourceDatabase(postgres.create_database("arrow_source"))
    database.write_tables({"orders": data.orders, "products": data.products, "customers": data.customers})
    start, end = data.orders["order_ts"].min().to_pydatetime(), data.orders["order_ts"].max().to_pydatetime()
    query = sa.text("SELECT * FROM orders WHERE order_ts >= :start AND order_ts < :end")
    assert read_arrow(database.engine, query, {"start": start, "end": end}) is not None  # the ADBC driver served it
    through_arrow = database.read_orders(start, end)
    assert 0 < len(through_arrow) < len(data.orders)
    pd.testing.assert_frame_equal(
        through_arrow.sort_values(["order_id", "line_no"], ignore_index=True),
        dbapi_read(database, start, end).sort_values(["order_id", "line_no"], ignore_index=True),
    )
    master = database.read_master("products")
    pd.testing.assert_frame_equal(
        master.sort_values("product_id", ignore_index=True),
        data.products.sort_values("product_id", ignore_index=True),
        check_dtype=False,
    )
