"""Bought together / similar: co-occurrence weighting, factor similarity and the hold-out evaluation, on hand-made
baskets whose right answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_assets.core.modeling.bought_together import (
    RelatedSettings,
    align_factors,
    baskets,
    bought_together_lists,
    co_orders,
    evaluate_related,
    holdout_queries,
    popular_items,
    popular_lists,
    shrunk_lift,
    similar_lists,
)


def orders(*baskets_: list[str], prefix: str = "o") -> pd.DataFrame:
    """Interactions with one line per product of each basket (order ids prefix0, prefix1, ...)."""
    rows = [(f"{prefix}{n}", product) for n, basket in enumerate(baskets_) for product in basket]
    return pd.DataFrame(
        {
            "customer_id": [f"c{order}" for order, _ in rows],
            "product_id": [product for _, product in rows],
            "order_id": [order for order, _ in rows],
            "order_ts": pd.Timestamp("2026-01-01"),
            "quantity": 1.0,
        }
    )


# drill is bought 4 times, always with bits (3 of them) and the bulb that is in every order: the bulb shares more
# orders with drill (4) than bits do (3), but only as often as chance says, while bits are drill's real companion
DRILL_SHOP = orders(
    ["drill", "bits", "bulb"],
    ["drill", "bits", "bulb"],
    ["drill", "bits", "bulb"],
    ["drill", "bulb"],
    *[["bulb", f"filler{n}"] for n in range(30)],
)


def related(train: pd.DataFrame, query: str, scorer: str, k: int = 3, prior: float = 5.0) -> list[str]:
    data = baskets(train)
    queries = data.products.get_indexer([query])
    fallback = popular_items(data, 2 * k + 1)
    if scorer == "bought_together":
        lists = bought_together_lists(data, queries, k, prior, fallback)
    else:
        lists = popular_lists(queries, k, fallback)
    return [data.products[i] for i in lists[0] if i >= 0]


def test_the_weighting_ranks_a_significant_pair_above_a_merely_popular_one():
    data = baskets(DRILL_SHOP)
    counts = co_orders(data, data.products.get_indexer(["drill"]))
    co = dict(zip(data.products[counts.indices], counts.data, strict=True))
    assert co == {"bits": 3.0, "bulb": 4.0}  # raw co-counts put the bulb first
    assert related(DRILL_SHOP, "drill", "bought_together")[:2] == ["bits", "bulb"]
    # the baseline: the best seller first, then by orders (bits: 3, drill itself left out)
    assert related(DRILL_SHOP, "drill", "popular_related") == ["bulb", "bits", "filler0"]


def test_shrinkage_keeps_a_pair_of_rarities_seen_once_below_a_pair_seen_often():
    once = shrunk_lift(np.array([1.0]), np.array([1.0]), np.array([1.0]), 1000, prior=5.0)
    often = shrunk_lift(np.array([10.0]), np.array([20.0]), np.array([15.0]), 1000, prior=5.0)
    assert once[0] < often[0]
    # the raw lift (no prior) has it the other way round: 1000 against 33
    raw_once = shrunk_lift(np.array([1.0]), np.array([1.0]), np.array([1.0]), 1000, prior=0.0)
    raw_often = shrunk_lift(np.array([10.0]), np.array([20.0]), np.array([15.0]), 1000, prior=0.0)
    assert raw_once[0] == pytest.approx(1000.0) and raw_often[0] == pytest.approx(1000 / 30)
    # a pair seen exactly as often as chance scores 1 whatever the prior
    assert shrunk_lift(np.array([4.0]), np.array([4.0]), np.array([34.0]), 34, prior=5.0)[0] == pytest.approx(1.0)


def test_no_list_holds_its_own_query_and_short_lists_fill_without_repeats():
    data = baskets(DRILL_SHOP)
    queries = np.arange(len(data.products))
    fallback = popular_items(data, 2 * 5 + 1)
    factors = np.random.default_rng(0).normal(size=(len(data.products), 4)).astype(np.float32)
    for lists in (
        bought_together_lists(data, queries, 5, 5.0, fallback),
        popular_lists(queries, 5, fallback),
        similar_lists(factors, queries, 5, fallback),
    ):
        assert (lists >= 0).all()  # 33 products: every list of 5 fills
        assert not (lists == queries[:, None]).any()
        assert all(len(set(row)) == 5 for row in lists.tolist())
    # filler0 was bought with the bulb only: the bulb, then the best sellers
    assert related(DRILL_SHOP, "filler0", "bought_together") == ["bulb", "drill", "bits"]


def test_item_factor_similarity_is_the_cosine_not_the_dot_product():
    # "long" points nearly the same way as "a" only a little less than "short", but is 20 times longer
    ids = pd.Index(["a", "long", "short", "opposite", "none"])
    factors = np.array([[1, 0], [10, 5], [0.5, 0.01], [-1, 0], [0, 0]], dtype=np.float32)
    fallback = np.array([3, 2, 1, 0, 4])  # a made-up popularity order
    lists = similar_lists(factors, np.array([0, 3, 4]), 2, fallback)
    assert ids[lists[0]].tolist() == ["short", "long"]
    assert ids[lists[1]].tolist() == ["none", "long"]  # opposite of a: a is the least similar; "none" scores 0
    assert ids[lists[2]].tolist() == ["opposite", "short"]  # no factors: the popular products
    # factors are looked up by product id (as text); a product the model does not know has none
    aligned = align_factors((pd.Index(["b", "a"]), np.array([[0, 2], [1, 0]], dtype=np.float32)), pd.Index(["a", "c"]))
    assert aligned.tolist() == [[1, 0], [0, 0]]


def test_an_order_with_one_known_product_is_not_evaluated():
    data = baskets(DRILL_SHOP)
    held_out = orders(["drill", "bits"], ["bulb"], ["drill", "new_product"], ["bits", "bits"], prefix="h")
    queries = holdout_queries(data.products, held_out, max_per_order=10)
    assert (queries.evaluable_orders, queries.holdout_orders) == (1, 4)
    asked = data.products[queries.items].tolist()
    assert asked == ["drill", "bits"]
    relevant = [data.products[queries.relevant[row].indices].tolist() for row in range(2)]
    assert relevant == [["bits"], ["drill"]]


def test_a_large_order_gives_a_seeded_sample_of_queries_each_with_all_the_others_relevant():
    products = [f"p{n}" for n in range(12)]
    data = baskets(orders(products))
    held_out = orders(products, prefix="h")
    first = holdout_queries(data.products, held_out, max_per_order=4, seed=3)
    again = holdout_queries(data.products, held_out, max_per_order=4, seed=3)
    assert len(first.items) == 4 and first.items.tolist() == again.items.tolist()
    assert np.diff(first.relevant.indptr).tolist() == [11] * 4


def test_bought_together_finds_the_companions_and_is_chosen_beyond_noise():
    rng = np.random.default_rng(1)
    pairs = [(f"a{n}", f"b{n}") for n in range(40)]
    popular = [f"pop{n}" for n in range(10)]

    def shop(count: int) -> list[list[str]]:
        return [[*pairs[i], *rng.choice(popular, 2, replace=False)] for i in rng.integers(0, len(pairs), count)]

    train = orders(*shop(2000))
    held_out = orders(*[list(pairs[i]) for i in rng.integers(0, len(pairs), 150)], prefix="h")
    results = evaluate_related(train, held_out, 10, settings=RelatedSettings(noise_below_orders=100))
    assert results["evaluable_orders"] == 150 and results["queries"] == 300
    assert results["scorers"]["bought_together"]["map"] == 1.0  # the companion is always first
    assert results["scorers"]["popular_related"]["hit_rate"] == 0.0  # the ten popular products fill the list
    assert results["choice"] == "bought_together"
    assert "bought_together - popular_related" in results["reason"] and "no lead" not in results["reason"]
    assert "similar" not in results["scorers"]  # no item factors given
    # the same figures over fewer orders than the threshold are flagged as noise, and nothing is chosen
    few = evaluate_related(train, held_out.iloc[:20], 10, settings=RelatedSettings(noise_below_orders=100))
    assert few["evaluable_orders"] == 10 and few["choice"] == "none" and "only 10 hold-out orders" in few["noise"]
