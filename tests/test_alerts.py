"""Alerts: thresholds, the alert log, the webhook (a real loopback HTTP server) and the two alert sensors."""

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from dagster import (
    AssetMaterialization,
    DagsterInstance,
    Definitions,
    build_multi_asset_sensor_context,
    build_run_status_sensor_context,
)

from recsys_assets.core.alerts import (
    Alert,
    Threshold,
    evaluate_thresholds,
    raise_alert,
    read_alerts,
    thresholds_from_env,
)


class Webhook:
    """A loopback HTTP server that records POSTed JSON bodies and answers with `status`."""

    def __init__(self, status: int = 200):
        received = self.received = []
        self.status = status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append({"path": self.path, "json": json.loads(body), "type": self.headers["Content-Type"]})
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path="/hooks/SECRET-TOKEN-123"):
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_thresholds_floor_ceiling_and_any_k():
    thresholds = [
        Threshold("model_metrics", "model_map@", floor=0.01),
        Threshold("interactions", "dropped_share", 0, 0.2),
    ]
    low = evaluate_thresholds("model_metrics", {"model_map@20": 0.004, "popularity_map@20": 0.001}, thresholds)
    assert [a.details["metric"] for a in low] == ["model_map@20"]
    assert "model_map@20 = 0.004 is below the floor 0.01" in low[0].message
    assert evaluate_thresholds("model_metrics", {"model_map@10": 0.05}, thresholds) == []
    high = evaluate_thresholds("interactions", {"dropped_share": 0.35, "rows": 10, "flag": True}, thresholds)
    assert len(high) == 1 and high[0].details["value"] == 0.35 and high[0].details["threshold"] == 0.2
    # a metric of another asset is never checked against this asset's threshold
    assert evaluate_thresholds("interactions", {"model_map@10": 0.0}, thresholds) == []


def test_thresholds_from_env(monkeypatch):
    monkeypatch.setenv("RECSYS_ALERT_MAP_FLOOR", "0.02")
    monkeypatch.setenv("RECSYS_ALERT_DROPPED_SHARE_CEILING", "0.5")
    floor, ceiling = thresholds_from_env()
    assert floor.floor == 0.02 and ceiling.ceiling == 0.5
    monkeypatch.setenv("RECSYS_ALERT_MAP_FLOOR", "high")
    with pytest.raises(ValueError, match="RECSYS_ALERT_MAP_FLOOR must be a number, got 'high'"):
        thresholds_from_env()


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_alert_is_logged_recorded_and_posted_without_leaking_the_url(tmp_path):
    alert = Alert(kind="metric_threshold", source="model_metrics", message="map too low", details={"value": 0.001})
    logger, records = logging.getLogger("recsys_assets.core.alerts"), Records()
    logger.addHandler(records)
    logger.setLevel(logging.INFO)
    try:
        with Webhook() as hook:
            delivery = raise_alert(alert, tmp_path, webhook_url=hook.url())
    finally:
        logger.removeHandler(records)
    text = "\n".join(records.lines)
    assert delivery.webhook_status == 200 and delivery.webhook_error is None
    [posted] = hook.received
    assert posted["path"] == "/hooks/SECRET-TOKEN-123" and posted["type"] == "application/json"
    assert posted["json"]["text"] == "map too low" and posted["json"]["details"] == {"value": 0.001}
    [stored] = read_alerts(tmp_path / "alerts.jsonl")
    assert stored["kind"] == "metric_threshold" and stored["source"] == "model_metrics" and stored["ts"]
    assert "map too low" in text
    assert "SECRET-TOKEN" not in text and "127.0.0.1" in text


def test_failing_webhook_keeps_the_alert(tmp_path, monkeypatch):
    with Webhook(status=500) as hook:
        monkeypatch.setenv("RECSYS_ALERT_WEBHOOK_URL", hook.url())
        delivery = raise_alert(Alert("run_failure", "ingest_job", "boom"), tmp_path)
    assert delivery.webhook_status is None and "500" in delivery.webhook_error
    assert [a["message"] for a in read_alerts(tmp_path / "alerts.jsonl")] == ["boom"]


def test_no_webhook_configured_only_records(tmp_path, monkeypatch):
    monkeypatch.delenv("RECSYS_ALERT_WEBHOOK_URL", raising=False)
    delivery = raise_alert(Alert("run_failure", "ingest_job", "boom"), tmp_path)
    assert delivery.webhook_status is None and delivery.webhook_error is None
    assert len(read_alerts(tmp_path / "alerts.jsonl")) == 1


def test_metric_threshold_sensor_alerts_once_per_materialization(recsys_home, monkeypatch):
    from recsys_assets.alerting import MONITORED_METRICS, metric_threshold_alerts
    from recsys_assets.definitions import defs

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
    from recsys_assets.alerting import alert_on_run_failure
    from recsys_assets.assets import ALL_ASSETS
    from recsys_assets.deployment import resources_for
    from recsys_assets.jobs import retrain_job
    from tests.conftest import write_source

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
