"""Serving through faults: the local store's file gone (every list request is answered from memory, flagged, until
the store can be read again) and a full disk for the serving log (requests keep being answered, the lost entries
are counted)."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recsys_assets.core.stores.serving_log import log_file
from recsys_assets.core.stores.source_db import SourceDatabase
from recsys_assets.core.stores.store import LocalRecommendationStore
from recsys_assets.serving.app import create_app
from recsys_assets.serving.serving_settings import ServingSettings
from tests.support.data import write_source
from tests.support.serving import lists_for, publish, side_lists_for, tiny_data

KEY = "fault-key-0123456789"
HEADERS = {"X-API-Key": KEY}
REVIEW_KEY = "fault-review-key-0123456789"
REVIEW = {"X-API-Key": REVIEW_KEY}


def take_away(path: Path, how: str) -> Path:
    """The store's files moved out of reach, as when its disk is unmounted; `not_a_database`: and a directory in
    their place, so the path cannot even be opened. Returns where they went."""
    away = path.parent / "unmounted"
    away.mkdir()
    for file in path.parent.glob(path.name + "*"):  # the database, its -wal and -shm
        file.rename(away / file.name)
    if how == "not_a_database":
        path.mkdir()
    return away


def bring_back(path: Path, away: Path) -> None:
    if path.is_dir():
        path.rmdir()
    for file in away.iterdir():
        file.rename(path.parent / file.name)


@pytest.mark.parametrize("how", ["unmounted", "not_a_database"])
def test_every_list_is_answered_from_memory_while_the_store_cannot_be_read(recsys_home, caplog, how):
    """Point reads keep nothing of the live version but its popularity list: while the store cannot be read, the
    list routes answer from that list, flagged (never a 503, never another version), /health says why, and the
    normal answers are back as soon as the store can be read again."""
    data = tiny_data()
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    lists, side = lists_for(data), side_lists_for(data, similar=False)
    publish(store, lists, "v1", "m1", side)
    source = SourceDatabase(write_source(data))
    app = create_app(
        ServingSettings(
            stores={"local": store}, source=source, api_key=KEY, review_key=REVIEW_KEY, refresh_seconds=0.05
        )
    )
    customer = lists.loc[lists["source"] == "als", "customer_id"].iloc[0]
    buyer = side.loc[side["list"] == "buy_again", "key"].iloc[0]
    product = side.loc[side["list"] == "bought_together", "key"].iloc[0]
    cold = lists[lists["source"] == "popularity_fallback"]
    popular = cold[cold["customer_id"] == cold["customer_id"].iloc[0]].sort_values("rank")["product_id"].tolist()
    paths = {
        "for_you": f"/recommendations/{customer}",
        "buy_again": f"/recommendations/{buyer}?list=buy_again",
        "related": f"/products/{product}/related?k=20",
    }
    with TestClient(app) as client:
        before = {name: client.get(path, headers=HEADERS) for name, path in paths.items()}
        away = take_away(store.path, how)
        time.sleep(0.3)  # several checks for a new version fail meanwhile
        during = {name: client.get(path, headers=HEADERS) for name, path in paths.items()}
        health = client.get("/health")
        reader = client.get("/metrics", headers=REVIEW).json()["targets"]["local"]
        recreated = how == "unmounted" and store.path.exists()  # a reader must not create an empty store there
        bring_back(store.path, away)
        time.sleep(0.3)  # the next check reads the live pointer again
        after = {name: client.get(path, headers=HEADERS) for name, path in paths.items()}
        healed = client.get("/health").json()

    assert {name: r.status_code for name, r in {**before, **during}.items()} == dict.fromkeys(paths, 200)
    assert all(r.json()["fallback"] is None for r in before.values()) and before["buy_again"].json()["items"]
    mine = lists[lists["customer_id"] == customer].sort_values("rank")["product_id"].tolist()
    assert [item["product_id"] for item in before["for_you"].json()["items"]] == mine
    # the store cannot be read: the live version's popularity list, flagged as the fallback it is
    body = {name: r.json() for name, r in during.items()}
    assert {(b["store_version"], b["fallback"]) for b in body.values()} == {("v1", "store_unavailable")}
    assert [item["product_id"] for item in body["for_you"]["items"]] == popular
    assert {item["source"] for item in body["for_you"]["items"]} == {"popularity_fallback"}
    assert body["for_you"]["cold_start"] is True and body["buy_again"]["items"] == []  # popular is no "buy again"
    related = [item["product_id"] for item in body["related"]["items"]]
    assert related == [p for p in popular if p != product] and [i["rank"] for i in body["related"]["items"]] == list(
        range(1, len(related) + 1)
    )
    assert not recreated
    # /health: serving (200) but degraded, naming the kind of store and the root cause, never its path
    state = health.json()
    assert health.status_code == 200 and state["status"] == "degraded"
    assert state["targets"]["local"] | {"checked_at": None, "loaded_at": None} == {
        "status": "store_unreachable", "live_version": "v1", "model_version": "m1", "checked_at": None,
        "loaded_at": None,
    }  # fmt: skip
    problem = next(p for p in state["problems"] if p.startswith("target local"))
    assert "local SQLite store" in problem and "store_unavailable" in problem and "v1" in problem
    expected_cause = "missing" if how == "unmounted" else "OperationalError"
    assert expected_cause in problem, problem
    assert str(recsys_home) not in health.text and str(store.path.name) not in health.text
    assert reader["store_readable"] is False and reader["fallback_answers"] >= len(paths)
    assert str(store.path) in caplog.text  # the address and the full error: the server log only
    # readable again: the normal answers, the same version, and a healthy target
    assert {name: r.json() for name, r in after.items()} == {name: r.json() for name, r in before.items()}
    assert healed["status"] == "ok" and healed["targets"]["local"]["status"] == "ok"
    assert healed["targets"]["local"]["live_version"] == "v1"


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
