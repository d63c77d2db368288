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


def purchase_lines(orders: pd.DataFrame, max_quantity: float = 10_000.0) -> pd.DataFrame:
    """The lines that describe purchases: completed, positive and plausible quantity, ids present.

    Credit notes, cancelled orders and absurd quantities are left to the data-quality checks; they would
    only blur the drift features.
    """
    status = orders["order_status"].astype("string").str.strip().str.lower()
    quantity = orders["quantity"].astype(float)
    keep = (
        status.ne("cancelled").fillna(True)
        & (quantity > 0)
        & (quantity <= max_quantity)
        & orders["customer_id"].notna()
        & orders["product_id"].notna()
        & orders["order_id"].notna()
    )
    lines = orders.loc[keep.to_numpy(dtype=bool), ["order_id", "order_ts", "customer_id", "product_id"]].copy()
    lines["quantity"] = quantity[keep.to_numpy(dtype=bool)].to_numpy()
    lines["unit_price"] = orders.loc[keep.to_numpy(dtype=bool), "unit_price"].astype(float).to_numpy()
    for column in ("order_id", "customer_id", "product_id"):
        lines[column] = lines[column].astype(str)
    return lines.reset_index(drop=True)


def reference_profile(lines: pd.DataFrame) -> ReferenceProfile:
    """Popularity of products and activity of customers in the reference purchase lines."""
    return ReferenceProfile(
        product_orders=lines.groupby("product_id")["order_id"].nunique().rename("orders"),
        customer_orders=lines.groupby("customer_id")["order_id"].nunique().rename("orders"),
    )


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
    model never saw); main_category: the category most of its lines belong to; customer_segment: the
    customer's segment; new_customer: "yes" when the customer has no order in the reference;
    customer_activity: log1p(orders of the customer in the reference).

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
    category = products.set_index(products["product_id"].astype(str))["category"].astype(str)
    line_category = lines["product_id"].map(category).fillna(UNKNOWN)
    own = 1.0 if leave_one_out else 0.0
    # a product repeated inside one order counts that order once: subtract 1 per line, floored at 0
    popularity = np.log1p(
        np.maximum(lines["product_id"].map(profile.product_orders).fillna(0.0).to_numpy(dtype=float) - own, 0.0)
    )
    frame = pd.DataFrame(
        {
            "order_id": lines["order_id"].to_numpy(),
            "customer_id": lines["customer_id"].to_numpy(),
            "quantity": lines["quantity"].to_numpy(dtype=float),
            "unit_price": lines["unit_price"].to_numpy(dtype=float),
            "item_popularity": popularity,
            "category": line_category.to_numpy(),
        }
    )
    grouped = frame.groupby("order_id", sort=True)
    result = grouped.agg(
        customer_id=("customer_id", "first"),
        basket_size=("quantity", "size"),
        quantity=("quantity", "sum"),
        unit_price=("unit_price", "mean"),
        item_popularity=("item_popularity", "mean"),
    )
    counts = frame.groupby(["order_id", "category"], sort=True).size().rename("lines").reset_index()
    counts = counts.sort_values(["order_id", "lines", "category"], ascending=[True, False, True], kind="stable")
    result["main_category"] = counts.drop_duplicates("order_id").set_index("order_id")["category"]
    segment = customers.set_index(customers["customer_id"].astype(str))["segment"].astype(str)
    result["customer_segment"] = result["customer_id"].map(segment).fillna(UNKNOWN)
    activity = np.maximum(result["customer_id"].map(profile.customer_orders).fillna(0.0).to_numpy(dtype=float) - own, 0)
    result["new_customer"] = np.where(activity == 0, "yes", "no")
    result["customer_activity"] = np.log1p(activity)
    result["basket_size"] = result["basket_size"].astype(float)
    return result[NUMERICAL_FEATURES + CATEGORICAL_FEATURES].reset_index(drop=True)


def recommendation_features(
    recommendations: pd.DataFrame, products: pd.DataFrame, popularity: pd.Series
) -> pd.DataFrame:
    """One row per recommended item: its category and log1p(popularity) (orders in the training data)."""
    category = products.set_index(products["product_id"].astype(str))["category"].astype(str)
    product = recommendations["product_id"].astype(str)
    return pd.DataFrame(
        {
            "category": product.map(category).fillna(UNKNOWN).to_numpy(),
            "item_popularity": np.log1p(product.map(popularity).fillna(0.0).to_numpy(dtype=float)),
            "rank": recommendations["rank"].astype(float).to_numpy(),
        }
    )
