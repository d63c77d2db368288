"""Repeat buying in the generator: consumables come back at their own intervals, project products do not, the
orders themselves are those without it, and a seed gives the same history."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from recsys_assets.core.data.generator import GeneratorConfig, generate, generate_stream
from recsys_assets.core.data.reorder_cycles import Regulars, ReorderModel, simulate_reorders

END = dt.date(2026, 6, 30)
# a year of a small realistic shop: 600 customers, ~5 000 order lines
SHOP = dict(customers=600, days=365, lines_per_day=20, end_date=END)


@pytest.fixture(scope="module")
def shop():
    return generate(GeneratorConfig.realistic(**SHOP, seed=4))


def purchase_days(data) -> pd.DataFrame:
    """One row per customer, product and day bought (completed purchases), with the gap since the customer last
    bought that product and the product's kind and drawn interval."""
    orders = data.orders[(data.orders["quantity"] > 0) & (data.orders["order_status"] == "completed")]
    days = orders.assign(day=orders["order_ts"].dt.normalize())
    days = days.drop_duplicates(["customer_id", "product_id", "day"]).sort_values("day")
    days["gap"] = days.groupby(["customer_id", "product_id"])["day"].diff().dt.days
    kinds = data.product_kinds.set_index("product_id")
    return days.join(kinds, on="product_id")


def test_consumables_come_back_near_their_own_interval(shop):
    days = purchase_days(shop)
    gaps = days[(days["kind"] == "consumable") & days["gap"].notna()]
    per_product = gaps.groupby("product_id")["gap"].agg(["median", "size"])
    per_product = per_product[per_product["size"] >= 5].join(shop.product_kinds.set_index("product_id"))
    assert len(per_product) > 50
    # each product's median gap follows the interval the generator drew for it (rank correlation, without the
    # seconds pandas' method="spearman" spends importing scipy.stats)
    assert per_product["median"].rank().corr(per_product["reorder_days"].rank()) > 0.4
    short, long = shop.product_kinds["reorder_days"].quantile([0.25, 0.75])
    assert gaps[gaps["reorder_days"] >= long]["gap"].median() > 2 * gaps[gaps["reorder_days"] <= short]["gap"].median()
    # customers who order often buy a consumable again about one interval later (not at their order rhythm)
    orders_of = shop.orders.groupby("customer_id")["order_id"].nunique()
    frequent = gaps[orders_of.reindex(gaps["customer_id"]).to_numpy() >= 40]
    assert len(frequent) > 200
    assert 0.8 < (frequent["gap"] / frequent["reorder_days"]).median() < 1.6


def test_project_products_are_rarely_bought_twice_by_a_customer(shop):
    days = purchase_days(shop)
    pairs = days.groupby(["customer_id", "product_id"]).agg(days=("day", "size"), kind=("kind", "first"))
    bought_again = (pairs["days"] > 1).groupby(pairs["kind"]).mean()
    assert bought_again["project"] < 0.06
    assert bought_again["consumable"] > 2 * bought_again["project"]
    kinds = shop.product_kinds["kind"].value_counts()
    assert kinds["consumable"] > 0 and kinds["project"] > 0
    assert shop.product_kinds.loc[shop.product_kinds["kind"] == "project", "reorder_days"].isna().all()


def test_the_orders_are_those_without_repeat_buying_and_a_seed_gives_the_same_history(shop):
    again = generate(GeneratorConfig.realistic(**SHOP, seed=4))
    pd.testing.assert_frame_equal(shop.orders, again.orders)
    pd.testing.assert_frame_equal(shop.product_kinds, again.product_kinds)
    plain = generate(GeneratorConfig.realistic(**SHOP, seed=4, reorder_cycles=False))
    assert plain.product_kinds is None
    # the same orders (customers, days, times, cancellations, credit notes); what the lines hold differs
    skeleton = ["order_id", "line_no", "order_ts", "customer_id", "order_status"]
    pd.testing.assert_frame_equal(shop.orders[skeleton], plain.orders[skeleton])
    assert (shop.orders["product_id"] != plain.orders["product_id"]).mean() > 0.5
    other = generate(GeneratorConfig.realistic(**SHOP, seed=5))
    assert not other.product_kinds["kind"].equals(shop.product_kinds["kind"])


def test_in_chunks_project_products_are_still_bought_once_and_a_chunk_size_gives_the_same_history():
    config = GeneratorConfig.realistic(**SHOP, seed=4)
    chunks = list(generate_stream(config, chunk_orders=400).orders)
    assert len(chunks) > 3
    whole = generate(config, chunk_orders=400)
    together = pd.concat(chunks, ignore_index=True).sort_values(["order_ts", "order_id", "line_no"], kind="stable")
    pd.testing.assert_frame_equal(together.reset_index(drop=True), whole.orders)
    days = purchase_days(whole)  # the customers' earlier chunks are remembered
    pairs = days[days["kind"] == "project"].groupby(["customer_id", "product_id"])["day"].size()
    assert (pairs > 1).mean() < 0.06


# --- the renewal process on hand-made orders ----------------------------------------------------------------------


def renewal(order_customer, order_day, slots, owner, product, cycle_days, between, seed=0):
    regulars = Regulars(owner=np.array(owner), product=np.array(product), cycle_days=np.array(cycle_days, float))
    return simulate_reorders(
        np.array(order_customer),
        np.array(order_day),
        np.array(slots),
        regulars,
        np.array(between, float),
        ReorderModel(),
        np.random.default_rng(seed),
    )


def test_a_daily_customer_reorders_each_consumable_at_its_pace():
    days = np.arange(400)
    counts, products = renewal(np.zeros(400, int), days, np.full(400, 2), [0, 0], [5, 7], [10.0, 30.0], [1.0])
    bought_on = np.repeat(days, counts)
    assert set(products) == {5, 7}
    assert 9 <= np.median(np.diff(bought_on[products == 5])) <= 11
    assert 27 <= np.median(np.diff(bought_on[products == 7])) <= 33


def test_an_order_buys_no_more_than_its_room_and_only_the_customers_own_consumables():
    rng = np.random.default_rng(3)
    customer = np.sort(rng.integers(0, 4, 300))
    day = np.concatenate([np.sort(rng.integers(0, 200, (customer == c).sum())) for c in range(4)])
    slots = rng.integers(0, 3, 300)
    owner, product = [0, 0, 0, 1, 2, 2, 3], [10, 11, 12, 10, 20, 21, 30]
    counts, products = renewal(customer, day, slots, owner, product, [5, 7, 9, 14, 3, 40, 20], [2, 3, 4, 5])
    assert (counts <= slots).all() and counts.sum() > 50
    own = {c: {p for o, p in zip(owner, product, strict=True) if o == c} for c in range(4)}
    assert all(p in own[c] for c, p in zip(np.repeat(customer, counts), products, strict=True))
    again = renewal(customer, day, slots, owner, product, [5, 7, 9, 14, 3, 40, 20], [2, 3, 4, 5])
    assert np.array_equal(counts, again[0]) and np.array_equal(products, again[1])
