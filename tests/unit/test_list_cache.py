"""The serving reader's cache of decoded lists: repeated requests are answered from it, and a write to the store
from another connection or another process (a fold-in upserting one customer's list into the live version, a
re-publish) is seen by the next request, never hidden behind a cached list."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pandas as pd
import pytest

from recsys_assets.core.stores.list_cache import ListCache
from recsys_assets.core.stores.store import LocalRecommendationStore, packed_rows
from recsys_assets.core.stores.store_reader import LiveRecommendations

LISTS = pd.DataFrame(
    [("A", 1, "p1", 0.9, "als"), ("A", 2, "p2", 0.8, "als"), ("B", 1, "p3", 0.7, "als")],
    columns=["customer_id", "rank", "product_id", "score", "source"],
)
SIDE = pd.DataFrame(
    [("buy_again", "A", 1, "p7", 1.0, "buy_again", None, "you buy this often")],
    columns=["list", "key", "rank", "product_id", "score", "source", "reason", "explanation"],
)


def products(lookup) -> list[str]:
    return [item.product_id for item in lookup.items]


def upsert_sql(store_path) -> str:
    """A script that writes customer A's list of v1 as [p9, p8] with its own connection: one INSERT OR REPLACE
    of the customer's row, as a fold-in does."""
    return textwrap.dedent(
        f"""
        import sqlite3
        import pandas as pd
        from recsys_assets.core.stores.store import packed_rows
        rows = pd.DataFrame([("A", 1, "p9", 0.5, "fold_in"), ("A", 2, "p8", 0.4, "fold_in")],
                            columns=["customer_id", "rank", "product_id", "score", "source"])
        connection = sqlite3.connect({str(store_path)!r}, isolation_level=None)
        connection.execute("INSERT OR REPLACE INTO customer_lists VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           next(packed_rows("v1", rows)))
        connection.close()
        """
    )


@pytest.fixture
def published(tmp_path) -> tuple[LocalRecommendationStore, LiveRecommendations]:
    store = LocalRecommendationStore(tmp_path / "store.sqlite")
    store.publish("v1", LISTS, {"model_version": "m1"}, side_lists=SIDE)
    reader = LiveRecommendations(store, refresh_seconds=0, cached_lists=100)
    reader.start()
    return store, reader


def test_a_repeated_request_is_answered_from_the_cache(published):
    _, reader = published
    first, again = reader.lookup("A"), reader.lookup("A")
    assert products(first) == products(again) == ["p1", "p2"]
    assert again.items is first.items  # the decoded list itself: no read, no decode
    assert reader.cache.stats()["hits"] == 1
    assert products(reader.lookup_buy_again("A")) == products(reader.lookup_buy_again("A")) == ["p7"]
    assert reader.cache.stats()["hits"] == 2


def test_an_upsert_by_another_connection_is_served_by_the_next_request(published):
    store, reader = published
    assert products(reader.lookup("A")) == ["p1", "p2"] and products(reader.lookup("A")) == ["p1", "p2"]
    other = LocalRecommendationStore(store.path)  # another writer of the same file, e.g. another API process
    connection = other._connect()
    try:
        connection.execute(
            "INSERT OR REPLACE INTO customer_lists VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            next(packed_rows("v1", LISTS.assign(product_id=["p5", "p6", "p3"]).head(2))),
        )
    finally:
        connection.close()
    assert products(reader.lookup("A")) == ["p5", "p6"]  # the cached [p1, p2] would be stale
    assert reader.cache.stats()["resets"] == 1


def test_an_upsert_by_another_process_is_served_by_the_next_request(published):
    store, reader = published
    assert products(reader.lookup("A")) == ["p1", "p2"] and products(reader.lookup("A")) == ["p1", "p2"]
    subprocess.run([sys.executable, "-c", upsert_sql(store.path)], check=True, timeout=60)
    assert products(reader.lookup("A")) == ["p9", "p8"]
    assert {item.source for item in reader.lookup("A").items} == {"fold_in"}


def test_a_republish_of_the_live_version_is_served_by_the_next_request(published):
    store, reader = published
    assert products(reader.lookup_buy_again("A")) == ["p7"] and products(reader.lookup("B")) == ["p3"]
    other = LocalRecommendationStore(store.path)
    other.publish("v1", LISTS.assign(product_id=["p1", "p2", "p4"]), {"model_version": "m1"})  # same version name
    assert reader.version == "v1" and products(reader.lookup("B")) == ["p4"]
    assert reader.lookup_buy_again("A").items == ()  # the re-published version has no buy-again list for A


def test_reading_threads_never_share_a_state_of_the_store(published):
    """Each thread reads on its own connection, whose data_version counts from its own start: a list cached by
    one thread is not trusted by another thread that saw a write the first did not."""
    store, reader = published
    assert products(reader.lookup("A")) == ["p1", "p2"]
    subprocess.run([sys.executable, "-c", upsert_sql(store.path)], check=True, timeout=60)
    seen = []
    thread = threading.Thread(target=lambda: seen.append(products(reader.lookup("A"))))
    thread.start()
    thread.join()
    assert seen == [["p9", "p8"]] and products(reader.lookup("A")) == ["p9", "p8"]


def test_the_cache_keeps_at_most_its_size_least_recently_used_out_first():
    cache = ListCache(max_lists=2)
    assert cache.get("t", "a") is None
    cache.put("t", "a", ("A",))
    cache.put("t", "b", ("B",))
    assert cache.get("t", "a") == ("A",)  # a used last: b goes first
    cache.put("t", "c", ("C",))
    assert cache.get("t", "b") is None and cache.get("t", "a") == ("A",) and cache.get("t", "c") == ("C",)
    assert cache.get("t2", "a") is None and cache.stats()["lists"] == 0  # another state of the store: emptied
    cache.put("t", "a", ("A",))  # read under the old state: not kept
    assert cache.get("t2", "a") is None
    with pytest.raises(ValueError, match="at least one list"):
        ListCache(max_lists=0)


def test_no_cache_by_default_nor_when_the_whole_version_is_in_memory(tmp_path):
    store = LocalRecommendationStore(tmp_path / "store.sqlite")
    assert LiveRecommendations(store, refresh_seconds=0).cache is None  # off by default
    assert LiveRecommendations(store, refresh_seconds=0, strategy="memory", cached_lists=100).cache is None


def test_a_fold_in_upsert_by_another_store_object_empties_the_cache(published):
    store, reader = published
    assert products(reader.lookup("A")) == ["p1", "p2"] and products(reader.lookup_buy_again("A")) == ["p7"]
    folded = LISTS[LISTS["customer_id"] == "A"].assign(product_id=["p4", "p5"])
    again = SIDE.assign(product_id="p6")
    assert LocalRecommendationStore(store.path).upsert_customers("v1", folded, again) == 1
    assert products(reader.lookup("A")) == ["p4", "p5"] and products(reader.lookup_buy_again("A")) == ["p6"]
