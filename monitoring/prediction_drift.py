"""Prediction drift between two published versions of the recommendation lists.

Compares what is recommended (one row per recommended item: its category and its popularity in the training
data) in the previous and the new version, and how much of each customer's list was kept.
"""

from __future__ import annotations

import pandas as pd

from .config import DriftThresholds
from .drift import DriftResult, run_drift_check
from .features import recommendation_features

NUMERICAL = ["item_popularity"]
CATEGORICAL = ["category"]


def list_overlap(previous: pd.DataFrame, new: pd.DataFrame) -> float:
    """Mean share of a customer's new list that was already in their previous list (customers in both)."""
    old = previous[["customer_id", "product_id"]].astype(str).drop_duplicates()
    cur = new[["customer_id", "product_id"]].astype(str).drop_duplicates()
    common = set(old["customer_id"]) & set(cur["customer_id"])
    if not common:
        return 0.0
    cur = cur[cur["customer_id"].isin(common)]
    kept = cur.merge(old, on=["customer_id", "product_id"], how="left", indicator=True)
    kept["kept"] = kept["_merge"].eq("both")
    return float(kept.groupby("customer_id")["kept"].mean().mean())


def check_prediction_drift(
    previous: pd.DataFrame,
    new: pd.DataFrame,
    products: pd.DataFrame,
    popularity: pd.Series,
    thresholds: DriftThresholds | None = None,
) -> tuple[DriftResult, object]:
    """Drift of the recommended categories and item popularity from `previous` to `new` lists.

    `previous`, `new`: recommendations (customer_id, rank, product_id, ...); `popularity`: lines per product in
    the training data (product_id index). Returns the verdict and the Evidently snapshot.
    """
    result, snapshot = run_drift_check(
        "prediction_drift",
        recommendation_features(previous, products, popularity),
        recommendation_features(new, products, popularity),
        NUMERICAL,
        CATEGORICAL,
        thresholds,
    )
    result.extra["list_overlap"] = list_overlap(previous, new)
    return result, snapshot
