"""Temporal hold-out: the last days of interactions are the test set (random splits overstate quality)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass
class TemporalSplit:
    train: pd.DataFrame
    test: pd.DataFrame
    cutoff: pd.Timestamp
    test_days: int


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
    return TemporalSplit(
        train=interactions[before].reset_index(drop=True),
        test=interactions[~before].reset_index(drop=True),
        cutoff=cutoff,
        test_days=days,
    )


VALIDATION_STRATEGIES = ("global_time", "per_customer_recent")


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


def validation_split(train: pd.DataFrame, strategy: str, validation_days: int, fraction: float) -> ValidationSplit:
    """Carve the validation split with `strategy` (one of `VALIDATION_STRATEGIES`)."""
    if strategy == "global_time":
        return global_time_validation(train, validation_days)
    if strategy == "per_customer_recent":
        return per_customer_recent_validation(train, fraction)
    raise ValueError(f"validation strategy must be one of {VALIDATION_STRATEGIES}, got {strategy!r}")
