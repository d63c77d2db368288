"""Serving through faults: the local store's file gone (the loaded version keeps serving) and a full disk for the
serving log (requests keep being answered, the lost entries are counted)."""

from __future__ import annotations

import datetime as dt
import json
import os
import time

import pytest
from fastapi.testclient import TestClient

from recsys_assets.core.stores.serving_log import log_file
from recsys_assets.core.stores.source_db import SourceDatabase
from recsys_assets.core.stores.store import LocalRecommendationStore
from recsys_assets.serving.app import create_app
from recsys_assets.serving.serving_settings import ServingSettings
from tests.support.data import write_source
from tests.support.serving import lists_for, publish, tiny_data

KEY = "fault-key-0123456789"
HEADERS = {"X-API-Key": KEY}
REVIEW_KEY = "fault-review-key-0123456789"


def test_a_loaded_version_keeps_serving_when_the_store_is_gone(recsys_home):
    data = tiny_data()
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    publish(store, lists_for(data), "v1", "m1")
    source = SourceDatabase(write_source(data))
    app = create_app(ServingSettings(stores={"local": store}, source=source, api_key=KEY, refresh_seconds=0.05))
    customer = data.customers["customer_id"].iloc[0]
    with TestClient(app) as client:
        assert client.get(f"/recommendations/{customer}", headers=HEADERS).status_code == 200
        store.path.rename(store.path.with_suffix(".moved"))  # the store file disappears (disk, mount, operator)
        store.path.mkdir()  # and its path cannot even be opened as a database now
        time.sleep(0.3)  # several refresh attempts fail
        answer = client.get(f"/recommendations/{customer}", headers=HEADERS)
        health = client.get("/health").json()
    assert answer.status_code == 200 and answer.json()["store_version"] == "v1"
    assert health["targets"]["local"]["live_version"] == "v1" and health["targets"]["local"]["status"] == "stale"
    assert health["status"] == "degraded" and str(store.path) not in json.dumps(health)  # the path: server log only


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full to simulate a full disk")
def test_a_full_disk_for_the_serving_log_loses_log_entries_not_requests(recsys_home, caplog):
    data = tiny_data()
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    publish(store, lists_for(data), "v1", "m1")
    log_dir = recsys_home / "serving_log"
    log_dir.mkdir()
    # today's log file is /dev/full: every write fails with ENOSPC, exactly like a full disk
    log_file(log_dir, dt.datetime.now(dt.UTC).date()).symlink_to("/dev/full")
    source = SourceDatabase(write_source(data))
    app = create_app(
        ServingSettings(
            stores={"local": store}, source=source, api_key=KEY, review_key=REVIEW_KEY, log_dir=log_dir,
            refresh_seconds=60,
        )
    )  # fmt: skip
    customers = data.customers["customer_id"].head(50).tolist()
    with TestClient(app) as client:
        statuses = [client.get(f"/recommendations/{c}", headers=HEADERS).status_code for c in customers]
        app.state.serving.writer.flush()
        health = client.get("/health").json()
        stats = client.get("/metrics", headers={"X-API-Key": REVIEW_KEY}).json()["serving_log"]
    assert statuses == [200] * len(customers)
    assert stats["failed"] == len(customers) and stats["written"] == 0 and stats["failing"] is True
    assert health["status"] == "degraded" and "serving log" in health["problems"][0]
    assert "No space left on device" in caplog.text  # the why: in the server log, not in the answers
