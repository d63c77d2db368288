"""Order dates no history has: placeholders and dates far before the bulk, and none in a real history's spread."""

import pandas as pd

from recsys_assets.core.data.implausible_dates import implausible_dates


def test_a_long_sparse_history_has_no_implausible_date():
    days = pd.Series(pd.date_range("2019-01-01", "2026-11-30", freq="3D"))  # 8 years, every third day
    bad, bulk_start = implausible_dates(days)
    assert not bad.any() and bulk_start.year == 2020


def test_placeholders_and_dates_far_before_the_bulk_are_flagged():
    odd = ["1970-01-01", "1899-12-30", "2024-06-30", "2025-06-30"]  # a year before the bulk's quartile is kept
    days = pd.Series([*pd.date_range("2026-01-01", periods=90), *map(pd.Timestamp, odd), pd.NaT])
    bad, _ = implausible_dates(days)
    assert days[bad].tolist() == [pd.Timestamp("1970-01-01"), pd.Timestamp("1899-12-30"), pd.Timestamp("2024-06-30")]


def test_only_placeholders_leave_no_bulk():
    bad, bulk_start = implausible_dates(pd.Series([pd.Timestamp("1900-01-01")]))
    assert bad.tolist() == [True] and bulk_start is None
