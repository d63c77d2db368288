"""Plausible business-rule data for generated shops (`recsys generate --realistic`): stock-outs, contract
assortments, a few blocks and one campaign. Kept apart from the order synthesis: it only reads the generated
master data and two order aggregates."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

STOCK_OUT_SHARE = 0.03  # of the products, on any day
SLOW_MOVER_STOCK_OUT_SHARE = 0.12  # of the slowest quarter: less stock is kept of what sells rarely
CONTRACT_SEGMENTS = 2  # segments buying under a framework contract
CONTRACT_CATEGORY_SHARE = 0.6  # of the categories a contract segment buys, the most bought ones are allowed
BLOCKED_CUSTOMERS = 5
CAMPAIGN_PRODUCTS = 3
CAMPAIGN_SHARE = 0.2


def generate_rule_tables(
    products: pd.DataFrame,
    customers: pd.DataFrame,
    lines_per_product: pd.Series,
    lines_per_segment_category: pd.DataFrame,
    as_of: dt.date,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """The four rule tables (stock, assortments, blocked_products, campaigns) for a shop on day `as_of`.

    `lines_per_product`: order lines per product id; `lines_per_segment_category`: rows segment, category, lines.
    - stock: every product, a few percent out of stock, more among the slow movers (the least-ordered quarter);
    - assortments: the two segments with the fewest customers buy under a contract allowing the categories they
      order most (60 % of those they order);
    - blocked_products: five customers each blocked from one of the 50 best-selling products (a credit or brand
      hold), and one product blocked for a whole segment;
    - campaigns: one campaign pinning three well-selling products of one category in 20 % of the slots, from a week
      before `as_of` to two weeks after.
    """
    rng = np.random.default_rng(seed + 7919)
    ids = products["product_id"].astype(str).to_numpy()
    lines = lines_per_product.reindex(ids).fillna(0).to_numpy()
    slow = lines <= np.quantile(lines, 0.25) if len(lines) else np.zeros(0, bool)
    out = rng.random(len(ids)) < np.where(slow, SLOW_MOVER_STOCK_OUT_SHARE, STOCK_OUT_SHARE)
    stock = pd.DataFrame({"product_id": ids, "available": np.where(out, 0, rng.integers(1, 400, len(ids)))})

    segments = customers["segment"].astype(str).value_counts(ascending=True).index[:CONTRACT_SEGMENTS]
    assortment_rows = []
    for segment in segments:
        bought = lines_per_segment_category[lines_per_segment_category["segment"] == segment]
        ranked = bought.sort_values("lines", ascending=False)["category"].astype(str).tolist()
        for category in ranked[: max(1, int(round(len(ranked) * CONTRACT_CATEGORY_SHARE)))]:
            assortment_rows.append({"segment": segment, "category": category})
    assortments = pd.DataFrame(assortment_rows, columns=["customer_id", "segment", "category", "product_id"])

    active = products[products["active"].astype(bool)]
    popular = active.assign(lines=lines_per_product.reindex(active["product_id"].astype(str)).fillna(0).to_numpy())
    popular = popular.sort_values("lines", ascending=False)
    top = min(50, len(popular))
    chosen = rng.choice(len(customers), size=min(BLOCKED_CUSTOMERS, len(customers)), replace=False)
    blocked = pd.DataFrame(
        {
            "customer_id": customers["customer_id"].astype(str).to_numpy()[chosen],
            "segment": None,
            "product_id": popular["product_id"].astype(str).to_numpy()[rng.integers(0, top, len(chosen))],
            "reason": "credit hold on the brand",
        }
    )
    largest_segment = customers["segment"].astype(str).value_counts().index[0]
    segment_block = {"customer_id": None, "segment": largest_segment, "product_id": popular["product_id"].iloc[1],
                     "reason": "not certified for this trade"}  # fmt: skip
    blocked = pd.concat([blocked, pd.DataFrame([segment_block])], ignore_index=True)

    category = popular["category"].iloc[0]
    featured = popular.loc[popular["category"] == category, "product_id"].astype(str).iloc[5 : 5 + CAMPAIGN_PRODUCTS]
    start, end = pd.Timestamp(as_of) - pd.Timedelta(days=7), pd.Timestamp(as_of) + pd.Timedelta(days=14)
    campaigns = pd.DataFrame(
        {"campaign_id": f"spring-{category}", "product_id": featured.to_numpy(), "segment": None,
         "start_date": start, "end_date": end, "share": CAMPAIGN_SHARE}
    )  # fmt: skip
    return {"stock": stock, "assortments": assortments, "blocked_products": blocked, "campaigns": campaigns}
