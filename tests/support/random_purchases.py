"""Order data without personal structure: every customer buys from the same Zipf popularity, nothing else.

No segment, taste, re-order pool or basket companion: the best any model can do is the popularity ranking,
so model selection must choose (and publish) popularity on it.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from recsys_assets.core.data.generator import GeneratedData


def random_purchases(
    customers: int = 800,
    products: int = 400,
    days: int = 60,
    lines_per_day: int = 300,
    zipf: float = 1.1,
    seed: int = 11,
    end_date: dt.date = dt.date(2026, 6, 30),
) -> GeneratedData:
    """One-line orders: a uniformly random customer buys a product drawn from a global Zipf popularity."""
    rng = np.random.default_rng(seed)
    n_lines = days * lines_per_day
    weights = 1.0 / np.arange(1, products + 1) ** zipf
    product = rng.permutation(products)[rng.choice(products, size=n_lines, p=weights / weights.sum())]
    customer = rng.integers(0, customers, n_lines)
    start = pd.Timestamp(end_date) - pd.Timedelta(days=days - 1)
    order_ts = start + pd.to_timedelta(rng.integers(0, days * 86_400, n_lines), unit="s")
    orders = pd.DataFrame(
        {
            "order_id": pd.Series([f"O{i:08d}" for i in range(n_lines)], dtype="string"),
            "line_no": np.ones(n_lines, dtype=np.int64),
            "order_ts": order_ts.astype("datetime64[ns]"),
            "customer_id": pd.Series([f"C{c:06d}" for c in customer], dtype="string"),
            "product_id": pd.Series([f"P{p:06d}" for p in product], dtype="string"),
            "quantity": np.ones(n_lines, dtype=np.float64),
            "unit_price": np.full(n_lines, 9.5),
            "currency": pd.Series(["EUR"] * n_lines, dtype="string"),
            "order_status": pd.Series(["completed"] * n_lines, dtype="string"),
        }
    ).sort_values("order_ts", kind="stable", ignore_index=True)
    product_frame = pd.DataFrame(
        {
            "product_id": [f"P{p:06d}" for p in range(products)],
            "name": [f"Product {p}" for p in range(products)],
            "category": "tools",
            "brand": "Proline",
            "active": True,
        }
    )
    customer_frame = pd.DataFrame(
        {
            "customer_id": [f"C{c:06d}" for c in range(customers)],
            "name": [f"Customer {c}" for c in range(customers)],
            "segment": "retail",
            "region": "north",
        }
    )
    return GeneratedData(orders=orders, products=product_frame, customers=customer_frame)
