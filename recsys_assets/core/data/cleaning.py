"""Cleaning rules that turn raw order lines into customer x product interactions (DESIGN §4).

Each rule is a plain function `frame -> (kept frame, number of dropped lines)`; `clean_orders` applies them in
order and reports every dropped line under the name of the rule that dropped it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .schema import CANCELLED_STATUS, TEXT_DTYPE

INTERACTION_COLUMNS = ["customer_id", "product_id", "order_id", "order_ts", "quantity"]


@dataclass(frozen=True)
class CleaningRules:
    """Settings of the cleaning rules.

    Parameters
    ----------
    max_quantity : float
        A line ordering more than this many units is a data-entry error (e.g. an article number typed into
        the quantity field) and is dropped.
    as_of : pandas.Timestamp or None
        Lines stamped after this moment are dropped as clock errors; None means now (UTC).
    """

    max_quantity: float = 10_000.0
    as_of: pd.Timestamp | None = None


@dataclass
class CleaningResult:
    interactions: pd.DataFrame
    dropped: dict[str, int] = field(default_factory=dict)
    input_rows: int = 0

    @property
    def dropped_total(self) -> int:
        return int(sum(self.dropped.values()))


def drop_cancelled(orders: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Drop lines of cancelled orders (status compared case-insensitively, surrounding blanks ignored)."""
    cancelled = orders["order_status"].astype(TEXT_DTYPE).str.strip().str.lower().eq(CANCELLED_STATUS)
    cancelled = cancelled.fillna(False).to_numpy(dtype=bool)
    return orders[~cancelled], int(cancelled.sum())


def drop_exact_duplicates(orders: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Drop lines that repeat an earlier line in every column (double-loaded exports)."""
    duplicated = orders.duplicated(keep="first").to_numpy()
    return orders[~duplicated], int(duplicated.sum())


def drop_missing_ids(orders: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Drop lines without a customer, product or order id, or without a timestamp or quantity."""
    required = ["customer_id", "product_id", "order_id", "order_ts", "quantity"]
    missing = orders[required].isna().any(axis=1).to_numpy(dtype=bool)
    for column in ("customer_id", "product_id", "order_id"):
        missing |= orders[column].astype(TEXT_DTYPE).str.strip().eq("").fillna(False).to_numpy(dtype=bool)
    return orders[~missing], int(missing.sum())


def drop_unknown(orders: pd.DataFrame, column: str, known_ids: pd.Series) -> tuple[pd.DataFrame, int]:
    """Drop lines whose `column` id is not in the master data `known_ids`."""
    unknown = ~orders[column].isin(known_ids.dropna().astype(TEXT_DTYPE)).fillna(False).to_numpy(dtype=bool)
    return orders[~unknown], int(unknown.sum())


def drop_absurd_quantities(orders: pd.DataFrame, max_quantity: float) -> tuple[pd.DataFrame, int]:
    """Drop lines whose absolute quantity exceeds `max_quantity`, is zero, or is not a finite number."""
    quantity = orders["quantity"].to_numpy(dtype=float)
    absurd = ~np.isfinite(quantity) | (np.abs(quantity) > max_quantity) | (quantity == 0)
    return orders[~absurd], int(absurd.sum())


def drop_future(orders: pd.DataFrame, as_of: pd.Timestamp) -> tuple[pd.DataFrame, int]:
    """Drop lines stamped after `as_of` (a wrong clock at the source)."""
    future = (orders["order_ts"] > as_of).to_numpy(dtype=bool)
    return orders[~future], int(future.sum())


def net_returns(orders: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Net credit lines (negative quantities) against purchases of the same customer x product.

    A pair whose returns cancel all purchases (net quantity <= 0) is dropped entirely: the customer did not
    want the product. Of the other pairs the purchase lines are kept and the credit lines dropped.
    Returns the kept purchase lines and the number of lines dropped (credit lines plus fully returned pairs).
    """
    net = orders.groupby(["customer_id", "product_id"], observed=True, sort=False)["quantity"].transform("sum")
    keep = ((net > 0) & (orders["quantity"] > 0)).to_numpy(dtype=bool)
    return orders[keep], int((~keep).sum())


def to_interactions(orders: pd.DataFrame) -> pd.DataFrame:
    """Collapse purchase lines to one row per customer x product x order (quantities summed)."""
    grouped = orders.groupby(["customer_id", "product_id", "order_id"], observed=True, sort=False)
    frame = grouped.agg(order_ts=("order_ts", "min"), quantity=("quantity", "sum")).reset_index()
    return frame[INTERACTION_COLUMNS].sort_values("order_ts", kind="stable").reset_index(drop=True)


def clean_orders(
    orders: pd.DataFrame, products: pd.DataFrame, customers: pd.DataFrame, rules: CleaningRules
) -> CleaningResult:
    """Apply every cleaning rule in order; count the lines each one drops."""
    as_of = rules.as_of if rules.as_of is not None else pd.Timestamp.now(tz="UTC").tz_localize(None)
    steps = [
        ("cancelled", drop_cancelled),
        ("duplicate_line", drop_exact_duplicates),
        ("missing_value", drop_missing_ids),
        ("unknown_customer", lambda f: drop_unknown(f, "customer_id", customers["customer_id"])),
        ("unknown_product", lambda f: drop_unknown(f, "product_id", products["product_id"])),
        ("absurd_quantity", lambda f: drop_absurd_quantities(f, rules.max_quantity)),
        ("future_timestamp", lambda f: drop_future(f, as_of)),
        ("returned_or_credit", net_returns),
    ]
    frame = orders
    dropped: dict[str, int] = {}
    for name, rule in steps:
        frame, count = rule(frame)
        dropped[name] = count
    return CleaningResult(interactions=to_interactions(frame), dropped=dropped, input_rows=len(orders))
