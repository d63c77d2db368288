"""retrain_after_ingest: new data retrains exactly once, backfills included."""

import datetime as dt

import pytest
from dagster import (
    AssetSelection,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    RunRequest,
    SkipReason,
    build_sensor_context,
    materialize,
)

from recsys_assets.tags import REASON_TAG, TRIGGER_TAG

pytestmark = pytest.mark.slow

UTC = dt.UTC


@pytest.fixture
def tiny_source(recsys_home):
    from recsys_assets.core.data.generator import GeneratorConfig, generate
    from tests.support.data import write_source

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
    from recsys_assets.resources import resources_for
    from recsys_assets.tags import RANGE_END_TAG, RANGE_START_TAG

    result = materialize(
        ALL_ASSETS,
        selection=AssetSelection.keys("raw_orders"),
        instance=instance,
        resources=resources_for("local"),
        tags={RANGE_START_TAG: start, RANGE_END_TAG: end},
    )
    assert result.success


def tick(instance, cursor):
    from recsys_assets.sensors.retrain import retrain_after_ingest

    context = build_sensor_context(instance=instance, cursor=cursor)
    result = retrain_after_ingest(context)
    return result, context.cursor


def test_sensor_retrains_once_per_new_data(tiny_source):
    from recsys_assets.assets import ALL_ASSETS
    from recsys_assets.cli.local_run import materialize_graph
    from recsys_assets.jobs import retrain_job
    from recsys_assets.resources import resources_for

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
