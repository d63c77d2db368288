"""The serving-side store reader: the live version resolved once, lists and the popularity fallback."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys_assets.core.stores.store import LocalRecommendationStore, StoreError
from recsys_assets.core.stores.store_reader import (
    LiveRecommendations,
    NoLiveVersionError,
    lists_by_customer,
    popularity_list,
    strategy_for,
)


def frame(rows):
    return pd.DataFrame(rows, columns=["customer_id", "rank", "product_id", "score", "source"])


LISTS = frame(
    [
        ("B", 2, "p2", 0.5, "als"),
        ("B", 1, "p1", 0.9, "als"),
        ("A", 1, "p3", 0.7, "als"),
        ("A", 2, "p1", 0.6, "als"),
        ("C", 1, "p1", 0.8, "als"),
        ("C", 2, "p2", 0.4, "als"),
    ]
)


def test_lists_by_customer_orders_by_rank():
    lists = lists_by_customer(LISTS)
    assert [r.product_id for r in lists["B"]] == ["p1", "p2"]
    assert [r.rank for r in lists["A"]] == [1, 2]
    assert lists["A"][0].score == pytest.approx(0.7)


def test_popularity_list_without_cold_starts_counts_lists():
    popular = popularity_list(LISTS)
    # p1 is in 3 lists, p2 in 2, p3 in 1
    assert [r.product_id for r in popular] == ["p1", "p2", "p3"]
    assert [r.rank for r in popular] == [1, 2, 3]
    assert popular[0].score == pytest.approx(1.0) and {r.source for r in popular} == {"popularity_fallback"}


def test_popularity_list_prefers_the_models_cold_start_list():
    with_cold = pd.concat(
        [LISTS, frame([("Z", 2, "p9", 2.0, "popularity_fallback"), ("Z", 1, "p8", 3.0, "popularity_fallback")])]
    )
    assert [r.product_id for r in popularity_list(with_cold)] == ["p8", "p9"]


def test_point_strategy_reads_the_store_per_request(tmp_path):
    store = LocalRecommendationStore(tmp_path / "s.sqlite")
    reader = LiveRecommendations(store, refresh_seconds=0, strategy="point")
    reader.start()
    with pytest.raises(NoLiveVersionError, match="no live version"):
        reader.lookup("A")
    store.publish("v1", LISTS, {"model_version": "m1"})
    assert reader.refresh() is True and reader.refresh() is False
    assert reader.snapshot.lists is None and not reader.blocking  # a local file: read on the event loop
    found = reader.lookup("A")
    assert [r.product_id for r in found.items] == ["p3", "p1"] and found.fallback is None
    assert found.model_version == "m1" and found.version == "v1"
    missing = reader.lookup("nobody")
    assert missing.fallback == "popularity" and missing.cold_start
    assert [r.product_id for r in missing.items] == ["p1", "p2", "p3"]


def test_strategy_for_local_store_and_declared_strategy(tmp_path):
    store = LocalRecommendationStore(tmp_path / "s.sqlite")
    assert strategy_for(store) == "point"  # indexed point reads: the version is never loaded whole
    store.serving_strategy = "memory"
    assert strategy_for(store) == "memory"
    store.serving_strategy = "bulk"
    with pytest.raises(ValueError, match="serving_strategy must be one of"):
        strategy_for(store)


def test_a_store_that_cannot_be_read_is_answered_from_memory_only_where_it_degrades(tmp_path):
    """The local store's reads fail (its file gone): the popularity list, flagged; the control group as usual (the
    customer counted as known); the store's path kept out of the recorded error; a reader of a store that does not
    degrade raises."""
    store = LocalRecommendationStore(tmp_path / "s.sqlite")
    store.publish("v1", LISTS, {"model_version": "m1"})
    reader = LiveRecommendations(store, refresh_seconds=0)
    reader.start()
    assert reader.degrades and reader.lookup("A").fallback is None
    moved = store.path.rename(tmp_path / "elsewhere.sqlite")
    found, control = reader.lookup("A"), reader.lookup_control("A")
    assert (found.fallback, found.version, found.cold_start) == ("store_unavailable", "v1", True)
    assert [r.product_id for r in found.items] == ["p1", "p2", "p3"] and found.log_source == "popularity_fallback"
    assert control.group == "control" and control.known and [r.product_id for r in control.items] == ["p1", "p2", "p3"]
    assert reader.status.read_error == "local SQLite store: StoreError: <store>: the store file is missing"
    assert reader.status.fallback_answers == 2 and not store.path.exists()
    strict = LiveRecommendations(store, refresh_seconds=0)
    strict._snapshot, strict.degrades = reader.snapshot, False  # e.g. Cosmos DB: its errors answer 503
    with pytest.raises(StoreError, match="missing"):
        strict.lookup("A")
    moved.rename(store.path)
    assert reader.lookup("A").fallback is None and reader.status.read_error is None


def test_a_request_that_finds_its_version_dropped_reloads_the_catalogue_off_its_own_thread(tmp_path):
    """The local store is read on the API's event loop: a lookup that finds its version gone refreshes there, but
    the reload hook (the catalogue: seconds at scale) runs in a thread of its own, not in the request."""
    import threading

    store = LocalRecommendationStore(tmp_path / "s.sqlite")
    store.publish("v1", LISTS, {"model_version": "m1"}, keep_versions=1)
    reloaded, done = [], threading.Event()

    def on_reload(version: str) -> None:
        reloaded.append((version, threading.current_thread()))
        done.set()

    reader = LiveRecommendations(store, refresh_seconds=0, on_reload=on_reload)
    reader.start()
    assert reloaded == [("v1", threading.current_thread())]  # start: in the caller, as before
    done.clear()
    store.publish("v2", LISTS.assign(product_id="p9"), {"model_version": "m2"}, keep_versions=1)  # drops v1
    found = reader.lookup("A")
    assert found.version == "v2" and {r.product_id for r in found.items} == {"p9"}
    assert done.wait(10)
    assert reloaded[-1][0] == "v2" and reloaded[-1][1] is not threading.current_thread()
