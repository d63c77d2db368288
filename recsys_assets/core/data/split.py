"""Hold-outs that respect time: the global time cut (the last days test) or each customer's most recent orders.

Random splits overstate quality. Which cut fits depends on the data: a shop whose customers order every week
has plenty of customers in the last 14 days; a B2B history with three orders per customer a year has a
handful, and their figures are noise. `plan_holdout` picks the cut from the data (see its docstring); the
same rule carves the validation split that model selection uses from the training part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

HOLDOUT_STRATEGIES = ("auto", "global_time", "per_customer_recent")
# the global cut is widened through these windows (capped at 20 % of the history) before giving up on it
AUTO_WINDOWS_DAYS = (14, 28, 56, 91, 182)
# a global window must leave this many evaluable customers (a bootstrap interval over fewer is wide)
MIN_EVALUABLE_CUSTOMERS = 500
# below this many evaluated customers the figures are flagged as noise
NOISE_BELOW_CUSTOMERS = 100


@dataclass
class TemporalSplit:
    """Training part and hold-out. `cutoff` is the earliest held-out order (the whole test window for the global
    cut), so a model trained before it never saw a held-out order; `test_days` is 0 for the per-customer cut."""

    train: pd.DataFrame
    test: pd.DataFrame
    cutoff: pd.Timestamp
    test_days: int
    strategy: str = "global_time"
    description: str = ""
    evaluable_customers: int = 0  # customers with training history who buy a new product in the hold-out


def effective_test_days(span_days: int, requested: int, max_share: float = 0.2) -> int:
    """The test window: `requested` days, but never more than `max_share` of the history (at least 1 day).

    A short history (say 30 days) would otherwise be left with almost nothing to train on.
    """
    return max(1, min(requested, int(span_days * max_share)))


def temporal_split(interactions: pd.DataFrame, test_days: int, max_share: float = 0.2) -> TemporalSplit:
    """Split at midnight `test_days` (see `effective_test_days`) before the day after the last interaction.

    Everything before the cutoff is train, everything from it on is test.
    """
    if interactions.empty:
        raise ValueError("cannot split an empty interactions table: no cleaned order lines in the window")
    first = interactions["order_ts"].min().normalize()
    end = interactions["order_ts"].max().normalize() + pd.Timedelta(days=1)
    days = effective_test_days((end - first).days, test_days, max_share)
    cutoff = end - pd.Timedelta(days=days)
    before = (interactions["order_ts"] < cutoff).to_numpy()
    train, test = interactions[before].reset_index(drop=True), interactions[~before].reset_index(drop=True)
    return TemporalSplit(
        train=train,
        test=test,
        cutoff=cutoff,
        test_days=days,
        strategy="global_time",
        description=f"orders from {cutoff.date()} on ({days} days) are held out",
        evaluable_customers=evaluable_customers(train, test),
    )


def evaluable_customers(train: pd.DataFrame, held_out: pd.DataFrame) -> int:
    """Customers a model can be scored on: they have training history and buy, in the hold-out, a product
    they did not buy in training (what the lists can still recommend)."""
    if train.empty or held_out.empty:
        return 0
    # integer codes shared by both parts (Arrow strings factorize in C++), then one int64 key per pair, looked up
    # in the sorted training keys (np.isin took 0.6 s on 900 k keys with numpy 2.4, searchsorted 0.015 s)
    split = len(train)
    customers, _ = pd.factorize(pd.concat([train["customer_id"], held_out["customer_id"]], ignore_index=True))
    products, product_ids = pd.factorize(pd.concat([train["product_id"], held_out["product_id"]], ignore_index=True))
    train_pairs = customers[:split].astype(np.int64) * len(product_ids) + products[:split]
    held_customers = customers[split:]
    held_pairs = held_customers.astype(np.int64) * len(product_ids) + products[split:]
    has_history = np.zeros(customers.max() + 2, dtype=bool)
    has_history[customers[:split]] = True
    has_history[-1] = False  # code -1: a missing id
    train_pairs.sort()
    slot = np.minimum(np.searchsorted(train_pairs, held_pairs), len(train_pairs) - 1)
    new = has_history[held_customers] & (train_pairs[slot] != held_pairs)
    return int(np.count_nonzero(np.bincount(held_customers[new], minlength=1)))


def per_customer_recent_split(interactions: pd.DataFrame, fraction: float) -> TemporalSplit:
    """Each customer's most recent `fraction` of orders are held out (see `per_customer_recent_validation`).

    Customers with one order stay in training. `cutoff` is the earliest held-out order.
    """
    inner = per_customer_recent_validation(interactions, fraction)
    cutoff = inner.validation["order_ts"].min() if len(inner.validation) else interactions["order_ts"].max()
    return TemporalSplit(
        train=inner.train,
        test=inner.validation,
        cutoff=pd.Timestamp(cutoff),
        test_days=0,
        strategy="per_customer_recent",
        description=f"each customer's most recent {fraction:.0%} of orders are held out (customers with 2+ orders)",
        evaluable_customers=evaluable_customers(inner.train, inner.validation),
    )


@dataclass(frozen=True)
class HoldoutPlan:
    """How to cut a hold-out: the strategy, its window or fraction, and why (for metadata and `recsys profile`)."""

    strategy: str
    days: int
    fraction: float
    reason: str


def plan_holdout(
    interactions: pd.DataFrame,
    strategy: str = "auto",
    days: int | None = None,
    fraction: float = 0.2,
    min_evaluable: int = MIN_EVALUABLE_CUSTOMERS,
    max_share: float = 0.2,
) -> HoldoutPlan:
    """The hold-out to use on `interactions`.

    `strategy` "global_time" or "per_customer_recent" is taken as given (`days` defaults to 14). "auto" (the
    default) prefers the global time cut, the view a daily retrain has: the shortest window of
    `AUTO_WINDOWS_DAYS` (or `days` if given), at most `max_share` of the history, that leaves at least
    `min_evaluable` evaluable customers. When no window does (sparse data: customers order a few times a year),
    each customer's most recent `fraction` of orders is held out instead, which gives every repeat customer a
    say. The counts behind the choice are in `reason`.
    """
    if strategy not in HOLDOUT_STRATEGIES:
        raise ValueError(f"hold-out strategy must be one of {HOLDOUT_STRATEGIES}, got {strategy!r}")
    if strategy == "global_time":
        return HoldoutPlan("global_time", days or 14, fraction, "global_time chosen in the settings")
    if strategy == "per_customer_recent":
        return HoldoutPlan("per_customer_recent", 0, fraction, "per_customer_recent chosen in the settings")
    if interactions.empty:
        raise ValueError("cannot plan a hold-out on an empty interactions table")
    span = (interactions["order_ts"].max().normalize() - interactions["order_ts"].min().normalize()).days + 1
    windows = (days,) if days else AUTO_WINDOWS_DAYS
    tried = []
    for window in windows:
        effective = effective_test_days(span, window, max_share)
        if tried and effective == tried[-1][0]:
            break  # capped by the history: longer windows give the same cut
        count = temporal_split(interactions, window, max_share).evaluable_customers
        tried.append((effective, count))
        if count >= min_evaluable:
            return HoldoutPlan(
                "global_time",
                effective,
                fraction,
                f"the last {effective} days hold {count} evaluable customers (at least {min_evaluable} wanted)",
            )
    per_customer = per_customer_recent_split(interactions, fraction).evaluable_customers
    counts = ", ".join(f"{d} days: {c}" for d, c in tried)
    return HoldoutPlan(
        "per_customer_recent",
        0,
        fraction,
        f"too few evaluable customers in a global time window ({counts}; at least {min_evaluable} wanted): "
        f"each customer's most recent {fraction:.0%} of orders are held out instead ({per_customer} evaluable)",
    )


def holdout_split(interactions: pd.DataFrame, plan: HoldoutPlan, max_share: float = 0.2) -> TemporalSplit:
    """Cut `interactions` as `plan` says."""
    if plan.strategy == "per_customer_recent":
        split = per_customer_recent_split(interactions, plan.fraction)
    else:
        split = temporal_split(interactions, plan.days, max_share)
    split.description = f"{split.description} — {plan.reason}"
    return split


VALIDATION_STRATEGIES = ("auto", "global_time", "per_customer_recent")


@dataclass
class ValidationSplit:
    """The training part of the hold-out split, cut once more to compare model candidates.

    Candidates are fitted on `train` and scored on `validation`; the test hold-out is never looked at.
    """

    train: pd.DataFrame
    validation: pd.DataFrame
    strategy: str
    description: str


def global_time_validation(train: pd.DataFrame, validation_days: int, max_share: float = 0.2) -> ValidationSplit:
    """The last `validation_days` of the training data (at most `max_share` of it) validate: a daily retrain's view.

    The same cut as the test hold-out (`temporal_split`), applied to the training part only.
    """
    if train.empty:
        raise ValueError("cannot carve a validation split from an empty training set")
    inner = temporal_split(train, validation_days, max_share)
    return ValidationSplit(
        train=inner.train,
        validation=inner.test,
        strategy="global_time",
        description=f"orders from {inner.cutoff} on ({inner.test_days} days) validate",
    )


def per_customer_recent_validation(train: pd.DataFrame, fraction: float) -> ValidationSplit:
    """Each customer's most recent `fraction` of distinct orders validate (customers with 2+ orders only).

    Every customer with at least two orders keeps at least one order for training and gives at least one to
    validation; the number validated is round(fraction x orders), clipped to [1, orders - 1]. Order lines of
    one order stay together.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation fraction must be in (0, 1), got {fraction}")
    if train.empty:
        raise ValueError("cannot carve a validation split from an empty training set")
    orders = (
        train.groupby(["customer_id", "order_id"], sort=False, observed=True)["order_ts"]
        .max()
        .reset_index()
        .sort_values(["customer_id", "order_ts", "order_id"], kind="stable")
    )
    per_customer = orders.groupby("customer_id", sort=False, observed=True)["order_id"].transform("size")
    # rank from the newest order: 0 is the customer's last order
    from_newest = per_customer - 1 - orders.groupby("customer_id", sort=False, observed=True).cumcount()
    n_validate = (per_customer * fraction).round().clip(lower=1)
    n_validate = n_validate.where(per_customer >= 2, 0).clip(upper=(per_customer - 1).clip(lower=0))
    validate_orders = orders.loc[from_newest < n_validate, ["customer_id", "order_id"]]
    key = pd.MultiIndex.from_frame(train[["customer_id", "order_id"]])
    in_validation = key.isin(pd.MultiIndex.from_frame(validate_orders))
    return ValidationSplit(
        train=train[~in_validation].reset_index(drop=True),
        validation=train[in_validation].reset_index(drop=True),
        strategy="per_customer_recent",
        description=f"each customer's most recent {fraction:.0%} of orders validate",
    )


def validation_split(
    train: pd.DataFrame,
    strategy: str,
    validation_days: int,
    fraction: float,
    min_evaluable: int = MIN_EVALUABLE_CUSTOMERS,
) -> ValidationSplit:
    """Carve the validation split with `strategy` (one of `VALIDATION_STRATEGIES`; "auto": `plan_holdout`)."""
    if strategy == "auto":
        plan = plan_holdout(train, "auto", None, fraction, min_evaluable)
        split = validation_split(train, plan.strategy, plan.days, fraction)
        split.description = f"{split.description} (auto: {plan.reason})"
        return split
    if strategy == "global_time":
        return global_time_validation(train, validation_days)
    if strategy == "per_customer_recent":
        return per_customer_recent_validation(train, fraction)
    raise ValueError(f"validation strategy must be one of {VALIDATION_STRATEGIES}, got {strategy!r}")
