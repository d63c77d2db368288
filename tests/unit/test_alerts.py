"""Alerts: thresholds, the alert log, the webhook (a real loopback HTTP server)."""

import logging
import socket
import threading

import pytest

from recsys_assets.core.lifecycle.alerts import Alert, Threshold, evaluate_thresholds, thresholds_from_env
from recsys_assets.core.stores.alert_sinks import raise_alert, read_alerts
from tests.support.webhook import Webhook


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
    logger, records = logging.getLogger("recsys_assets.core.stores.alert_sinks"), Records()
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


class BrokenHttpServer:
    """A loopback TCP server that answers any request with bytes that are not HTTP (http.client: BadStatusLine)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                connection.sendall(b"garbage\r\n\r\n")

    def close(self):
        self.sock.close()


@pytest.mark.parametrize(
    "make_url",
    [
        lambda port: "htp://hooks.example/SECRET-TOKEN-123",  # unknown URL type
        lambda port: f"http://127.0.0.1:{port}/SECRET-TOKEN-123?token=SECRET-TOKEN-123",  # not HTTP at all
        lambda port: "http://user:SECRET-TOKEN-123@127.0.0.1:9/hook",  # refused, credentials in the URL
        lambda port: "http://[::1/SECRET-TOKEN-123",  # not even a URL
    ],
)
def test_any_webhook_failure_is_contained_and_never_logs_the_token(tmp_path, make_url, caplog):
    server = BrokenHttpServer()
    try:
        url = make_url(server.port)
        with caplog.at_level(logging.DEBUG):
            delivery = raise_alert(Alert("run_failure", "ingest_job", "boom"), tmp_path, webhook_url=url)
    finally:
        server.close()
    assert delivery.webhook_status is None and delivery.webhook_error
    assert "SECRET-TOKEN" not in caplog.text and "SECRET-TOKEN" not in delivery.webhook_error
    assert "alert webhook" in caplog.text and [a["message"] for a in read_alerts(tmp_path / "alerts.jsonl")] == ["boom"]


def test_a_full_disk_keeps_neither_the_webhook_nor_the_caller_from_the_alert(tmp_path, caplog):
    """RECSYS_HOME on a full filesystem: the webhook still gets the alert, the write failure is logged with the
    whole alert, nothing is raised; once space is free again the file takes new alerts, with no half-written line."""
    from tests.support.full_disk import full_folder

    with full_folder(tmp_path) as home, Webhook() as hook:
        with caplog.at_level(logging.INFO, logger="recsys_assets.core.stores.alert_sinks"):
            delivery = raise_alert(Alert("freshness", "published_recommendations", "stale"), home, hook.url())
        assert [posted["json"]["message"] for posted in hook.received] == ["stale"]
        assert delivery.webhook_status == 200 and "No space left on device" in delivery.file_error
        assert "NOT recorded" in delivery.describe() and "HTTP 200" in delivery.describe()
        assert "could not be written" in caplog.text and '"message": "stale"' in caplog.text
        if (home / "filler").exists():  # a real full tmpfs: free it, and the next alert is recorded whole
            assert read_alerts(home / "alerts.jsonl") == []
            (home / "filler").unlink()
            raise_alert(Alert("freshness", "published_recommendations", "stale again"), home, hook.url())
            assert [alert["message"] for alert in read_alerts(home / "alerts.jsonl")] == ["stale again"]


def test_a_full_disk_and_a_failing_webhook_still_leave_the_alert_in_the_log(tmp_path, caplog):
    from tests.support.full_disk import full_folder

    logs = caplog.at_level(logging.INFO, logger="recsys_assets.core.stores.alert_sinks")
    with full_folder(tmp_path) as home, Webhook(status=503) as hook, logs:
        delivery = raise_alert(Alert("run_failure", "ingest_job", "boom"), home, hook.url())
    assert delivery.webhook_status is None and "503" in delivery.webhook_error and delivery.file_error
    assert "ALERT run_failure [ingest_job] boom" in caplog.text and '"message": "boom"' in caplog.text


def test_a_line_cut_short_is_skipped_when_reading(tmp_path):
    path = tmp_path / "alerts.jsonl"
    raise_alert(Alert("run_failure", "ingest_job", "first"), tmp_path, webhook_url="")
    with path.open("a") as handle:
        handle.write('{"kind": "run_fail')  # what a crash in the middle of a write leaves
    assert [alert["message"] for alert in read_alerts(path)] == ["first"]
