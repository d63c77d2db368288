"""Pure pieces of serving: the live-version reader, the popularity fallback, purchase history, loopback check,
the serving log writer."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys_assets.core.purchase_history import purchase_history
from recsys_assets.core.serving_log import read_entries
from recsys_assets.core.store import LocalRecommendationStore
from recsys_assets.core.store_reader import (
    LiveRecommendations,
    NoLiveVersionError,
    lists_by_customer,
    popularity_list,
    strategy_for,
)
from recsys_assets.serving.load_test import NotLoopbackError, check_loopback
from recsys_assets.serving.log_writer import ServingLogWriter


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
    assert reader.snapshot.lists is None and reader.blocking
    found = reader.lookup("A")
    assert [r.product_id for r in found.items] == ["p3", "p1"] and found.fallback is None
    assert found.model_version == "m1" and found.version == "v1"
    missing = reader.lookup("nobody")
    assert missing.fallback == "popularity" and missing.cold_start
    assert [r.product_id for r in missing.items] == ["p1", "p2", "p3"]


def test_strategy_for_local_store_and_declared_strategy(tmp_path):
    store = LocalRecommendationStore(tmp_path / "s.sqlite")
    assert strategy_for(store) == "memory"
    store.serving_strategy = "point"
    assert strategy_for(store) == "point"
    store.serving_strategy = "bulk"
    with pytest.raises(ValueError, match="serving_strategy must be one of"):
        strategy_for(store)


def test_purchase_history_counts_orders_not_lines_and_skips_cancelled_and_returns():
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o1", "o2", "o3", "o4", "o5"],
            "product_id": ["p1", "p1", "p1", "p2", "p3", "p2"],
            "quantity": [1.0, 2.0, 1.0, 5.0, 1.0, -5.0],
            "order_status": ["completed", "completed", "completed", "completed", "cancelled", "completed"],
            "order_ts": pd.to_datetime(
                ["2026-01-01", "2026-01-01", "2026-01-03", "2026-01-02", "2026-01-09", "2026-01-05"]
            ),
        }
    )
    products = pd.DataFrame({"product_id": ["p1", "p2"], "name": ["one", "two"], "category": ["a", "a"]})
    history = purchase_history("C1", orders, products, top=5)
    assert history.orders == 3 and history.lines == 4
    assert [(p["product_id"], p["orders"]) for p in history.top_products] == [("p1", 2), ("p2", 1)]
    assert history.top_categories == [{"category": "a", "orders": 3, "products": 2}]
    assert history.first_order.startswith("2026-01-01") and history.last_order.startswith("2026-01-03")
    empty = purchase_history("C2", orders.iloc[0:0], products)
    assert empty.orders == 0 and empty.top_products == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/", "http://localhost:1", "http://127.9.9.9", "http://[::1]:80"])
def test_loopback_urls_are_accepted(url):
    assert check_loopback(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url", ["http://10.1.2.3", "http://[2001:db8::1]", "http://localhost.example.com", "127.0.0.1"]
)
def test_other_urls_are_refused(url):
    with pytest.raises(NotLoopbackError):
        check_loopback(url)


def test_log_writer_drops_and_counts_when_full(tmp_path):
    writer = ServingLogWriter(tmp_path, max_pending=2)
    entry = {"ts": "2026-06-30T10:00:00+00:00", "customer_id": "A", "model_version": "m", "items": ["p"],
             "cold_start": False, "target": "local"}  # fmt: skip
    for _ in range(3):
        writer.submit(entry)
    writer.close()
    assert writer.stats()["written"] == 2 and writer.stats()["dropped"] == 1
    assert len(read_entries(tmp_path)) == 2


def test_response_encoder_matches_json_dumps():
    import json

    from recsys_assets.core.store_reader import Lookup, Recommendation
    from recsys_assets.serving.encoding import ResponseEncoder

    products = {"p1": ('Cable "3x1.5" 50 m \\ grau', "Kabel/Leitungen"), "p2": ("Sicherung ü 16 A\n", None)}
    items = (
        Recommendation(1, "p1", 0.1 + 0.2, "als"),
        Recommendation(2, "p2", None, "als"),
        Recommendation(3, "p-unknown", 1e-9, "popularity_fallback"),
    )
    lookup = Lookup("C\u00e9-1", "v1-abc", "v1", items, "popularity")
    body, served = ResponseEncoder(products).encode(lookup, 2, "prod")
    expected = {
        "customer_id": "C\u00e9-1",
        "target": "prod",
        "model_version": "v1",
        "store_version": "v1-abc",
        "fallback": "popularity",
        "cold_start": True,
        "k": 2,
        "items": [
            {"rank": 1, "product_id": "p1", "name": products["p1"][0], "category": products["p1"][1],
             "score": 0.1 + 0.2, "source": "als"},
            {"rank": 2, "product_id": "p2", "name": products["p2"][0], "category": None, "score": None,
             "source": "als"},
        ],
    }  # fmt: skip
    assert json.loads(body) == expected and served == ["p1", "p2"]
    everything, _ = ResponseEncoder(products).encode(lookup, 10, "prod")
    assert json.loads(everything)["items"][2] == {
        "rank": 3, "product_id": "p-unknown", "name": None, "category": None, "score": 1e-9,
        "source": "popularity_fallback",
    }  # fmt: skip
