"""The UI's backfill of every raw_orders partition, run by a real daemon: one ingest run for all partitions, then
exactly one retraining started by retrain_after_ingest, which publishes; and two retrainings asked for at once
run one after the other (the instance's run queue limit)."""

import datetime as dt
import os
from pathlib import Path

import pytest

from recsys_assets.cli.local_run import INSTANCE_SETTINGS
from recsys_assets.tags import CONCURRENCY_TAG, REASON_TAG, TRIGGER_TAG
from tests.support import dagster_processes

pytestmark = pytest.mark.slow

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
# the two queued retrainings only show the queue: one fit each instead of the model selection's grid
ONE_FIT = {"ops": {"als_model": {"config": {"select_model": False}}}}
DAYS = 30
DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


def test_ui_backfill_of_all_partitions_then_one_retraining(recsys_home, tmp_path, monkeypatch):
    from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter

    from recsys_assets.core.data.generator import GeneratorConfig, generate
    from recsys_assets.core.stores.alert_sinks import read_alerts
    from tests.support.data import write_source

    end = dt.date.today() - dt.timedelta(days=1)  # the last partition is yesterday: orders up to it
    write_source(
        # enough structure that the selected model beats popularity on the hold-out and passes the model gate
        generate(GeneratorConfig(customers=800, products=800, days=DAYS, lines_per_day=600, seed=3, end_date=end))
    )
    first = (end - dt.timedelta(days=DAYS - 1)).isoformat()
    monkeypatch.setenv("RECSYS_PARTITIONS_START", first)  # the code location of the servers: DAYS partitions
    monkeypatch.setenv("RECSYS_RETRAIN_SENSOR_INTERVAL", "5")
    # the product's instance settings (the run queue allows one retraining at a time)
    (Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml").write_text(INSTANCE_SETTINGS.read_text())

    with dagster_processes.webserver(tmp_path) as url, dagster_processes.daemon(tmp_path):
        launched = dagster_processes.graphql(
            url,
            LAUNCH_BACKFILL,
            {"params": {"assetSelection": [{"path": ["raw_orders"]}], "allPartitions": True}},
        )["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched

        def backfill_status():
            status = dagster_processes.graphql(url, BACKFILL_STATUS, {"id": launched["backfillId"]})
            value = status["partitionBackfillOrError"].get("status")
            return value if value in DONE else None

        assert dagster_processes.wait_for(backfill_status, 180, "the backfill") in {"COMPLETED", "COMPLETED_SUCCESS"}

        instance = DagsterInstance.get()

        def retraining_done():
            runs = instance.get_runs(RunsFilter(job_name="retrain_job"))
            finished = [r for r in runs if r.status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE)]
            return runs if finished else None

        retrain_runs = dagster_processes.wait_for(retraining_done, 400, "the retraining started by the sensor")

        # two retrainings asked for at once (a sensor and a hand launch, say): the queue runs them one by one
        launched_ids = [
            dagster_processes.graphql(url, LAUNCH_RUN, {"p": {"selector": RETRAIN, "runConfigData": ONE_FIT}})[
                "launchRun"
            ]["run"]["runId"]
            for _ in range(2)
        ]

        def both_finished():
            runs = instance.get_runs(RunsFilter(run_ids=launched_ids))
            return runs if all(r.status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE) for r in runs) else None

        queued = dagster_processes.wait_for(both_finished, 400, "the two queued retrainings")

    raw = instance.fetch_materializations(AssetKey("raw_orders"), limit=100).records
    assert len({r.partition_key for r in raw}) == DAYS
    assert len({r.run_id for r in raw}) == 1  # single-run backfill policy: one run for all partitions

    [retrain] = retrain_runs  # exactly once for the new data
    failures = [
        f"{e.step_key}: {e.dagster_event.event_specific_data}"
        for e in instance.all_logs(retrain.run_id)
        if e.dagster_event and e.dagster_event.event_type_value in ("STEP_FAILURE", "RUN_FAILURE")
    ]
    assert retrain.status == DagsterRunStatus.SUCCESS, failures
    assert retrain.tags[TRIGGER_TAG] == "sensor"
    assert (
        f"{DAYS} new raw_orders materialization(s), partitions {first} to {end.isoformat()}" in retrain.tags[REASON_TAG]
    )
    published = instance.fetch_materializations(AssetKey("published_recommendations"), limit=10).records
    assert published[-1].run_id == retrain.run_id  # the oldest publication is the sensor's retraining
    assert not [a for a in read_alerts(recsys_home / "alerts.jsonl") if a["kind"] == "run_failure"]
    records = sorted((instance.get_run_record_by_id(run.run_id) for run in queued), key=lambda r: r.start_time)
    assert records[0].end_time <= records[1].start_time  # never both at once
    assert all(r.dagster_run.tags[CONCURRENCY_TAG] == "retrain" for r in records)
