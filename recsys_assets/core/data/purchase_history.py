"""One customer's purchase history as the review page shows it: top products and categories by number of orders."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .schema import CANCELLED_STATUS


@dataclass(frozen=True)
class PurchaseHistory:
    customer_id: str
    orders: int  # distinct orders with at least one purchased line
    lines: int
    first_order: str | None
    last_order: str | None
    top_products: list[dict]  # product_id, name, category, orders, quantity
    top_categories: list[dict]  # category, orders, products


def purchases(orders: pd.DataFrame) -> pd.DataFrame:
    """The purchase lines among `orders`: not cancelled, positive quantity, with a product id."""
    keep = (
        orders["order_status"].fillna("").ne(CANCELLED_STATUS)
        & orders["quantity"].gt(0)
        & orders["product_id"].notna()
        & orders["order_id"].notna()
    )
    return orders[keep]


def purchase_history(customer_id: str, orders: pd.DataFrame, products: pd.DataFrame, top: int = 10) -> PurchaseHistory:
    """Rank the customer's products and categories by the number of distinct orders that contain them.

    `orders` are the customer's order lines (source contract columns); cancelled lines and credits/returns are
    left out. `products` (product_id, name, category) names them; a product missing from it keeps a null name and
    the category "unknown". Ties are broken by quantity, then id, so the order is deterministic.
    """
    lines = purchases(orders)
    if lines.empty:
        return PurchaseHistory(customer_id, 0, 0, None, None, [], [])
    catalogue = products.set_index("product_id")[["name", "category"]] if len(products) else None
    per_product = (
        lines.groupby("product_id", observed=True)
        .agg(orders=("order_id", "nunique"), quantity=("quantity", "sum"))
        .reset_index()
    )
    if catalogue is not None:
        per_product = per_product.join(catalogue, on="product_id")
    else:
        per_product["name"], per_product["category"] = None, None
    per_product["category"] = per_product["category"].astype(object).where(per_product["category"].notna(), "unknown")
    top_products = per_product.sort_values(
        ["orders", "quantity", "product_id"], ascending=[False, False, True], kind="stable"
    ).head(top)
    with_category = lines[["order_id", "product_id"]].merge(per_product[["product_id", "category"]], on="product_id")
    per_category = (
        with_category.groupby("category")
        .agg(orders=("order_id", "nunique"), products=("product_id", "nunique"))
        .reset_index()
        .sort_values(["orders", "products", "category"], ascending=[False, False, True], kind="stable")
        .head(top)
    )
    timestamps = pd.to_datetime(lines["order_ts"])
    return PurchaseHistory(
        customer_id=customer_id,
        orders=int(lines["order_id"].nunique()),
        lines=len(lines),
        first_order=timestamps.min().isoformat(),
        last_order=timestamps.max().isoformat(),
        top_products=[
            {
                "product_id": str(row.product_id),
                "name": None if pd.isna(row.name) else str(row.name),
                "category": str(row.category),
                "orders": int(row.orders),
                "quantity": float(row.quantity),
            }
            for row in top_products.itertuples(index=False)
        ],
        top_categories=[
            {"category": str(row.category), "orders": int(row.orders), "products": int(row.products)}
            for row in per_category.itertuples(index=False)
        ],
    )
