"""Training/serving skew: who asks for recommendations and what is served, versus what the model learned from.

Reads serving-log entries (columns of `recsys_assets.core.stores.serving_log.LOG_COLUMNS`: ts, customer_id,
model_version, items, cold_start, target) and the reference purchase lines the live model was trained on.

- cold_start_share: share of requests for customers absent from the training data (the model cannot
  personalise them; the API serves the popularity fallback);
- inactive_item_share: share of served items that are no longer active (or not in the catalogue at all);
- customer_activity / customer_segment: the ordering activity and the segment of the customers who ask,
  against those of the orders trained on (Evidently drift tests, same thresholds as the data drift check).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import SkewThresholds
from .drift import DriftResult, FeatureDrift, run_drift_check
from .features import UNKNOWN, ReferenceProfile

NUMERICAL = ["customer_activity"]
CATEGORICAL = ["customer_segment"]


def requester_features(log: pd.DataFrame, customers: pd.DataFrame, profile: ReferenceProfile) -> pd.DataFrame:
    """One row per request: the asking customer's segment and log1p(orders in the training data)."""
    segment = customers.set_index(customers["customer_id"].astype(str))["segment"].astype(str)
    customer = log["customer_id"].astype(str)
    activity = customer.map(profile.customer_orders)
    return pd.DataFrame(
        {
            "customer_activity": np.log1p(activity.fillna(0.0).to_numpy(dtype=float)),
            "customer_segment": customer.map(segment).fillna(UNKNOWN).to_numpy(),
            "known": activity.notna().to_numpy(),
        }
    )


def served_items(log: pd.DataFrame) -> pd.Series:
    """Every served product id, one per (request, item)."""
    items = log["items"].explode().dropna()
    return items.astype(str)


def check_skew(
    log: pd.DataFrame,
    trained: pd.DataFrame,
    profile: ReferenceProfile,
    products: pd.DataFrame,
    customers: pd.DataFrame,
    thresholds: SkewThresholds | None = None,
) -> tuple[DriftResult, object]:
    """Skew of the serving log against the training data; returns (verdict, Evidently snapshot).

    `trained`: the order features of the training data (`features.order_features(..., leave_one_out=True)`),
    `profile` its `reference_profile`. The result's `drifted` is True when a share exceeds its limit or a test drifted.
    """
    thresholds = thresholds or SkewThresholds()
    if log.empty:
        raise ValueError("serving_skew: the serving log holds no request in the window checked")
    asking = requester_features(log, customers, profile)
    result, snapshot = run_drift_check("serving_skew", trained, asking, NUMERICAL, CATEGORICAL, thresholds.drift)
    cold_share = float((~asking["known"]).mean())
    items = served_items(log)
    active = products.set_index(products["product_id"].astype(str))["active"].astype(bool)
    inactive_share = float((~items.map(active).fillna(False).astype(bool)).mean()) if len(items) else 0.0
    shares = [
        FeatureDrift("cold_start_share", "share", "share", thresholds.max_cold_start_share, cold_share, False),
        FeatureDrift(
            "inactive_item_share", "share", "share", thresholds.max_inactive_item_share, inactive_share, False
        ),
    ]
    for share in shares:
        share.drifted = share.score > share.threshold
    result.features = shares + result.features
    if any(share.drifted for share in shares):
        result.verdict = "drift"
    result.drifted = result.verdict == "drift"
    result.extra.update(
        {
            "requests": len(log),
            "customers_asking": int(log["customer_id"].nunique()),
            "flagged_cold_start_share": float(log["cold_start"].astype(bool).mean()),
            "served_items": len(items),
            "model_versions": sorted(log["model_version"].astype(str).unique().tolist()),
        }
    )
    return result, snapshot
