"""The local store read by point reads: versions never mix under concurrent readers, and a reader becomes ready
without loading the version (its memory does not grow with the version's size)."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pandas as pd
import pytest

from recsys_assets.core.stores.store import LocalRecommendationStore
from recsys_assets.core.stores.store_reader import LiveRecommendations, popularity_list

CUSTOMERS = [f"C{i:03d}" for i in range(200)]


def tagged_lists(version: str, k: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every customer's lists with product ids tagged by `version`, so a mixed answer is visible."""
    items = pd.DataFrame(
        {
            "customer_id": np.repeat(CUSTOMERS, k),
            "rank": np.tile(np.arange(1, k + 1), len(CUSTOMERS)),
            "product_id": [f"{version}:P{i % 37}" for i in range(len(CUSTOMERS) * k)],
            "score": 1.0,
            "source": "als",
        }
    )
    side = pd.DataFrame(
        {
            "list": "buy_again",
            "key": CUSTOMERS,
            "rank": 1,
            "product_id": [f"{version}:B{i}" for i in range(len(CUSTOMERS))],
            "score": 1.0,
            "source": "buy_again",
            "reason": None,
            "explanation": "you buy this often",
        }
    )
    return items, side


def test_version_switches_under_concurrent_point_readers_never_mix_versions(tmp_path):
    store = LocalRecommendationStore(tmp_path / "store.sqlite")
    items, side = tagged_lists("v00")
    store.publish("v00", items, {"model_version": "m"}, keep_versions=1, side_lists=side)
    # keep_versions=1: each publish drops the version readers may still hold, so they must notice and move on
    reader = LiveRecommendations(store, refresh_seconds=0.005)
    reader.start()
    assert reader.strategy == "point" and reader.snapshot.lists is None
    stop, problems, seen, counts = threading.Event(), [], set(), []

    def read(seed: int):
        rng, done = random.Random(seed), 0
        while not stop.is_set():
            customer = rng.choice(CUSTOMERS)
            found = reader.lookup(customer)
            bought = reader.lookup_buy_again(customer)
            control = reader.lookup_control(customer)
            for lookup in (found, bought):
                tags = {item.product_id.split(":")[0] for item in lookup.items}
                if lookup.fallback is not None or tags != {lookup.version}:
                    problems.append((customer, lookup.version, lookup.fallback, sorted(tags)))
            if not control.known:
                problems.append((customer, control.version, "control group member counted as unknown"))
            seen.add(found.version)
            done += 1
        counts.append(done)

    threads = [threading.Thread(target=read, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    try:
        for n in range(1, 13):
            items, side = tagged_lists(f"v{n:02d}")
            store.publish(f"v{n:02d}", items, {"model_version": "m"}, keep_versions=1, side_lists=side)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        reader.stop()
    assert problems == []
    assert sum(counts) > 100 and len(seen) > 2
    assert [v.version for v in store.versions()] == ["v12"]


def test_point_reads_match_the_whole_version_read(tmp_path):
    """The point strategy answers what the memory strategy answers: lists, explanations and the popularity list
    (kept per version on publish, or computed from the version's packed lists for a version published without it,
    by either rule: the cold-start customers' list, or the products in most lists)."""
    store = LocalRecommendationStore(tmp_path / "store.sqlite")
    rng = np.random.default_rng(3)
    lists = pd.DataFrame(
        {
            "customer_id": np.repeat([f"C{i}" for i in range(50)], 4),
            "rank": np.tile([1, 2, 3, 4], 50),
            "product_id": [f"P{x}" for x in rng.integers(0, 30, 200)],
            "score": rng.random(200),
            "source": "als",
            "reason": "because_you_bought",
            "because": [["P1", "P2"]] * 200,
        }
    )
    store.publish("v1", lists, {"model_version": "m1"})
    point = LiveRecommendations(store, refresh_seconds=0, strategy="point")
    memory = LiveRecommendations(store, refresh_seconds=0, strategy="memory")
    point.start(), memory.start()
    for customer in ("C0", "C17", "C49", "nobody"):
        assert point.lookup(customer) == memory.lookup(customer)
    assert point.snapshot.popular == memory.snapshot.popular == popularity_list(store.read_version("v1"))
    assert point.snapshot.customers == 50 and point.lookup("C3").items[0].because == ("P1", "P2")
    cold = lists.assign(source=np.where(lists["customer_id"] == "C49", "popularity_fallback", "als"))
    store.publish("v2", cold, {"model_version": "m2"})
    connection = sqlite3.connect(store.path)  # versions published before the popularity list was kept
    with connection:
        connection.execute("DELETE FROM popular")
    connection.close()
    assert tuple(popularity_list(store.read_version("v1"))) == point._load("v1").popular
    assert tuple(popularity_list(store.read_version("v2"))) == point._load("v2").popular
    assert [item.product_id for item in point._load("v2").popular] == list(cold["product_id"][-4:])


READY_WITHOUT_LOADING = textwrap.dedent(
    """
    import sys

    from recsys_assets.core.stores.store import LocalRecommendationStore
    from recsys_assets.core.stores.store_reader import LiveRecommendations


    def resident_bytes() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * 4096


    store = LocalRecommendationStore(sys.argv[1])
    if sys.argv[2] == "point":
        store.read_version = store.read_side_lists = None  # reading the whole version would fail
    before = resident_bytes()
    reader = LiveRecommendations(store, refresh_seconds=0, strategy=sys.argv[2])
    reader.start()
    assert reader.lookup("C000123").fallback is None and reader.lookup_buy_again("C000123").items
    print(resident_bytes() - before)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_reader_becomes_ready_without_loading_the_version(tmp_path):
    customers, k = 10_000, 10
    rng = np.random.default_rng(0)
    store = LocalRecommendationStore(tmp_path / "store.sqlite")
    ids = [f"C{i:06d}" for i in range(customers)]
    lists = pd.DataFrame(
        {
            "customer_id": np.repeat(ids, k),
            "rank": np.tile(np.arange(1, k + 1), customers),
            "product_id": [f"P{x:05d}" for x in rng.integers(0, 20_000, customers * k)],
            "score": rng.random(customers * k),
            "source": "als",
            "reason": "because_you_bought",
            "because": '["P00001", "P00002"]',
        }
    )
    side = pd.DataFrame(
        {"list": "buy_again", "key": ids, "rank": 1, "product_id": "P00001", "score": 1.0, "source": "buy_again"}
    ).assign(reason=None, explanation="you buy this often")
    store.publish("v1", lists, {"model_version": "m1"}, side_lists=side)

    def growth(strategy: str) -> int:
        result = subprocess.run(
            [sys.executable, "-c", READY_WITHOUT_LOADING, str(store.path), strategy],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return int(result.stdout.split()[-1])

    loaded, point = growth("memory"), growth("point")
    assert loaded > 40 * 2**20, f"the memory strategy grew by {loaded} bytes only: the version is too small to tell"
    assert point < 8 * 2**20, f"the point reader grew by {point} bytes for a version of {customers * k} rows"
