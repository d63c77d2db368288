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
