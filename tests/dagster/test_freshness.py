"""The freshness check on published_recommendations: fresh passes, older than the configured age fails."""

import datetime as dt

import pytest
from dagster import AssetMaterialization, AssetSpec, DagsterInstance, Definitions, RunRequest, build_sensor_context
from dagster._core.test_utils import freeze_time  # Dagster's own clock control for tests

from recsys_assets.checks.freshness import PUBLISHED, build_freshness_checks, max_age


def run_check(instance, age=None):
    checks = build_freshness_checks(age)
    defs = Definitions(assets=[AssetSpec(PUBLISHED)], asset_checks=checks)
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(instance=instance, asset_selection=[], raise_on_error=True)
    [evaluation] = result.get_asset_check_evaluations()
    return evaluation


def test_default_max_age_and_env(monkeypatch):
    monkeypatch.delenv("RECSYS_FRESHNESS_MAX_AGE_HOURS", raising=False)
    assert max_age() == dt.timedelta(hours=26)
    monkeypatch.setenv("RECSYS_FRESHNESS_MAX_AGE_HOURS", "2.5")
    assert max_age() == dt.timedelta(hours=2, minutes=30)
    monkeypatch.setenv("RECSYS_FRESHNESS_MAX_AGE_HOURS", "soon")
    with pytest.raises(ValueError, match="RECSYS_FRESHNESS_MAX_AGE_HOURS must be a number of hours, got 'soon'"):
        max_age()


def test_fresh_passes_stale_fails_never_published_fails():
    with DagsterInstance.ephemeral() as instance:
        never = run_check(instance)
        assert not never.passed and never.asset_key == PUBLISHED

        instance.report_runless_asset_event(AssetMaterialization(PUBLISHED))
        assert run_check(instance).passed

        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=27)
        with freeze_time(later):
            stale = run_check(instance)
        assert not stale.passed
        assert "overdue" in stale.description
        with freeze_time(later):
            assert run_check(instance, dt.timedelta(hours=30)).passed  # a longer configured age tolerates it


def test_sensor_requests_the_check_when_it_may_be_overdue():
    from recsys_assets.definitions import defs
    from recsys_assets.sensors.freshness import freshness_sensor

    def tick(instance):
        return freshness_sensor(build_sensor_context(instance=instance, definitions=defs))

    with DagsterInstance.ephemeral() as instance:
        first = tick(instance)  # never evaluated: evaluate it
        assert isinstance(first, RunRequest)
        assert [key.asset_key for key in first.asset_check_keys] == [PUBLISHED]

        instance.report_runless_asset_event(AssetMaterialization(PUBLISHED))
        assert run_check(instance).passed
        assert not isinstance(tick(instance), RunRequest)  # fresh until 26 h from now: nothing to do
        with freeze_time(dt.datetime.now(dt.UTC) + dt.timedelta(hours=27)):
            assert isinstance(tick(instance), RunRequest)


def test_failed_freshness_evaluation_is_alerted_once(recsys_home):
    from recsys_assets.core.stores.alert_sinks import read_alerts
    from recsys_assets.sensors.alerts import freshness_alerts

    def tick(instance, cursor):
        context = build_sensor_context(instance=instance, cursor=cursor)
        return freshness_alerts(context), context.cursor

    with DagsterInstance.ephemeral() as instance:
        instance.report_runless_asset_event(AssetMaterialization(PUBLISHED))
        assert run_check(instance).passed
        _, cursor = tick(instance, None)
        assert read_alerts(recsys_home / "alerts.jsonl") == []  # a passing evaluation is no alert

        with freeze_time(dt.datetime.now(dt.UTC) + dt.timedelta(hours=27)):
            assert not run_check(instance).passed
        result, cursor = tick(instance, cursor)
        [alert] = read_alerts(recsys_home / "alerts.jsonl")
        assert alert["kind"] == "freshness" and alert["source"] == "published_recommendations"
        assert "overdue" in alert["message"] and alert["message"] in result.skip_message
        tick(instance, cursor)
        assert len(read_alerts(recsys_home / "alerts.jsonl")) == 1
