"""The SQLite store keeps each item's explanation, also in a store file created before explanations existed."""

import sqlite3

import pandas as pd

from recsys_assets.core.stores.store import LocalRecommendationStore

LISTS = pd.DataFrame(
    {"customer_id": ["a", "a"], "rank": [1, 2], "product_id": ["p1", "p2"], "score": [0.9, 0.5], "source": "als",
     "reason": ["because_you_bought", "popular_overall"], "because": ['["p7", "p8"]', "[]"]}
)  # fmt: skip


def test_explanations_round_trip_and_old_stores_gain_the_columns(tmp_path):
    path = tmp_path / "store.sqlite"
    with sqlite3.connect(path) as old:  # the layout before explanations, with a version in it
        old.executescript(
            """
            CREATE TABLE recommendations (version TEXT NOT NULL, customer_id TEXT NOT NULL, rank INTEGER NOT NULL,
                product_id TEXT NOT NULL, score REAL, source TEXT NOT NULL, PRIMARY KEY (version, customer_id, rank));
            INSERT INTO recommendations VALUES ('v0', 'a', 1, 'p9', 0.1, 'als');
            """
        )
    store = LocalRecommendationStore(path)
    [before] = store.get("a", "v0").to_dict("records")
    assert before["product_id"] == "p9" and before["reason"] is None and before["because"] is None
    store.publish("v1", LISTS, {"model_version": "m1"})
    back = store.get("a")
    assert back["reason"].tolist() == ["because_you_bought", "popular_overall"]
    assert back["because"].tolist() == ['["p7", "p8"]', "[]"]
    store.publish("v2", LISTS.drop(columns=["reason", "because"]), {"model_version": "m2"})  # without: NULLs
    assert store.read_version("v2")["reason"].isna().all()
    lists = LISTS.assign(because=[("p7", "p8"), ()])  # sequences are stored as JSON arrays
    store.publish("v3", lists, {"model_version": "m3"})
    assert store.get("a")["because"].tolist() == ['["p7", "p8"]', "[]"]
