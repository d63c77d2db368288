"""The serving log as append blobs in Azure Blob storage (dev / prod), against Azurite."""

from __future__ import annotations

import datetime as dt

import pytest
from azure.storage.blob import BlobServiceClient
from fastapi.testclient import TestClient

from recsys_assets.core.stores.fold_in_log import append_fold_in, read_fold_ins
from recsys_assets.core.stores.serving_log import day_files, no_servings_reason, read_entries
from recsys_assets.core.stores.serving_log_location import BlobLog
from recsys_assets.core.stores.source_db import SourceDatabase
from recsys_assets.core.stores.store import LocalRecommendationStore
from recsys_assets.resources.monitoring import MonitoringResource
from recsys_assets.resources.serving_log_storage import blob_serving_log, serving_log_location
from recsys_assets.serving.app import create_app
from recsys_assets.serving.log_writer import ServingLogWriter
from recsys_assets.serving.serving_settings import ServingSettings
from recsys_assets.watch.inputs import log_window
from tests.support.data import write_source
from tests.support.serving import lists_for, publish, tiny_data

DAY = dt.date(2026, 3, 2)
KEY = "test-key-0123456789"


def container(azurite, name: str):
    return BlobServiceClient(azurite.account_url, credential=azurite.key).get_container_client(name)


def entry(customer: str, hour: int, traffic: str | None = None) -> dict:
    return {
        "ts": f"{DAY.isoformat()}T{hour:02d}:15:00+00:00",
        "customer_id": customer,
        "model_version": "m1",
        "items": ["P1", "P2"],
        "cold_start": False,
        "target": "dev",
        "traffic": traffic,
    }


def test_two_api_processes_append_to_their_own_blobs_and_are_read_as_one_log(azurite):
    client = container(azurite, "two-writers")
    first = ServingLogWriter(BlobLog(client, "serving-log", writer_id="api-a-11"), flush_seconds=0.05)
    second = ServingLogWriter(BlobLog(client, "serving-log", writer_id="api-b-22"), flush_seconds=0.05)
    first.start(), second.start()
    for n in range(3):
        first.submit(entry(f"A{n}", 9))
        second.submit(entry(f"B{n}", 9))
    second.submit(entry("B9", 10))
    first.submit(entry("LOAD", 9, traffic="load-test"))
    first.close(), second.close()
    assert (first.written, second.written, first.synthetic_written) == (3, 4, 1)
    assert day_files(BlobLog(client)) == [
        "serving-log/2026-03-02/api-a-11-09.jsonl",
        "serving-log/2026-03-02/api-b-22-09.jsonl",
        "serving-log/2026-03-02/api-b-22-10.jsonl",
    ]
    reader = BlobLog(client)  # a run pod: another process, reading what both wrote
    days, size = log_window(reader, 7)  # the skew sensor's window and cursor: every part of the newest day
    assert days == ["2026-03-02"] and size == sum(b.size for b in client.list_blobs(name_starts_with="serving-log/2"))
    entries = read_entries(reader, DAY, DAY)
    assert sorted(entries["customer_id"]) == ["A0", "A1", "A2", "B0", "B1", "B2", "B9"]  # never the load test
    assert read_entries(reader, DAY + dt.timedelta(days=1)).empty
    assert [b.name for b in client.list_blobs(name_starts_with="serving-log/synthetic/")] == [
        "serving-log/synthetic/2026-03-02/api-a-11-09.jsonl"
    ]
    # a later batch of the same writer and hour appends to its blob (append blob: nothing rewritten)
    again = ServingLogWriter(BlobLog(client, "serving-log", writer_id="api-a-11"))
    again.submit(entry("A3", 9))
    again.close()
    assert len(read_entries(reader, DAY, DAY)) == 8
    assert client.get_blob_client("serving-log/2026-03-02/api-a-11-09.jsonl").get_blob_properties().blob_type == (
        "AppendBlob"
    )


def test_no_servings_reasons_name_the_container_and_prefix(azurite):
    missing = BlobLog(container(azurite, "never-created"))
    reason = no_servings_reason(missing)
    assert reason.startswith("no serving log: blob container 'never-created', prefix serving-log/ does not exist")
    assert azurite.key not in reason
    client = container(azurite, "empty-log")
    client.create_container()
    reason = no_servings_reason(BlobLog(client), DAY, DAY)
    assert reason.startswith(
        "no servings logged for 2026-03-02: blob container 'empty-log', prefix serving-log/ holds no day file at all"
    )
    synthetic = BlobLog(client, writer_id="api-a-1")
    writer = ServingLogWriter(synthetic)
    writer.submit(entry("LOAD", 9, traffic="load-test"))
    writer.close()
    reason = no_servings_reason(BlobLog(client), DAY, DAY)
    assert "only synthetic traffic was logged, under blob container 'empty-log', prefix serving-log/synthetic/" in (
        reason
    )


@pytest.fixture
def dev_blob_env(monkeypatch, azurite):
    monkeypatch.setenv("RECSYS_DEPLOYMENT", "dev")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_URL", azurite.account_url)
    monkeypatch.setenv("AZURE_STORAGE_KEY", azurite.key)
    monkeypatch.setenv("AZURE_STORAGE_CONTAINER", "recsys-dev-api")


def test_api_in_dev_logs_served_requests_to_blob_and_the_monitors_read_them(recsys_home, azurite, dev_blob_env):
    data = tiny_data()
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    publish(store, lists_for(data), "m1-aaaa", "m1")
    assert isinstance(serving_log_location(), BlobLog)  # dev with a storage account: Blob, not the folder
    settings = ServingSettings(
        stores={"dev": store},
        source=SourceDatabase(write_source(data)),
        api_key=KEY,
        log_dir=recsys_home / "serving_log",
        serving_log=blob_serving_log(),
    )
    customer = data.customers["customer_id"].iloc[0]
    with TestClient(create_app(settings)) as client:
        response = client.get(f"/recommendations/{customer}", params={"k": 3}, headers={"X-API-Key": KEY})
        assert response.status_code == 200, response.text
    names = [b.name for b in container(azurite, "recsys-dev-api").list_blobs()]
    assert len(names) == 1 and names[0].startswith("serving-log/"), names
    entries = read_entries(MonitoringResource().serving_log())  # what the run pods read
    assert entries["customer_id"].tolist() == [customer]
    assert entries["items"].iloc[0] == store.get(customer)["product_id"].head(3).tolist()
    assert not (recsys_home / "serving_log").exists() or not list((recsys_home / "serving_log").glob("*.jsonl"))


def test_the_fold_in_log_of_an_api_pod_and_a_run_pod_is_read_as_one_next_to_the_serving_log(azurite):
    client = container(azurite, "fold-ins")
    api, run = BlobLog(client, "serving-log", writer_id="api-a-11"), BlobLog(client, "serving-log", writer_id="run-7")
    fold = {"path": "api", "target": "dev", "store_version": "V1", "model_version": "m1", "seconds": 0.4}
    append_fold_in(api, {**fold, "ts": f"{DAY}T09:00:00+00:00", "customers": {"C1": f"{DAY} 08:59"}})
    append_fold_in(run, {**fold, "ts": f"{DAY}T08:00:00+00:00", "path": "sensor", "customers": {"C2": f"{DAY} 07:58"}})
    reader = BlobLog(client, "serving-log", writer_id="sensor-3")  # the daemon's pod reads both
    entries = read_fold_ins(reader, DAY)
    assert [e["path"] for e in entries] == ["sensor", "api"]  # in time order across the writers' blobs
    assert {b.name for b in client.list_blobs()} == {
        f"serving-log/fold_ins/{DAY}/api-a-11-09.jsonl",
        f"serving-log/fold_ins/{DAY}/run-7-08.jsonl",
    }
    assert read_entries(reader, DAY, DAY).empty  # never read as served lists
