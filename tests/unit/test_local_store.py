"""The embedded SQLite store under concurrent publishes: whatever is live is complete, at every moment."""

import threading

import numpy as np
import pandas as pd

from recsys_assets.core.stores.store import LocalRecommendationStore


def lists(customers: int, seed: int, k: int = 10) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": np.repeat([f"C{i:05d}" for i in range(customers)], k),
            "rank": np.tile(np.arange(1, k + 1), customers),
            "product_id": [f"P{x}" for x in rng.integers(0, 500, customers * k)],
            "score": rng.random(customers * k),
            "source": "als",
        }
    )


def test_interleaved_publishes_and_readers_always_see_a_complete_live_version(tmp_path):
    store = LocalRecommendationStore(tmp_path / "store.sqlite")
    store.publish("v0", lists(2_000, 0), {"model_version": "m0"}, keep_versions=2)
    stop, seen, problems = threading.Event(), set(), []

    def reader():
        while not stop.is_set():
            live = store.live_version()
            info = next((v for v in store.versions() if v.version == live), None)
            rows = len(store.read_version(live))
            if info is None or rows != info.rows:
                problems.append((live, rows, info))
            seen.add(live)

    def writer(name: str, seed: int):
        for round_ in range(3):
            store.publish(f"{name}{round_}", lists(2_000, seed + round_), {"model_version": name}, keep_versions=3)

    threads = [threading.Thread(target=reader)] + [
        threading.Thread(target=writer, args=(name, seed)) for name, seed in (("a", 10), ("b", 20))
    ]
    for thread in threads:
        thread.start()
    for thread in threads[1:]:
        thread.join(120)
    stop.set()
    threads[0].join(30)
    assert problems == [] and len(seen) > 1
    assert store.live_version() in {"a2", "b2"} and len(store.versions()) == 3


def side_lists(keys: int, seed: int, k: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = [
        pd.DataFrame(
            {
                "list": name,
                "key": np.repeat([f"{prefix}{i:04d}" for i in range(keys)], k),
                "rank": np.tile(np.arange(1, k + 1), keys),
                "product_id": [f"P{x}" for x in rng.integers(0, 500, keys * k)],
                "score": rng.random(keys * k),
                "source": name,
                "reason": name,
                "explanation": f"explained {seed}",
            }
        )
        for name, prefix in (("buy_again", "C"), ("bought_together", "P"), ("similar", "P"))
    ]
    return pd.concat(frames, ignore_index=True)


def test_side_lists_are_published_replaced_and_pruned_with_their_version(tmp_path):
    import sqlite3

    import pytest

    from recsys_assets.core.stores.store import StoreError

    store = LocalRecommendationStore(tmp_path / "store.sqlite")

    def side_rows() -> dict[str, int]:
        with sqlite3.connect(store.path) as connection:
            items = "LENGTH(ranks) - LENGTH(REPLACE(ranks, CHAR(31), '')) + 1"  # separators + 1
            query = f"SELECT version, SUM({items}) FROM side_list_items GROUP BY version"
            return dict(connection.execute(query).fetchall())

    store.publish("v0", lists(30, 0), {"model_version": "m0"}, keep_versions=2)  # before side lists existed
    assert store.versions()[0].metadata["lists"] == {} and store.read_side_lists("v0").empty
    for seed, version in ((1, "v1"), (1, "v1"), (2, "v2")):  # v1 twice: re-publishing replaces, never doubles
        store.publish(
            version, lists(30, seed), {"model_version": f"m{seed}"}, keep_versions=2, side_lists=side_lists(30, seed)
        )
    assert side_rows() == {"v1": 270, "v2": 270}
    assert store.versions()[0].metadata["lists"] == {"buy_again": 30, "bought_together": 30, "similar": 30}
    expected = side_lists(30, 2)
    assert store.get_side_list("buy_again", "C0007", "v2") == [
        (r.rank, r.product_id, r.score, "buy_again", "buy_again", "explained 2")
        for r in expected[(expected["list"] == "buy_again") & (expected["key"] == "C0007")].itertuples()
    ]
    # a publish that fails half-way (a duplicate side-list row) leaves the live version and its lists as they were
    broken = pd.concat([side_lists(30, 3), side_lists(30, 3).head(1)], ignore_index=True)
    with pytest.raises(StoreError, match="publishing version v3 failed"):
        store.publish("v3", lists(30, 3), {"model_version": "m3"}, keep_versions=2, side_lists=broken)
    assert store.live_version() == "v2" and side_rows() == {"v1": 270, "v2": 270} and store.read_version("v3").empty
    # unknown list names are refused before anything is written
    with pytest.raises(StoreError, match=r"unknown list name\(s\) \['cheaper'\]"):
        store.publish("v3", lists(30, 3), {}, side_lists=side_lists(30, 3).assign(list="cheaper"))
    store.publish("v3", lists(30, 3), {"model_version": "m3"}, keep_versions=2, side_lists=side_lists(30, 3))
    assert side_rows() == {"v2": 270, "v3": 270}  # v1 pruned with its side lists


def test_a_store_written_with_one_row_per_side_list_item_keeps_its_lists(tmp_path):
    """Stores published before side lists were kept one row per list: their versions keep their side lists."""
    import sqlite3

    path = tmp_path / "store.sqlite"
    store = LocalRecommendationStore(path)
    store.publish("v1", lists(30, 1), {"model_version": "m1"}, keep_versions=2)
    expected = side_lists(30, 1).sort_values(["list", "key", "rank"], ignore_index=True)
    with sqlite3.connect(path) as connection:  # the layout of those stores, with v1's side lists in it
        connection.execute(
            "CREATE TABLE side_lists (version TEXT NOT NULL, list TEXT NOT NULL, key TEXT NOT NULL, rank INTEGER NOT "
            "NULL, product_id TEXT NOT NULL, score REAL, source TEXT NOT NULL, reason TEXT, explanation TEXT, "
            "PRIMARY KEY (version, list, key, rank))"
        )
        connection.executemany(
            "INSERT INTO side_lists VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            expected.assign(version="v1")[["version", *expected.columns]].itertuples(index=False, name=None),
        )
    reopened = LocalRecommendationStore(path)
    pd.testing.assert_frame_equal(reopened.read_side_lists("v1"), expected, check_dtype=False)
    assert reopened.get_side_list("similar", "P0003", "v1") == [
        tuple(row)
        for row in expected[(expected["list"] == "similar") & (expected["key"] == "P0003")]
        .iloc[:, 2:]
        .itertuples(index=False, name=None)
    ]
    with sqlite3.connect(path) as connection:
        assert not connection.execute("SELECT name FROM sqlite_master WHERE name = 'side_lists'").fetchall()


def test_a_rank_given_twice_in_a_list_is_refused_by_name(tmp_path):
    import pytest

    from recsys_assets.core.stores.store import StoreError

    store = LocalRecommendationStore(tmp_path / "store.sqlite")
    twice = side_lists(5, 1)
    twice.loc[(twice["list"] == "similar") & (twice["key"] == "P0002") & (twice["rank"] == 2), "rank"] = 3
    with pytest.raises(StoreError, match=r"list with list='similar', key='P0002' holds rank 3 twice \(1 such row"):
        store.publish("v1", lists(5, 1), {}, side_lists=twice)
    doubled = pd.concat([lists(5, 1), lists(5, 1).iloc[[12]]], ignore_index=True)
    with pytest.raises(StoreError, match=r"list with customer_id='C00001' holds rank 3 twice"):
        store.publish("v1", doubled, {})
    assert store.live_version() is None and store.read_side_lists("v1").empty and store.read_version("v1").empty
