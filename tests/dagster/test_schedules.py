"""daily_ingest: every night the partition of the previous UTC day, tagged schedule."""

import datetime as dt

from dagster import (
    RunRequest,
    SkipReason,
    build_schedule_context,
)

from recsys_assets.tags import TRIGGER_TAG

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


def test_daily_online_metrics_measures_the_day_whose_window_just_closed(monkeypatch):
    from recsys_assets.definitions import defs
    from recsys_assets.schedules import daily_online_metrics

    request = daily_online_metrics(
        build_schedule_context(scheduled_execution_time=dt.datetime(2026, 6, 30, 3, tzinfo=UTC))
    )
    assert request.partition_key == "2026-06-15" and request.tags[TRIGGER_TAG] == "schedule"  # 06-16..06-29 ingested
    monkeypatch.setenv("RECSYS_ONLINE_ATTRIBUTION_DAYS", "7")
    shorter = daily_online_metrics(
        build_schedule_context(scheduled_execution_time=dt.datetime(2026, 6, 30, 3, tzinfo=UTC))
    )
    assert shorter.partition_key == "2026-06-22"
    assert shorter.run_config["ops"]["online_metrics"]["config"]["attribution_days"] == 7
    assert defs.resolve_schedule_def("daily_online_metrics").job_name == "online_job"


def test_daily_ingest_is_registered_on_ingest_job():
    from recsys_assets.definitions import defs

    schedule = defs.resolve_schedule_def("daily_ingest")
    assert schedule.job_name == "ingest_job" and schedule.execution_timezone == "UTC"


# --- the pure decision rules -----------------------------------------------------------------------------
