"""How much order history to train on: a year, or three when customers order too rarely for a year to say much."""

from __future__ import annotations

import pandas as pd

WINDOW_DAYS = 365
SPARSE_WINDOW_DAYS = 3 * 365
# fewer distinct orders per repeat-capable customer than this in a year: widen the window
MIN_MEDIAN_ORDERS_PER_YEAR = 2


def widen_for_sparse_customers(frames: dict[str, pd.DataFrame], last_day: pd.Timestamp) -> tuple[int, str]:
    """The window (days) and why: `WINDOW_DAYS` when the median customer of the last year placed at least
    `MIN_MEDIAN_ORDERS_PER_YEAR` distinct orders in it, else `SPARSE_WINDOW_DAYS` (sparse histories need the
    longer memory; what the customer bought years ago still tells what they buy)."""
    start = last_day - pd.Timedelta(days=WINDOW_DAYS - 1)
    # (customer, order) pairs of each day, not every column of every line: a copy of the year would cost GBs
    year = [
        frame[["customer_id", "order_id"]].drop_duplicates()
        for key, frame in frames.items()
        if pd.Timestamp(key) >= start
    ]
    orders = pd.concat(year, ignore_index=True) if year else pd.DataFrame(columns=["customer_id", "order_id"])
    per_customer = orders.groupby("customer_id", observed=True)["order_id"].nunique()
    median = float(per_customer.median()) if len(per_customer) else 0.0
    if median >= MIN_MEDIAN_ORDERS_PER_YEAR:
        return WINDOW_DAYS, f"default: the median customer placed {median:g} orders in the last year"
    return SPARSE_WINDOW_DAYS, (
        f"widened: the median customer placed {median:g} order(s) in the last year "
        f"(fewer than {MIN_MEDIAN_ORDERS_PER_YEAR})"
    )
