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
