"""What an order history looks like, and the settings the pipeline will choose for it (`recsys profile`).

The same rules the assets apply (window: `window.widen_for_sparse_customers`, hold-out: `split.plan_holdout`,
cleaning: `cleaning.clean_orders`), run on the source tables, so a user sees the choice and its reason before
the first run.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .cleaning import CleaningRules, clean_orders
from .split import plan_holdout
from .window import widen_for_sparse_customers

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass
class OrderProfile:
    facts: list[tuple[str, str]]  # what the data looks like
    settings: list[tuple[str, str, str]]  # setting, value, why

    def lines(self) -> list[str]:
        width = max(len(name) for name, _ in self.facts)
        out = ["the data"] + [f"    {name:<{width}}  {value}" for name, value in self.facts]
        out += ["the settings the pipeline will use"]
        out += [f"    {name}: {value}\n        because {why}" for name, value, why in self.settings]
        return out


def profile_orders(
    orders: pd.DataFrame, products: pd.DataFrame, customers: pd.DataFrame, now: pd.Timestamp | None = None
) -> OrderProfile:
    """Facts about `orders` (the source's order lines) and the settings the default rules derive from them."""
    now = now if now is not None else pd.Timestamp.now(tz="UTC").tz_localize(None)
    if orders.empty:
        raise ValueError("the orders table is empty: import orders first (recsys import-orders)")
    future = orders[orders["order_ts"] > now]
    past = orders[orders["order_ts"] <= now]
    days = past["order_ts"].dt.normalize()
    first, last = days.min(), days.max()
    span = (last - first).days + 1
    trading = days.nunique()
    weekday_share = days.drop_duplicates().dt.dayofweek.value_counts().reindex(range(7), fill_value=0) / max(
        1, span / 7
    )
    closed = [WEEKDAYS[d] for d in range(7) if weekday_share[d] < 0.5]
    per_customer = past.groupby("customer_id", observed=True)["order_id"].nunique()
    pairs = past.groupby(["customer_id", "product_id"], observed=True)["order_id"].nunique()
    n_customers, n_products = per_customer.size, past["product_id"].nunique()
    credit = int((past["quantity"] < 0).sum())
    facts = [
        ("span", f"{first.date()} to {last.date()} ({span} days, {span / 365.25:.1f} years)"),
        ("trading days", f"{trading} ({trading / span:.0%} of the days)"),
        ("closed weekdays", ", ".join(closed) or "none"),
        ("order lines", f"{len(past)} ({credit} credit-note lines), {len(future)} dated in the future"),
        ("customers", f"{n_customers} ordering, {len(customers)} in the master data"),
        ("products", f"{n_products} ordered, {len(products)} in the catalogue"),
        (
            "orders per customer",
            f"median {per_customer.median():g}, mean {per_customer.mean():.1f}; "
            f"{(per_customer == 1).mean():.0%} ordered once, {(per_customer <= 3).mean():.0%} at most 3 times",
        ),
        ("repeat purchases", f"{(pairs >= 2).mean():.0%} of customer x product pairs were bought in 2+ orders"),
        ("sparsity", f"{1 - len(pairs) / max(1, n_customers * n_products):.4%} of customer x product cells empty"),
    ]
    by_day = {key: frame for key, frame in past.groupby(days.dt.strftime("%Y-%m-%d"))}
    window_days, window_rule = widen_for_sparse_customers(by_day, last)
    in_window = past[days > last - pd.Timedelta(days=window_days)]
    interactions = clean_orders(in_window, products, customers, CleaningRules(as_of=now)).interactions
    settings = [("interactions window", f"{window_days} days", window_rule)]
    if interactions.empty:
        settings.append(("hold-out", "none", "cleaning drops every line of the window: check the master data"))
    else:
        plan = plan_holdout(interactions)
        value = f"the last {plan.days} days" if plan.strategy == "global_time" else f"{plan.fraction:.0%} per customer"
        settings.append(("hold-out", f"{plan.strategy} ({value})", plan.reason))
    return OrderProfile(facts, settings)
