"""The folder location of the monitors' state (the local deployment); the Blob one: tests/azure/test_state_blob.py."""

from __future__ import annotations

import pytest

from recsys_assets.core.lifecycle.alerts import Alert
from recsys_assets.core.stores.alert_sinks import raise_alert, read_alerts
from recsys_assets.core.stores.state_location import FolderState, MissingState


def exercise(location) -> None:
    """What every location must do; shared with the Blob test."""
    with pytest.raises(MissingState, match=r"no online/2026-06-30\.json in "):
        location.read_bytes("online/2026-06-30.json")
    assert location.names("online") == [] and location.folders() == []
    location.write_bytes("online/2026-06-30.json", b"{}")
    location.write_bytes("online/2026-06-29.json", b'{"a": 1}')
    location.write_bytes("data_drift/20260630T080000000000Z.html", b"<html></html>")
    location.write_bytes("online/2026-06-30.json", b'{"b": 2}')  # replaced whole
    assert location.read_bytes("online/2026-06-30.json") == b'{"b": 2}'
    assert location.names("online") == ["online/2026-06-29.json", "online/2026-06-30.json"]
    assert location.names() == []  # nothing directly at the root
    assert location.folders() == ["data_drift", "online"]
    assert location.exists("online/2026-06-29.json") and not location.exists("online/2026-06-28.json")
    child = location.child("online")
    assert child.names() == ["2026-06-29.json", "2026-06-30.json"]
    assert child.read_bytes("2026-06-29.json") == b'{"a": 1}'
    child.delete("2026-06-29.json")
    child.delete("2026-06-29.json")  # absent: nothing happens
    assert location.names("online") == ["online/2026-06-30.json"]
    assert "online" in child.describe() and location.label("online/x.json").endswith("online/x.json")


def test_a_folder_location_stores_whole_objects_by_name(tmp_path):
    location = FolderState(tmp_path / "monitoring")
    exercise(location)
    assert location.link("online/2026-06-30.json").startswith("file://")
    assert not [p for p in (tmp_path / "monitoring").rglob(".*")]  # no temporary file left behind


def test_alerts_recorded_as_objects_of_their_own_read_back_oldest_first(tmp_path):
    location = FolderState(tmp_path / "alerts")
    assert read_alerts(location) == []
    for n, ts in enumerate(["2026-06-30T10:00:00+00:00", "2026-06-29T23:00:00+00:00", "2026-06-30T09:00:00+00:00"]):
        delivery = raise_alert(Alert("freshness", "published_recommendations", f"alert {n}", ts=ts), location)
        assert delivery.file_error is None and str(delivery.path).startswith(str(tmp_path / "alerts"))
    assert [a["message"] for a in read_alerts(location)] == ["alert 1", "alert 2", "alert 0"]
    assert location.folders() == ["2026-06-29", "2026-06-30"]


@pytest.mark.parametrize("deployment", ["dev", "prod"])
def test_dev_and_prod_never_fall_back_to_a_local_folder(monkeypatch, tmp_path, deployment):
    """Without a storage account, dev / prod refuse by name instead of writing the shared state on the pod's disk."""
    from recsys_assets.resources.serving_log_storage import serving_log_location
    from recsys_assets.resources.state_storage import alert_home, monitoring_location
    from recsys_assets.settings import DeploymentError

    monkeypatch.setenv("RECSYS_DEPLOYMENT", deployment)
    monkeypatch.setenv("RECSYS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_URL", raising=False)
    for where in (serving_log_location, monitoring_location, alert_home):
        with pytest.raises(DeploymentError, match="set AZURE_STORAGE_ACCOUNT_URL"):
            where()
    assert not (tmp_path / "home").exists()
