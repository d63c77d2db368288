"""daily_ingest schedule and retrain_after_ingest sensor: new data retrains exactly once, backfills included."""

import datetime as dt

import pytest
from dagster import (
    AssetSelection,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    RunRequest,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
    materialize,
)

from recsys_assets.core.retrain_policy import NewData, decide_retrain
from recsys_assets.tags import REASON_TAG, TRIGGER_TAG

UTC = dt.UTC


def test_daily_ingest_requests_yesterdays_partition_tagged_schedule():
    from recsys_assets.schedules import daily_ingest

    context = build_schedule_context(scheduled_execution_time=dt.datetime(2026, 6, 30, 1, 0, tzinfo=UTC))
    request = daily_ingest(context)
    assert isinstance(request, RunRequest)
    assert request.partition_key == "2026-06-29" and request.run_key == "2026-06-29"
    assert request.tags[TRIGGER_TAG] == "schedule"
    before = daily_ingest(build_schedule_context(scheduled_execution_time=dt.datetime(2026, 1, 1, 1, tzinfo=UTC)))
    assert isinstance(before, SkipReason) and "2025-12-31" in before.skip_message


def test_daily_ingest_is_registered_on_ingest_job():
    from recsys_assets.definitions import defs

    schedule = defs.resolve_schedule_def("daily_ingest")
    assert schedule.job_name == "ingest_job" and schedule.execution_timezone == "UTC"


# --- the pure decision rules -----------------------------------------------------------------------------


def data(storage_id, run_id="r1", partition="2026-06-01", ts=100.0):
    return NewData(storage_id, run_id, partition, ts)


def test_policy_waits_for_an_unfinished_backfill_then_requests_once():
    backfill = [data(i, "backfill", f"2026-06-{i:02d}") for i in range(1, 11)]
    waiting = decide_retrain(backfill[:4], finished_runs=[], cursor=None, consumed_at=None, busy_run=None)
    assert waiting.action == "wait" and waiting.cursor is None and "backfill" in waiting.reason
    done = decide_retrain(backfill, finished_runs=["backfill"], cursor=None, consumed_at=None, busy_run=None)
    assert done.action == "request" and done.cursor == 10 and done.run_key == "raw_orders@10"
    assert done.partitions[0] == "2026-06-01" and len(done.partitions) == 10


def test_policy_stops_at_the_first_unfinished_run():
    records = [data(1, "a"), data(2, "b"), data(3, "a")]
    decision = decide_retrain(records, finished_runs=["a"], cursor=None, consumed_at=None, busy_run=None)
    assert decision.action == "request" and decision.cursor == 1


def test_policy_waits_while_a_retraining_runs_and_skips_consumed_data():
    records = [data(5, ts=100.0)]
    busy = decide_retrain(records, ["r1"], cursor=4, consumed_at=None, busy_run="retrain-1")
    assert busy.action == "wait" and busy.cursor == 4 and "retrain-1" in busy.reason
    consumed = decide_retrain(records, ["r1"], cursor=4, consumed_at=101.0, busy_run=None)
    assert consumed.action == "skip" and consumed.cursor == 5
    stale = decide_retrain(records, ["r1"], cursor=4, consumed_at=99.0, busy_run=None)
    assert stale.action == "request"
    # a run that wrote raw_orders and then rebuilt interactions consumed its own data
    own = decide_retrain(records, ["r1"], cursor=4, consumed_at=90.0, busy_run=None, consumer_run="r1")
    assert own.action == "skip"
    assert decide_retrain([], [], cursor=7, consumed_at=None, busy_run=None).action == "idle"


# --- the sensor against a real instance --------------------------------------------------------------------


@pytest.fixture
def tiny_source(recsys_home):
    from recsys_assets.core.generator import GeneratorConfig, generate
    from tests.conftest import write_source

    write_source(
        generate(
            GeneratorConfig(
                customers=300, products=300, days=20, lines_per_day=300, seed=5, end_date=dt.date(2026, 6, 30)
            )
        )
    )
    return recsys_home


def ingest(instance, start, end):
    from recsys_assets.assets import ALL_ASSETS
    from recsys_assets.deployment import resources_for
    from recsys_assets.runner import RANGE_END_TAG, RANGE_START_TAG

    result = materialize(
        ALL_ASSETS,
        selection=AssetSelection.keys("raw_orders"),
        instance=instance,
        resources=resources_for("local"),
        tags={RANGE_START_TAG: start, RANGE_END_TAG: end},
    )
    assert result.success


def tick(instance, cursor):
    from recsys_assets.retrain_sensor import retrain_after_ingest

    context = build_sensor_context(instance=instance, cursor=cursor)
    result = retrain_after_ingest(context)
    return result, context.cursor


def test_sensor_retrains_once_per_new_data(tiny_source):
    from recsys_assets.assets import ALL_ASSETS
    from recsys_assets.deployment import resources_for
    from recsys_assets.jobs import retrain_job
    from recsys_assets.runner import materialize_graph

    with DagsterInstance.ephemeral() as instance:
        assert isinstance(tick(instance, None)[0], SkipReason)

        # a 15-day single-run backfill: 15 materializations, one retraining
        ingest(instance, "2026-06-11", "2026-06-25")
        request, cursor = tick(instance, None)
        assert isinstance(request, RunRequest), request
        assert request.run_key == f"raw_orders@{cursor}"
        assert request.tags[TRIGGER_TAG] == "sensor"
        assert "15 new raw_orders materialization(s), partitions 2026-06-11 to 2026-06-25" in request.tags[REASON_TAG]
        again, same_cursor = tick(instance, cursor)
        assert isinstance(again, SkipReason) and same_cursor == cursor

        # a run that ingests and then rebuilds everything (recsys materialize) needs no extra retraining
        run = materialize_graph("2026-06-26", "2026-06-30", instance=instance)
        assert run.downstream.success
        skipped, cursor = tick(instance, cursor)
        assert isinstance(skipped, SkipReason) and "already consumed" in skipped.skip_message

        # new data for one day while a retraining is pending: wait, then retrain once it is gone
        ingest(instance, "2026-06-30", "2026-06-30")
        job = Definitions(assets=ALL_ASSETS, jobs=[retrain_job], resources=resources_for("local")).resolve_job_def(
            "retrain_job"
        )
        queued = instance.create_run_for_job(job_def=job, status=DagsterRunStatus.NOT_STARTED)
        waiting, waiting_cursor = tick(instance, cursor)
        assert isinstance(waiting, SkipReason) and queued.run_id in waiting.skip_message
        assert waiting_cursor == cursor
        instance.report_run_canceled(queued)
        request, new_cursor = tick(instance, cursor)
        assert isinstance(request, RunRequest) and int(new_cursor) > int(cursor)
        assert "1 new raw_orders materialization(s), partitions 2026-06-30 to 2026-06-30" in request.tags[REASON_TAG]
