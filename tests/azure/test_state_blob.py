"""The monitors' state in Azure Blob storage (dev / prod), against Azurite: the location itself; the reports, the
drift cache, the online figures and the alerts written in dev and read back by the serving API; two alert
writers at once; a missing piece named. Every dev process here has a home folder that must stay empty."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pandas as pd
import pytest
from azure.storage.blob import BlobServiceClient
from fastapi.testclient import TestClient

from monitoring.drift import DriftResult, FeatureDrift
from monitoring.online import OnlineSettings
from recsys_assets.core.lifecycle.alerts import Alert
from recsys_assets.core.stores.alert_sinks import raise_alert, read_alerts
from recsys_assets.core.stores.source_db import SourceDatabase
from recsys_assets.core.stores.state_location import BlobState, MissingState
from recsys_assets.core.stores.store import LocalRecommendationStore
from recsys_assets.instance.live_model import LiveModel
from recsys_assets.resources.monitoring import MonitoringResource
from recsys_assets.resources.serving_log_storage import blob_serving_log
from recsys_assets.resources.state_storage import alert_home, monitoring_location
from recsys_assets.serving.app import create_app
from recsys_assets.serving.serving_settings import ServingSettings
from recsys_assets.watch.inputs import reference_data
from recsys_assets.watch.online import run_online_metrics, write_day_file
from recsys_assets.watch.results import CheckOutcome, outcome_metadata, record
from tests.support.data import write_source
from tests.support.serving import lists_for, publish, tiny_data
from tests.unit.test_state_location import exercise

REVIEW = {"X-API-Key": "blob-review-key-0123456789"}
_names = itertools.count()


@pytest.fixture
def dev(monkeypatch, recsys_home, tmp_path, azurite):
    """RECSYS_DEPLOYMENT=dev on Azurite with a fresh container, a source database, and an empty pod home."""
    data = tiny_data()
    source = write_source(data)  # into the test's own home, before the pod's home is set
    container = f"state-{next(_names)}"
    pod_home = tmp_path / "pod-home"
    for key, value in {
        "RECSYS_DEPLOYMENT": "dev",
        "AZURE_STORAGE_ACCOUNT_URL": azurite.account_url,
        "AZURE_STORAGE_KEY": azurite.key,
        "AZURE_STORAGE_CONTAINER": container,
        "RECSYS_HOME": str(pod_home),
        "RECSYS_API_URL": "https://recsys.example.com",
    }.items():
        monkeypatch.setenv(key, value)
    for name in (
        "RECSYS_MONITORING_DIR",
        "RECSYS_EVIDENTLY_URL",
        "RECSYS_EVIDENTLY_WORKSPACE",
        "RECSYS_ALERT_WEBHOOK_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    client = BlobServiceClient(azurite.account_url, credential=azurite.key).get_container_client(container)
    yield data, SourceDatabase(source), client
    assert not pod_home.exists(), sorted(pod_home.rglob("*"))  # nothing of the dev deployment went to a local folder


def test_a_blob_location_stores_whole_objects_by_name(azurite):
    client = BlobServiceClient(azurite.account_url, credential=azurite.key).get_container_client("state-location")
    location = BlobState(client, "monitoring")
    exercise(location)  # the same contract as the folder's (tests/unit/test_state_location.py)
    assert [b.name for b in client.list_blobs(name_starts_with="monitoring/online/")] == [
        "monitoring/online/2026-06-30.json"
    ]
    assert location.link("online/2026-06-30.json").endswith("/state-location/monitoring/online/2026-06-30.json")
    assert location.child("nothing").names() == [] and location.names("nothing") == []
    missing = BlobState(
        BlobServiceClient(azurite.account_url, credential=azurite.key).get_container_client("no-such-container"), "m"
    )
    with pytest.raises(MissingState, match="no reference/m1.pkl in blob container 'no-such-container', prefix m/"):
        missing.read_bytes("reference/m1.pkl")
    assert missing.names("online") == [] and missing.folders() == []


def drift_result() -> DriftResult:
    features = [
        FeatureDrift("unit_price", "numerical", "wasserstein", 0.1, 0.4, True),
        FeatureDrift("main_category", "categorical", "jensenshannon", 0.1, 0.02, False),
    ]
    return DriftResult("data_drift", True, features, 1000, 900, verdict="drift")


def test_dev_reports_online_figures_and_alerts_go_to_blob_and_the_api_reads_them(dev, instance, tmp_path):
    data, database, client = dev
    monitoring = MonitoringResource()
    location = monitoring.reports_location()
    assert isinstance(location, BlobState) and location.prefix == "monitoring"
    store = LocalRecommendationStore(tmp_path / "store.sqlite")  # not under test: outside the pod's home
    publish(store, lists_for(data), "v1", "m1")
    settings = ServingSettings(
        stores={"dev": store}, review_key=REVIEW["X-API-Key"], monitoring_dir=monitoring_location(), refresh_seconds=60
    )
    with TestClient(create_app(settings)) as api:
        # before any monitor ran: said plainly, never an empty success or a zero
        metrics = api.get("/metrics", headers=REVIEW).json()
        assert metrics["online"] is None and "no online_metrics figures yet" in metrics["online_missing"]
        reports = api.get("/reports", headers=REVIEW).json()
        assert reports["reports"] == [] and "no monitoring report yet" in reports["error"]
        assert "data_drift" in reports["error"] and "online_metrics" in reports["error"]

        # a drift verdict recorded by a run pod: HTML + JSON in Blob, no Evidently snapshot (no service), said so
        outcome = record(CheckOutcome("data_drift", LiveModel("m1", pd.Timestamp("2026-06-20"),
                                                              pd.Timestamp("2026-06-01"))),
                         monitoring, drift_result(), None)  # fmt: skip
        metadata = outcome_metadata(outcome)
        stamp = outcome.files.name.removeprefix("data_drift/").removesuffix(".html")
        assert metadata["report_url"].value == f"https://recsys.example.com/#report=data_drift/{stamp}"
        assert "no Evidently snapshot" in metadata["evidently_snapshot_skipped"]
        assert "RECSYS_EVIDENTLY_URL" in metadata["evidently_snapshot_skipped"]
        assert client.get_blob_client(f"monitoring/data_drift/{stamp}.json").exists()

        # the online figures of a day with no serving log: written, and saying what is missing
        settings_online = OnlineSettings(14, 0.95, 200, 0.0)
        day = run_online_metrics(instance, database, blob_serving_log(), "2026-06-30", settings_online, 28)
        assert "no servings logged for 2026-06-30" in day.no_servings and client.container_name in day.no_servings
        written = write_day_file(location, day)
        assert written == f"{client.container_name}/monitoring/online/2026-06-30.json"

        # the API (another process in dev) reads all of it back from Blob
        metrics = api.get("/metrics", headers=REVIEW).json()
        assert metrics["online"]["day"] == "2026-06-30" and metrics["online"]["servings"] is None
        assert metrics["online"]["no_servings"] == day.no_servings and metrics["online_missing"] is None
        listed = api.get("/reports", headers=REVIEW).json()
        assert listed["error"] is None
        assert {(r["check"], r["time"]) for r in listed["reports"]} == {
            ("data_drift", stamp),
            ("online_metrics", "2026-06-30"),
        }
        [online_row] = [r for r in listed["reports"] if r["check"] == "online_metrics"]
        assert online_row["details"].startswith(f"no servings: {day.no_servings}; period ")
        page = api.get(f"/reports/data_drift/{stamp}.html", headers=REVIEW)
        assert page.status_code == 200 and "unit_price" in page.text
        missing = api.get("/reports/serving_skew/20260101T000000000000Z.html", headers=REVIEW)
        assert missing.status_code == 404 and "no serving_skew report of 20260101T000000000000Z" in missing.text
        assert api.get(f"/reports/data_drift/{stamp}.html").status_code == 401  # the review key opens it

    # alerts of the sensors and checks go to Blob too, one blob each
    home = alert_home()
    assert isinstance(home, BlobState)
    delivery = raise_alert(Alert("freshness", "published_recommendations", "stale"), home)
    assert delivery.file_error is None and str(delivery.path).startswith(f"{client.container_name}/alerts/")
    assert [a["message"] for a in read_alerts(alert_home())] == ["stale"]


ALERT_WRITER = """
import sys
from recsys_assets.core.lifecycle.alerts import Alert
from recsys_assets.core.stores.alert_sinks import raise_alert
from recsys_assets.resources.state_storage import alert_home
name, count = sys.argv[1], int(sys.argv[2])
location = alert_home()
for n in range(count):
    delivery = raise_alert(Alert("run_failure", name, f"{name} {n}"), location, webhook_url="")
    assert delivery.file_error is None, delivery.file_error
"""


def test_two_alert_writers_at_once_lose_nothing(dev):
    """Two processes (two pods' sensors) record alerts at the same time: every alert is kept, one blob each."""
    _, _, client = dev
    per_writer = 25
    writers = [
        subprocess.Popen([sys.executable, "-c", ALERT_WRITER, pod, str(per_writer)], stderr=subprocess.PIPE, text=True)
        for pod in ("pod-a", "pod-b")
    ]
    for writer in writers:
        _, errors = writer.communicate(timeout=120)
        assert writer.returncode == 0, errors
    messages = sorted(alert["message"] for alert in read_alerts(alert_home()))
    assert messages == sorted(f"{pod} {n}" for pod in ("pod-a", "pod-b") for n in range(per_writer))
    assert sum(1 for _ in client.list_blobs(name_starts_with="alerts/")) == 2 * per_writer


def test_the_drift_reference_cache_is_kept_in_blob_by_model_version(dev):
    data, database, client = dev
    orders = data.orders["order_ts"]
    model = LiveModel("m1", pd.Timestamp(orders.max()), pd.Timestamp(orders.min()))
    location = monitoring_location()
    features, _ = reference_data(database, model, data.products, data.customers, location)
    assert len(features) > 0 and client.get_blob_client("monitoring/reference/m1.pkl").exists()

    class NoSource:  # a second pod: the cache must answer, the source is not read again
        def read_orders(self, *args):
            raise AssertionError("the reference was read from the source although it is cached")

    cached, _ = reference_data(NoSource(), model, data.products, data.customers, monitoring_location())
    pd.testing.assert_frame_equal(cached, features)


def test_dev_without_an_evidently_service_writes_no_workspace(dev):
    from recsys_assets.watch.results import add_to_workspace

    result = add_to_workspace(MonitoringResource(), "online_metrics", {"x": 1.0}, {"day": "2026-06-30"})
    assert set(result) == {"skipped"} and "RECSYS_EVIDENTLY_URL" in result["skipped"]
    assert MonitoringResource().local_workspace_refused() is not None
    assert MonitoringResource(evidently_url="http://evidently.internal:8000").local_workspace_refused() is None


def test_report_links_per_deployment(dev, monkeypatch, tmp_path):
    """dev with RECSYS_API_URL: the review page; dev without: the blob's URL; local: the file, API URL or not."""
    from monitoring.reports import write_report
    from recsys_assets.core.stores.state_location import FolderState
    from recsys_assets.watch.results import report_link

    _, _, client = dev
    in_blob = write_report(monitoring_location(), "serving_skew", {"drifted": False}, stamp="20260630T080000000000Z")
    assert report_link(in_blob) == "https://recsys.example.com/#report=serving_skew/20260630T080000000000Z"
    assert client.get_blob_client("monitoring/serving_skew/20260630T080000000000Z.html").exists()
    local = write_report(FolderState(tmp_path / "local"), "serving_skew", {"drifted": False})
    assert report_link(local).startswith("file://")
    monkeypatch.delenv("RECSYS_API_URL")
    assert report_link(in_blob) == client.get_blob_client("monitoring/serving_skew/20260630T080000000000Z.html").url
