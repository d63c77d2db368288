"""The alert sensors: metric thresholds and failed runs become alerts (log, file, webhook)."""

import pytest
from dagster import (
    AssetMaterialization,
    DagsterInstance,
    Definitions,
    build_multi_asset_sensor_context,
    build_run_status_sensor_context,
)

from recsys_assets.core.stores.alert_sinks import read_alerts
from tests.support.webhook import Webhook

pytestmark = pytest.mark.slow


def test_metric_threshold_sensor_alerts_once_per_materialization(recsys_home, monkeypatch):
    from recsys_assets.definitions import defs
    from recsys_assets.sensors.alerts import MONITORED_METRICS, metric_threshold_alerts

    log = recsys_home / "alerts.jsonl"
    with Webhook() as hook, DagsterInstance.ephemeral() as instance:
        monkeypatch.setenv("RECSYS_ALERT_WEBHOOK_URL", hook.url())
        # history before the sensor was enabled: only the latest value of each asset is looked at
        instance.report_runless_asset_event(AssetMaterialization("model_metrics", metadata={"model_map@10": 0.0}))
        instance.report_runless_asset_event(
            AssetMaterialization("model_metrics", metadata={"model_map@10": 0.003, "model_version": "v1"})
        )
        instance.report_runless_asset_event(AssetMaterialization("interactions", metadata={"dropped_share": 0.05}))
        context = build_multi_asset_sensor_context(
            monitored_assets=MONITORED_METRICS, instance=instance, definitions=defs
        )
        result = metric_threshold_alerts(context)
        assert "1 alert(s) recorded" in result.skip_message
        [alert] = read_alerts(log)
        assert alert["source"] == "model_metrics" and alert["details"]["model_version"] == "v1"
        assert alert["details"]["metric"] == "model_map@10" and alert["details"]["value"] == 0.003
        assert len(hook.received) == 1

        # the same materializations are not alerted twice; a new bad dropped share is
        cursor = context.cursor
        instance.report_runless_asset_event(AssetMaterialization("interactions", metadata={"dropped_share": 0.4}))
        context = build_multi_asset_sensor_context(
            monitored_assets=MONITORED_METRICS, instance=instance, definitions=defs, cursor=cursor
        )
        metric_threshold_alerts(context)
        alerts = read_alerts(log)
        assert [a["source"] for a in alerts] == ["model_metrics", "interactions"]
        assert "dropped_share = 0.4 is above the ceiling 0.2" in alerts[1]["message"]

        context = build_multi_asset_sensor_context(
            monitored_assets=MONITORED_METRICS,
            instance=instance,
            definitions=defs,
            cursor=context.cursor,
        )
        assert metric_threshold_alerts(context).skip_message == "every new metric is within its threshold"
        assert len(read_alerts(log)) == 2


def test_run_failure_sensor_records_the_failed_step(recsys_home, small_data):
    """A real failed run (retraining before any ingestion) goes through the run-failure sensor into the alert log."""
    from recsys_assets.assets import ALL_ASSETS
    from recsys_assets.jobs import retrain_job
    from recsys_assets.resources import resources_for
    from recsys_assets.sensors.alerts import alert_on_run_failure
    from tests.support.data import write_source

    write_source(small_data)
    job = Definitions(assets=ALL_ASSETS, jobs=[retrain_job], resources=resources_for("local")).resolve_job_def(
        "retrain_job"
    )
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False, tags={"recsys/trigger": "sensor"})
        assert not result.success
        context = build_run_status_sensor_context(
            sensor_name="alert_on_run_failure",
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=result.get_run_failure_event(),
        ).for_run_failure()
        alert_on_run_failure(context)
    [alert] = read_alerts(recsys_home / "alerts.jsonl")
    assert alert["kind"] == "run_failure" and alert["source"] == "retrain_job"
    assert alert["details"]["trigger"] == "sensor" and alert["details"]["run_id"] == result.run_id
    assert "no raw_orders partition is materialized" in alert["details"]["failed_steps"]["interactions"]
    assert "step interactions failed" in alert["message"] and result.run_id in alert["message"]


def test_raw_orders_succeeds_and_its_alert_leaves_when_recsys_home_is_full(tmp_path, monkeypatch, instance):
    """A future-dated line makes raw_orders raise an alert; with RECSYS_HOME on a full filesystem the alert file
    cannot be written, yet the webhook gets the alert and the partition materializes."""
    import pandas as pd
    from dagster import materialize

    from recsys_assets.assets.source import raw_orders
    from recsys_assets.core.data.generator import GeneratorConfig, generate
    from recsys_assets.core.stores.source_db import create_sqlite_url, open_for_writing
    from recsys_assets.resources.source import SourceDatabaseResource
    from tests.support.full_disk import full_folder

    data = generate(GeneratorConfig(customers=50, products=40, days=3, lines_per_day=30, seed=4))
    future = data.orders.head(1).assign(order_id="O-FUTURE", order_ts=pd.Timestamp.now() + pd.Timedelta(days=30))
    url = create_sqlite_url(tmp_path / "source.db")
    open_for_writing(url).write_tables(
        {"orders": pd.concat([data.orders, future]), "products": data.products, "customers": data.customers}
    )
    day = data.orders["order_ts"].min().strftime("%Y-%m-%d")
    with full_folder(tmp_path) as home, Webhook() as hook:
        monkeypatch.setenv("RECSYS_HOME", str(home))
        monkeypatch.setenv("RECSYS_ALERT_WEBHOOK_URL", hook.url())
        result = materialize(
            [raw_orders], partition_key=day, instance=instance, resources={"source": SourceDatabaseResource(url=url)}
        )
        assert result.success
        [posted] = hook.received
        assert posted["json"]["kind"] == "future_dated_lines" and "O-FUTURE" in posted["json"]["message"]
        if (home / "filler").exists():  # a real full tmpfs (else the alert file is /dev/full, which reads forever)
            assert read_alerts(home / "alerts.jsonl") == []
