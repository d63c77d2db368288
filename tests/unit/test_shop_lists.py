"""The published buy-again and related lists: the evaluated rankings, active products only, explained."""

import numpy as np
import pandas as pd
import pytest

from recsys_assets.core.modeling import bought_together as evaluated
from recsys_assets.core.modeling.buy_again import RANKINGS, rank_buy_again
from recsys_assets.core.modeling.shop_lists import buy_again_lists, duration, percent, publish_as_of, related_lists


def interactions(seed: int = 0, customers: int = 40, products: int = 30, orders: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    order_customer = rng.integers(0, customers, orders)
    order_day = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 120, orders), unit="D")
    rows = []
    for order in range(orders):
        for product in set(rng.integers(0, products, rng.integers(1, 5)).tolist()):
            rows.append((f"C{order_customer[order]:03d}", f"P{product:03d}", f"O{order:04d}", order_day[order]))
    return pd.DataFrame(rows, columns=["customer_id", "product_id", "order_id", "order_ts"])


def test_durations_and_shares_read_as_a_buyer_reads_them():
    assert [duration(d) for d in (0.4, 1, 9, 13.4, 28, 35, 90, 800)] == [
        "less than a day", "1 day", "9 days", "13 days", "4 weeks", "5 weeks", "3 months", "2 years",
    ]  # fmt: skip
    assert [percent(s) for s in (0.38, 0.004, 0.0, 1.0)] == ["38 %", "<1 %", "0 %", "100 %"]


@pytest.mark.parametrize("ranking", RANKINGS)
def test_buy_again_lists_are_the_evaluated_ranking_and_explain_each_item(ranking):
    data = interactions()
    every = pd.Index(data["product_id"].unique())
    published = buy_again_lists(data, every, ranking, 5)
    as_of = publish_as_of(data)
    ranked = rank_buy_again(data, as_of, 5)
    lists = ranked.lists[ranking]
    for code, customer in enumerate(ranked.customers):
        expected = [ranked.products[i] for i in lists[code] if i >= 0]
        assert published.loc[published["key"] == customer, "product_id"].tolist() == expected
    assert set(published["source"]) == {ranking} and set(published["list"]) == {"buy_again"}
    # the sentence matches the customer's own history of the product
    row = published[published["reason"] == "reorder"].iloc[0]
    bought = data[(data["customer_id"] == row["key"]) & (data["product_id"] == row["product_id"])]
    days = bought["order_ts"].dt.normalize().drop_duplicates().sort_values()
    gap = (days.iloc[-1] - days.iloc[0]).days / (len(days) - 1)
    ago = (as_of - days.iloc[-1]).days
    assert row["explanation"] == f"you buy this every ~{duration(gap)}; last bought {duration(ago)} ago"
    once = published[published["reason"] == "bought_once"].iloc[0]
    assert once["explanation"].startswith("you bought this once, ")


def test_buy_again_lists_keep_active_products_only_and_refuse_unknown_rankings():
    data = interactions(1)
    inactive = {"P000", "P001", "P002"}
    active = pd.Index(sorted(set(data["product_id"]) - inactive))
    published = buy_again_lists(data, active, "buy_again", 10)
    assert not inactive & set(published["product_id"])
    assert published.groupby("key")["rank"].apply(lambda r: r.tolist() == list(range(1, len(r) + 1))).all()
    with pytest.raises(ValueError, match="unknown buy-again ranking 'newest'; the rankings are"):
        buy_again_lists(data, active, "newest", 10)


def test_related_lists_are_the_evaluated_rankings_for_active_products_with_explanations():
    data = interactions(2)
    products = pd.DataFrame(
        {
            "product_id": [f"P{i:03d}" for i in range(30)],
            "name": [f"Cable {i}" for i in range(30)],
            "active": [i != 5 for i in range(30)],
        }
    )
    ids = pd.Index(sorted(data["product_id"].unique()))
    factors = (ids, np.random.default_rng(3).normal(size=(len(ids), 4)))
    published = related_lists(data, products, 5, 5.0, factors)
    assert set(published["list"]) == {"bought_together", "similar"}
    assert "P005" not in set(published["product_id"]) | set(published["key"])  # inactive: never listed, no list
    assert not (published["key"] == published["product_id"]).any()
    # with every product active, bought together is exactly the ranking model_metrics evaluates
    everything = related_lists(data, products.assign(active=True), 5, 5.0)
    baskets = evaluated.baskets(data)
    queries = np.arange(len(baskets.products))
    lists = evaluated.bought_together_lists(baskets, queries, 5, 5.0, evaluated.popular_items(baskets, 11))
    for query, row in zip(queries, lists, strict=True):
        key = baskets.products[query]
        shown = everything[(everything["list"] == "bought_together") & (everything["key"] == key)]
        assert shown["product_id"].tolist() == [baskets.products[i] for i in row]
    first = everything[everything["source"] == "bought_together"].iloc[0]
    query_orders = data.loc[data["product_id"] == first["key"], "order_id"].unique()
    both = data[data["order_id"].isin(query_orders) & (data["product_id"] == first["product_id"])]["order_id"].nunique()
    name = f"Cable {int(first['key'][1:])}"
    share = percent(both / len(query_orders))
    assert first["explanation"] == f"bought together with {name} in {share} of the orders with {name}"
    # similar: the highest cosine first, the query left out
    unit = factors[1] / np.linalg.norm(factors[1], axis=1, keepdims=True)
    query = ids.get_loc("P010")
    cosine = unit @ unit[query]
    cosine[query] = -np.inf
    cosine[ids.get_loc("P005")] = -np.inf
    similar = published[(published["list"] == "similar") & (published["key"] == "P010")]
    assert similar["product_id"].tolist() == [ids[i] for i in np.argsort(-cosine)[:5]]
    assert similar["score"].to_numpy() == pytest.approx(np.sort(cosine)[::-1][:5])
