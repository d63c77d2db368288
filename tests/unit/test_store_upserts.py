"""Upserting some customers' lists into a published version of the local store (fold-ins), on a real SQLite file."""

import sqlite3

import numpy as np
import pandas as pd
import pytest

from recsys_assets.core.lifecycle.promotion import promote_version
from recsys_assets.core.stores.store import (
    SIDE_LIST_COLUMNS,
    LocalRecommendationStore,
    StoreError,
    VersionNotFoundError,
)


def for_you(customers: list[str], seed: int, k: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": np.repeat(customers, k),
            "rank": np.tile(np.arange(1, k + 1), len(customers)),
            "product_id": [f"P{x}" for x in rng.integers(0, 500, len(customers) * k)],
            "score": rng.random(len(customers) * k),
            "source": "als",
            "reason": "because_you_bought",
            "because": [[f"P{x}"] for x in rng.integers(0, 500, len(customers) * k)],
        }
    )


def side(name: str, keys: list[str], seed: int, k: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "list": name,
            "key": np.repeat(keys, k),
            "rank": np.tile(np.arange(1, k + 1), len(keys)),
            "product_id": [f"P{x}" for x in rng.integers(0, 500, len(keys) * k)],
            "score": rng.random(len(keys) * k),
            "source": "top_frequency",
            "reason": "reorder",
            "explanation": f"every ~{seed} weeks",
        }
    )[SIDE_LIST_COLUMNS]


CUSTOMERS = [f"C{i:05d}" for i in range(6)]


@pytest.fixture
def published(tmp_path) -> LocalRecommendationStore:
    """Version v1: six customers' "for you" lists, buy-again lists for four of them, one product's related list."""
    store = LocalRecommendationStore(tmp_path / "store.sqlite")
    lists = pd.concat([side("buy_again", CUSTOMERS[:4], 1), side("bought_together", ["P1"], 2)], ignore_index=True)
    store.publish("v1", for_you(CUSTOMERS, 1), {"model_version": "m1"}, keep_versions=2, side_lists=lists)
    return store


def stored(store: LocalRecommendationStore, version: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    return store.read_version(version), store.read_side_lists(version)


def test_an_upsert_replaces_the_customers_lists_and_nothing_else(published, tmp_path):
    reader = LocalRecommendationStore(published.path)  # another store object: the serving process's connections
    assert len(reader.get_items("C00001", "v1")) == 4 and len(reader.get_side_list("buy_again", "C00001", "v1")) == 3
    before_lists, before_side = stored(published, "v1")
    before_info = published.versions()[0]

    # C00001: a new "for you" list and no buy-again rows (its buy-again list goes); C00002: a new buy-again list
    # only (its "for you" list stays); C00009, not in the version: both lists
    recommendations = for_you(["C00001", "C00009"], 7, k=3)
    buy_again = side("buy_again", ["C00002", "C00009"], 8, k=2)
    assert published.upsert_customers("v1", recommendations, buy_again) == 3

    def items(frame: pd.DataFrame, customer: str) -> list[tuple]:
        rows = frame[frame["customer_id"] == customer]
        return [
            (r.rank, r.product_id, r.score, "als", "because_you_bought", tuple(r.because)) for r in rows.itertuples()
        ]

    def side_items(frame: pd.DataFrame, key: str) -> list[tuple]:
        rows = frame[frame["key"] == key]
        return [(r.rank, r.product_id, r.score, r.source, r.reason, r.explanation) for r in rows.itertuples()]

    # the reader's next point reads see the new lists
    assert reader.get_items("C00001", "v1") == items(recommendations, "C00001")
    assert reader.get_items("C00009", "v1") == items(recommendations, "C00009")
    assert reader.get_side_list("buy_again", "C00001", "v1") == []
    assert reader.get_side_list("buy_again", "C00002", "v1") == side_items(buy_again, "C00002")
    assert reader.get_side_list("buy_again", "C00009", "v1") == side_items(buy_again, "C00009")
    # everything else as published: the other customers' lists, C00002's "for you" list, the related lists
    after_lists, after_side = stored(published, "v1")
    untouched = ~before_lists["customer_id"].isin(["C00001"])
    pd.testing.assert_frame_equal(
        after_lists[~after_lists["customer_id"].isin(["C00001", "C00009"])].reset_index(drop=True),
        before_lists[untouched].reset_index(drop=True),
    )
    kept = ~before_side["key"].isin(["C00001", "C00002"])
    pd.testing.assert_frame_equal(
        after_side[~after_side["key"].isin(["C00002", "C00009"])].reset_index(drop=True),
        before_side[kept].reset_index(drop=True),
    )
    # the version is what a publish of its new content would be: same lists, counts and list metadata
    expected_side = pd.concat([before_side[kept], buy_again], ignore_index=True)
    fresh = LocalRecommendationStore(tmp_path / "fresh.sqlite")
    fresh.publish("v1", for_you(CUSTOMERS, 1).pipe(_replaced, recommendations), {}, side_lists=expected_side)
    pd.testing.assert_frame_equal(after_lists, fresh.read_version("v1"))
    pd.testing.assert_frame_equal(after_side, fresh.read_side_lists("v1"))
    info, fresh_info = published.versions()[0], fresh.versions()[0]
    assert (info.customers, info.rows) == (fresh_info.customers, fresh_info.rows) == (7, 5 * 4 + 2 * 3)
    assert info.metadata["lists"] == fresh_info.metadata["lists"] == {"buy_again": 4, "bought_together": 1}
    # never a new version, never another live one; the publish time and the rest of the metadata kept
    assert published.live_version() == "v1" and [v.version for v in published.versions()] == ["v1"]
    assert info.published_at == before_info.published_at and info.metadata["model_version"] == "m1"
    # the counts agree with the lists: promotion (which checks them) copies the version
    promoted = promote_version(published, LocalRecommendationStore(tmp_path / "prod.sqlite"), "v1")
    assert (promoted.customers, promoted.rows) == (7, 26)


def _replaced(frame: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """`frame`'s lists with the customers of `new` given `new`'s lists."""
    return pd.concat([frame[~frame["customer_id"].isin(new["customer_id"])], new], ignore_index=True)


def test_an_unknown_or_pruned_version_is_refused_and_nothing_written(published):
    with pytest.raises(VersionNotFoundError, match=r"does not hold version v9 \(kept: \['v1'\]\).*never creates"):
        published.upsert_customers("v9", for_you(["C00001"], 3), side("buy_again", ["C00001"], 3))
    assert published.read_version("v9").empty and published.read_side_lists("v9").empty
    assert [v.version for v in published.versions()] == ["v1"] and published.live_version() == "v1"
    # a publish that prunes v1 (kept: 1) before the upsert takes the write lock: the upsert fails cleanly
    published.publish("v2", for_you(CUSTOMERS, 2), {"model_version": "m2"}, keep_versions=1)
    with pytest.raises(VersionNotFoundError, match=r"does not hold version v1 \(kept: \['v2'\]\)"):
        published.upsert_customers("v1", for_you(["C00001"], 3), side("buy_again", ["C00001"], 3))
    with sqlite3.connect(published.path) as connection:
        for table in ("customer_lists", "side_list_items", "versions"):
            assert connection.execute(f"SELECT COUNT(*) FROM {table} WHERE version = 'v1'").fetchone() == (0,)


def test_invalid_rows_are_refused_by_name_and_nothing_written(published):
    before = stored(published, "v1"), published.versions()
    twice = for_you(["C00001", "C00009"], 4)
    twice.loc[(twice["customer_id"] == "C00009") & (twice["rank"] == 3), "rank"] = 2
    bad = {
        r"version v1: the list with customer_id='C00009' holds rank 2 twice": (twice, None),
        r"version v1: the list with list='buy_again', key='C00002' holds rank 1 twice": (
            for_you(["C00001"], 4),
            pd.concat([side("buy_again", ["C00002"], 4), side("buy_again", ["C00002"], 5).head(1)]),
        ),
        r"version v1: product_id 'P\\x1f1' holds the separator U\+001F": (
            for_you(["C00001"], 4).assign(product_id=["P\x1f1", "P2", "P3", "P4"]),
            None,
        ),
        r"version v1: a reason holds the character U\+001E": (
            for_you(["C00001"], 4).assign(reason="\x1e"),
            None,
        ),
        r"version v1: an upsert writes customers' buy_again lists only; the side lists hold \['similar'\]": (
            for_you(["C00001"], 4),
            side("similar", ["P1"], 4),
        ),
        r"version v1: recommendations are missing column\(s\) \['score'\]": (
            for_you(["C00001"], 4).drop(columns="score"),
            None,
        ),
    }
    for message, (recommendations, buy_again) in bad.items():
        with pytest.raises(StoreError, match=message):
            published.upsert_customers("v1", recommendations, buy_again)
    (lists, side_lists), versions = stored(published, "v1"), published.versions()
    pd.testing.assert_frame_equal(lists, before[0][0])
    pd.testing.assert_frame_equal(side_lists, before[0][1])
    assert versions == before[1]


def test_a_buy_again_list_alone_and_an_empty_upsert(published):
    """A customer given only a buy-again list keeps their "for you" list; an upsert of nothing changes nothing."""
    lists = published.read_version("v1")
    assert published.upsert_customers("v1", lists.iloc[:0], side("buy_again", ["C00005"], 9)) == 1
    pd.testing.assert_frame_equal(published.read_version("v1"), lists)
    assert [r[1] for r in published.get_side_list("buy_again", "C00005", "v1")] == (
        side("buy_again", ["C00005"], 9)["product_id"].tolist()
    )
    assert published.versions()[0].metadata["lists"]["buy_again"] == 5
    info = published.versions()[0]
    assert published.upsert_customers("v1", lists.iloc[:0], pd.DataFrame(columns=SIDE_LIST_COLUMNS)) == 0
    assert published.versions()[0] == info


def test_upserts_racing_publishes_that_prune_their_version_leave_nothing_behind(published):
    """Each upsert writes into the version it read as live or is refused whole when a publish pruned it first."""
    import threading
    import time
    from collections import Counter

    outcomes, stop = Counter(), threading.Event()

    def upserter():
        writer = LocalRecommendationStore(published.path)
        while not stop.is_set():
            version = writer.live_version()
            try:
                writer.upsert_customers(version, for_you(["C00001", "C-NEW"], 5, k=3), side("buy_again", ["C-NEW"], 5))
                outcomes["written"] += 1
            except VersionNotFoundError:
                outcomes["refused"] += 1

    thread = threading.Thread(target=upserter)
    thread.start()
    for round_ in range(2, 12):
        published.publish(f"v{round_}", for_you(CUSTOMERS, round_), {}, keep_versions=1)
        time.sleep(0.15)  # SQLite's busy wait (sleeps of up to 100 ms) is not fair: give the upserter turns
    stop.set()
    thread.join(60)
    assert outcomes["written"] > 0 and outcomes["refused"] > 0, outcomes
    with sqlite3.connect(published.path) as connection:
        for table in ("customer_lists", "side_list_items", "versions", "popular"):
            assert connection.execute(f"SELECT DISTINCT version FROM {table}").fetchall() == [("v11",)], table
    info, lists = published.versions()[0], published.read_version("v11")
    assert (info.customers, info.rows) == (lists["customer_id"].nunique(), len(lists))
    assert info.metadata["lists"].get("buy_again", 0) == published.read_side_lists("v11")["key"].nunique()
