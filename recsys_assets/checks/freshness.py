"""Freshness of the published recommendations: older than a configured age is a failed check.

`RECSYS_FRESHNESS_MAX_AGE_HOURS` (default 26: a daily publication plus two hours of slack) sets the age. The
check runs after every materialization of `published_recommendations` in the UI and on demand; the sensor in
`sensors/freshness.py` re-evaluates it whenever it could have become overdue.
"""

import datetime as dt
import os
import warnings

from dagster import AssetKey, build_last_update_freshness_checks

PUBLISHED = AssetKey("published_recommendations")
DEFAULT_MAX_AGE_HOURS = 26.0


def max_age() -> dt.timedelta:
    text = os.environ.get("RECSYS_FRESHNESS_MAX_AGE_HOURS", "").strip() or str(DEFAULT_MAX_AGE_HOURS)
    try:
        hours = float(text)
    except ValueError as error:
        raise ValueError(f"RECSYS_FRESHNESS_MAX_AGE_HOURS must be a number of hours, got {text!r}") from error
    if hours <= 0:
        raise ValueError(f"RECSYS_FRESHNESS_MAX_AGE_HOURS must be positive, got {hours}")
    return dt.timedelta(hours=hours)


def build_freshness_checks(age: dt.timedelta | None = None):
    """The freshness check on `published_recommendations`: fails when its last update is older than `age`."""
    # superseded by FreshnessPolicy on the asset, which the asset owner would have to attach; this check is
    # explicit, visible on the asset's Checks tab and testable without the daemon
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_last_update_freshness_checks(assets=[PUBLISHED], lower_bound_delta=age or max_age())


freshness_checks = build_freshness_checks()
