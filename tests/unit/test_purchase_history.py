"""A customer purchase history as the review page shows it."""

from __future__ import annotations

import pandas as pd

from recsys_assets.core.data.purchase_history import purchase_history


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
