"""Order volume against the weekday rhythm: closed days are fine, silent or odd trading days are reported."""

import datetime as dt

import pandas as pd

from recsys_assets.core.data.volume import VolumeRule, daily_counts, judge_volume

START = dt.date(2026, 1, 5)  # a Monday


def counts(weekday_lines: int, weeks: int = 12, overrides: dict | None = None) -> pd.Series:
    """A shop closed at weekends with `weekday_lines` lines on every weekday."""
    days = pd.date_range(START, periods=weeks * 7, freq="D")
    values = [weekday_lines if day.dayofweek < 5 else 0 for day in days]
    series = pd.Series(values, index=days)
    for day, lines in (overrides or {}).items():
        series[pd.Timestamp(day)] = lines
    return series


def run(series: pd.Series, days: list[dt.date], rule: VolumeRule = VolumeRule()):
    return judge_volume(series, days, rule)


def test_weekends_are_closed_days_and_a_silent_weekday_is_reported():
    last_week = [START + dt.timedelta(days=7 * 11 + i) for i in range(7)]
    quiet = run(counts(40), last_week)
    assert quiet.findings == [] and quiet.trading_days == 5 and quiet.closed_days == 2
    silent = run(counts(40, overrides={last_week[2]: 0}), last_week)
    [finding] = silent.findings
    assert finding.kind == "no_orders" and finding.day == last_week[2] and finding.expected == 40
    assert "no order line" in finding.message()


def test_a_quiet_day_in_a_small_shop_is_not_an_incident():
    last_week = [START + dt.timedelta(days=7 * 11 + i) for i in range(5)]
    assert run(counts(3, overrides={last_week[0]: 0}), last_week).findings == []  # P(0 | 3) = 5 %
    busy = run(counts(40, overrides={last_week[1]: 400}), last_week).findings
    assert [f.kind for f in busy] == ["high"]


def test_holidays_are_skipped_and_closures_grouped():
    weeks = [START + dt.timedelta(days=7 * 10 + i) for i in range(14)]
    closed = {day: 0 for day in weeks if day.weekday() < 5}
    report = run(counts(40, overrides=closed), weeks)
    [closure] = report.findings
    assert closure.kind == "closed_span" and closure.days == 10 and "a closure?" in closure.message()
    listed = VolumeRule(holidays=frozenset(closed))
    assert run(counts(40, overrides=closed), weeks, listed).findings == []


def test_daily_counts_include_empty_days():
    stamps = pd.Series(pd.to_datetime(["2026-01-05 08:00", "2026-01-05 09:00", "2026-01-07 10:00"]))
    assert daily_counts(stamps, dt.date(2026, 1, 5), dt.date(2026, 1, 8)).tolist() == [2, 0, 1, 0]
