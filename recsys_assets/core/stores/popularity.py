"""The popularity list a version serves to customers it does not hold (and to the control group).

Computed once per version from the version's "for you" lists, so a reader never needs the whole version for it:
the local store writes it next to the version on publish (table `popular`), and a reader of any other store
computes it from one full read per new version.

The rule: the list the model gave its cold-start customers (`source == "popularity_fallback"`, present whenever
the master data has customers without history), or, when the version has none, the products that appear in most
lists (score: the share of lists holding the product; ties broken by mean score, then product id).
"""

from __future__ import annotations

import pandas as pd

POPULARITY_SOURCE = "popularity_fallback"
POPULAR_K = 100  # items kept: more than any request asks for (the API caps k below this)
POPULAR_COLUMNS = ["rank", "product_id", "score", "source", "reason", "because"]


def popularity_frame(frame: pd.DataFrame, k: int = POPULAR_K) -> pd.DataFrame:
    """The popularity list of the lists in `frame` (RECOMMENDATION_COLUMNS, explanations optional) as
    POPULAR_COLUMNS, by rank; empty for an empty frame."""
    if frame.empty:
        return pd.DataFrame(columns=POPULAR_COLUMNS)
    cold = frame[frame["source"] == POPULARITY_SOURCE]
    if not cold.empty:
        first = cold["customer_id"].iloc[0]
        rows = cold[cold["customer_id"] == first].sort_values("rank", kind="stable").head(k)
        return rows.reindex(columns=POPULAR_COLUMNS).reset_index(drop=True)
    counts = (
        frame.groupby("product_id", observed=True)
        .agg(lists=("customer_id", "nunique"), mean_score=("score", "mean"))
        .reset_index()
        .sort_values(["lists", "mean_score", "product_id"], ascending=[False, False, True], kind="stable")
        .head(k)
    )
    return pd.DataFrame(
        {
            "rank": range(1, len(counts) + 1),
            "product_id": counts["product_id"].to_numpy(),
            "score": (counts["lists"] / frame["customer_id"].nunique()).astype(float).to_numpy(),
            "source": POPULARITY_SOURCE,
            "reason": "popular_overall",
            "because": None,
        },
        columns=POPULAR_COLUMNS,
    )
