"""Order-level feature frames for drift checks, built from raw order lines plus the master data (pure pandas).

One row per order, never per line: a basket of 20 lines is one purchase decision, and line-level rows would
let big baskets dominate every distribution. Customer-level features are the attributes of the ordering
customer (segment, new or known to the model, activity in the training data), so each customer weighs in
proportion to how often they order. That makes windows of different lengths comparable: a per-customer
aggregate over a 7-day window (e.g. mean basket size of 1-2 orders) has a different spread from the same
aggregate over a 60-day window even when nothing changed, and would raise false alarms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

NUMERICAL_FEATURES = ["basket_size", "quantity", "unit_price", "item_popularity", "customer_activity"]
CATEGORICAL_FEATURES = ["main_category", "customer_segment", "new_customer"]
UNKNOWN = "unknown"


@dataclass
class ReferenceProfile:
    """What the model was trained on, as the features need it.

    `product_orders`: distinct orders per product in the reference (item popularity); `customer_orders`:
    distinct orders per customer in the reference (activity; customers absent here are new to the model).
    """

    product_orders: pd.Series
    customer_orders: pd.Series

    @property
    def known_customers(self) -> pd.Index:
        return self.customer_orders.index


def _normalised_equals(column: pd.Series, value: str) -> np.ndarray:
    """column.strip().lower() == value, computed on the distinct values only (a status column has a few)."""
    codes, uniques = pd.factorize(column)
    hits = np.array([str(u).strip().lower() == value for u in uniques] + [False], dtype=bool)
    return hits[codes]  # code -1 (missing) reads the trailing False


def _as_text(column: pd.Series) -> pd.Series:
    return column if pd.api.types.is_string_dtype(column) else column.astype(str)


def purchase_lines(orders: pd.DataFrame, max_quantity: float = 10_000.0) -> pd.DataFrame:
    """The lines that describe purchases: not cancelled, positive and plausible quantity, ids present.

    Credit notes, cancelled orders and absurd quantities are left to the data-quality checks; they would
    only blur the drift features.
    """
    quantity = orders["quantity"].to_numpy(dtype=float)
    keep = (
        ~_normalised_equals(orders["order_status"], "cancelled")
        & (quantity > 0)
        & (quantity <= max_quantity)
        & orders["customer_id"].notna().to_numpy()
        & orders["product_id"].notna().to_numpy()
        & orders["order_id"].notna().to_numpy()
    )
    lines = orders.loc[keep, ["order_id", "order_ts", "customer_id", "product_id"]].reset_index(drop=True)
    for column in ("order_id", "customer_id", "product_id"):
        lines[column] = _as_text(lines[column])
    lines["quantity"] = quantity[keep]
    lines["unit_price"] = orders["unit_price"].to_numpy(dtype=float)[keep]
    return lines


def _runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of an int64 array and how often each occurs (a sort, faster than np.unique here)."""
    ordered = np.sort(keys)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return ordered[starts], np.diff(np.r_[starts, len(ordered)])


def _distinct_orders_per(lines: pd.DataFrame, column: str) -> pd.Series:
    """Number of distinct orders per value of `column` (integer codes, no string groupby)."""
    order_codes, _ = pd.factorize(lines["order_id"])
    codes, uniques = pd.factorize(lines[column])
    pairs, _ = _runs(order_codes.astype(np.int64) * len(uniques) + codes)
    counts = np.bincount(pairs % len(uniques), minlength=len(uniques))
    return pd.Series(counts, index=pd.Index(np.asarray(uniques, dtype=object), name=column), name="orders")


def reference_profile(lines: pd.DataFrame) -> ReferenceProfile:
    """Popularity of products and activity of customers in the reference purchase lines."""
    return ReferenceProfile(
        product_orders=_distinct_orders_per(lines, "product_id"),
        customer_orders=_distinct_orders_per(lines, "customer_id"),
    )


def _lookup(keys: pd.Series, table: pd.Series, default):
    """table[keys] by a hash index lookup, `default` for keys not in the table (as a numpy array)."""
    index = pd.Index(table.index.astype(str)).get_indexer(keys)
    values = np.asarray(table.to_numpy())
    out = values[np.maximum(index, 0)] if len(values) else np.full(len(keys), default)
    return np.where(index >= 0, out, default)


def order_features(
    lines: pd.DataFrame,
    products: pd.DataFrame,
    customers: pd.DataFrame,
    profile: ReferenceProfile,
    leave_one_out: bool = False,
) -> pd.DataFrame:
    """One row per order of `lines` (purchase lines, see `purchase_lines`) with the drift features.

    basket_size: lines in the order; quantity: units ordered; unit_price: mean unit price of its lines;
    item_popularity: mean log1p(reference orders containing the product) over its lines (0 for products the
    model never saw); main_category: the category most of its lines belong to (ties: the first by name);
    customer_segment: the customer's segment; new_customer: "yes" when the customer has no order in the
    reference; customer_activity: log1p(orders of the customer in the reference).

    `leave_one_out=True` is for the reference orders themselves: each order's own contribution is taken out
    of the counts (an order is not evidence of its own customer's activity). Without it the reference is
    biased: a customer appears in it only if they ordered, and with more orders the luckier they were, so the
    reference would show more activity and fewer new customers than any later window of the same world.
    With it, "orders of this customer besides this one" has the same distribution as "orders of the
    customer of a later order" when nothing changed.
    """
    if lines.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in NUMERICAL_FEATURES}).assign(
            **{c: pd.Series(dtype=object) for c in CATEGORICAL_FEATURES}
        )
    own = 1.0 if leave_one_out else 0.0
    order_codes, _ = pd.factorize(lines["order_id"], sort=True)
    n_orders = int(order_codes.max()) + 1
    basket = np.bincount(order_codes, minlength=n_orders).astype(float)

    def mean_per_order(values: np.ndarray) -> np.ndarray:
        return np.bincount(order_codes, weights=values, minlength=n_orders) / basket

    product = lines["product_id"]
    category = _lookup(product, products.set_index("product_id")["category"].astype(str), UNKNOWN).astype(str)
    # a product repeated inside one order counts that order once: subtract 1 per line, floored at 0
    seen = _lookup(product, profile.product_orders.astype(float), 0.0).astype(float)
    popularity = np.log1p(np.maximum(seen - own, 0.0))

    category_codes, category_names = pd.factorize(pd.Series(category), sort=True)
    n_categories = len(category_names)
    pairs, counts = _runs(order_codes.astype(np.int64) * n_categories + category_codes)
    pair_order, pair_category = pairs // n_categories, pairs % n_categories
    best = np.lexsort((pair_category, -counts, pair_order))  # per order: most lines, then first name
    ranked = pair_order[best]
    first = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    main_category = np.empty(n_orders, dtype=object)
    main_category[pair_order[best][first]] = np.asarray(category_names, dtype=object)[pair_category[best][first]]

    customer_of_order = np.empty(n_orders, dtype=object)
    customer_of_order[order_codes] = lines["customer_id"].to_numpy(dtype=object)  # one customer per order
    customer_of_order = pd.Series(customer_of_order)
    segment = _lookup(customer_of_order, customers.set_index("customer_id")["segment"].astype(str), UNKNOWN)
    activity = np.maximum(_lookup(customer_of_order, profile.customer_orders.astype(float), 0.0) - own, 0.0)
    return pd.DataFrame(
        {
            "basket_size": basket,
            "quantity": np.bincount(order_codes, weights=lines["quantity"].to_numpy(dtype=float), minlength=n_orders),
            "unit_price": mean_per_order(lines["unit_price"].to_numpy(dtype=float)),
            "item_popularity": mean_per_order(popularity),
            "customer_activity": np.log1p(activity.astype(float)),
            "main_category": main_category,
            "customer_segment": segment.astype(str),
            "new_customer": np.where(activity == 0, "yes", "no"),
        }
    )[NUMERICAL_FEATURES + CATEGORICAL_FEATURES]


def recommendation_features(
    recommendations: pd.DataFrame, products: pd.DataFrame, popularity: pd.Series
) -> pd.DataFrame:
    """One row per recommended item: its category and log1p(popularity) (orders in the training data)."""
    product = recommendations["product_id"].astype(str)
    return pd.DataFrame(
        {
            "category": _lookup(product, products.set_index("product_id")["category"].astype(str), UNKNOWN),
            "item_popularity": np.log1p(_lookup(product, popularity.astype(float), 0.0).astype(float)),
            "rank": recommendations["rank"].astype(float).to_numpy(),
        }
    )
