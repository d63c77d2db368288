"""Order volume against what chance allows for each weekday: quiet days of a small shop and closed days are normal,
a lost day, a half-loaded day where the shop is busy enough to tell, and a stopped export are findings.

Two kinds of series: hand-made ones (a known level and noise, one incident put in by hand) and the generator's
realistic shop at about 7 and about 40 lines a day over four years with irregular weekends (the shapes of real
exports that used to report 108 and 586 "unusual" days). The rule was not tuned to the generator: its only
level is `false_alarms_per_year` (0.5 by default)."""

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys_assets.core.data.generator import GeneratorConfig, generate, trading_day_weights
from recsys_assets.core.data.volume import VolumeRule, daily_counts, judge_volume, log_cut_chance, order_clock

START = dt.date(2026, 1, 5)  # a Monday
END = dt.date(2026, 6, 30)
SETTINGS = Path(__file__).parents[2] / "expectations" / "raw_orders_volume.json"


def series(levels: list[float], weeks: int = 30, seed: int = 0, dispersion: float = 1.0, overrides=None) -> pd.Series:
    """A hand-made history from START: weekday i has mean `levels[i]`; counts are Poisson (dispersion 1) or
    negative binomial with variance dispersion x mean."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(START, periods=weeks * 7, freq="D")
    means = np.array([levels[day.dayofweek] for day in days], dtype=float)
    if dispersion == 1.0:
        values = rng.poisson(means)
    else:
        n = np.maximum(means, 1e-9) / (dispersion - 1)
        values = np.where(means > 0, rng.negative_binomial(n, 1 / dispersion), 0)
    counts = pd.Series(values.astype(int), index=days)
    for day, lines in (overrides or {}).items():
        counts[pd.Timestamp(day)] = lines
    return counts


def last_days(counts: pd.Series, n: int) -> list[dt.date]:
    return [day.date() for day in counts.index[-n:]]


BUSY = [400, 420, 410, 400, 380, 0, 0]  # a busy shop closed at weekends
MID = [55, 60, 56, 51, 48, 14, 0]  # about 40 lines a day, a few on Saturdays, closed on Sundays


def test_closed_weekdays_are_not_judged_and_a_lost_weekday_is_found():
    quiet = series(MID)
    week = last_days(quiet, 7)
    report = judge_volume(quiet, week, VolumeRule())
    assert report.findings == []
    assert report.trading_days == 6 and report.closed_days == 1  # Sunday: closed
    lost = series(MID, overrides={week[2]: 0})  # a Wednesday that lost all its lines
    [finding] = judge_volume(lost, week, VolumeRule()).findings
    assert (finding.kind, finding.first_day, finding.last_day, finding.lines) == ("no_orders", week[2], week[2], 0)
    assert 40 < finding.expected < 75 and 0 < finding.low < finding.expected < finding.high
    assert "no order line: 0 where" in finding.message() and "usual range" in finding.message()


def test_a_small_shops_empty_saturday_is_normal():
    """A Saturday with 0 lines where the level is 9: a Poisson law says 1 in 8 000, the shop's own spread (lines
    come in orders of several lines) says it happens."""
    small = [10, 10, 9, 8, 8, 9, 0]
    counts = series(small, dispersion=5.0, seed=1)
    saturday = last_days(counts, 2)[0]
    counts[pd.Timestamp(saturday)] = 0
    report = judge_volume(counts, [saturday], VolumeRule())
    assert report.findings == [] and report.trading_days == 1
    [level] = report.levels
    assert 5 < level.level < 14 and level.dispersion > 2  # measured on the series, not assumed


def test_a_half_loaded_day_is_found_where_the_spread_allows_telling():
    busy = series(BUSY)
    day = last_days(busy, 5)[0]  # a Tuesday
    busy[pd.Timestamp(day)] = 210  # about half its level
    [finding] = judge_volume(busy, [day], VolumeRule()).findings
    assert finding.kind == "low" and finding.lines == 210 and finding.low > 300
    # in a shop of about 40 lines a day whose days spread widely, half a day is within chance: the usual range
    # says so, and the same loss over a row of days or a whole lost day is what this shop can be warned about
    mid = series(MID, dispersion=8.0, seed=2)
    day = last_days(mid, 5)[0]
    level = judge_volume(mid, [day], VolumeRule()).levels[0].level
    mid[pd.Timestamp(day)] = round(level / 2)
    assert judge_volume(mid, [day], VolumeRule()).findings == []


def test_a_doubled_day_is_found():
    busy = series(BUSY, seed=3)
    day = last_days(busy, 4)[0]  # a Wednesday
    busy[pd.Timestamp(day)] *= 2
    [finding] = judge_volume(busy, [day], VolumeRule()).findings
    assert finding.kind == "high" and finding.lines > finding.high


def test_findings_are_grouped_and_ranked():
    counts = series(BUSY, seed=4)
    days = last_days(counts, 21)
    trading = [day for day in days if day.weekday() < 5]
    counts[pd.Timestamp(trading[2])] = 250  # a low day
    counts[pd.Timestamp(trading[4])] = 0  # Friday and the next Monday, Tuesday lost: one finding over a weekend
    counts[pd.Timestamp(trading[5])] = 0
    counts[pd.Timestamp(trading[6])] = 0
    counts[pd.Timestamp(trading[12])] *= 2
    report = judge_volume(counts, days, VolumeRule())
    kinds = [(f.kind, f.first_day, f.last_day, f.days) for f in report.findings]
    assert sorted(kinds) == [
        ("high", trading[12], trading[12], 1),
        ("low", trading[2], trading[2], 1),
        ("no_orders", trading[4], trading[6], 3),
    ]
    assert kinds[0][0] == "no_orders"  # three lost days of a busy shop are the least likely
    probabilities = [f.log10_probability for f in report.findings]
    assert probabilities == sorted(probabilities)
    assert "3 trading days" in report.findings[0].message() and "export stopped" in report.findings[0].message()


def test_listed_holidays_are_skipped():
    counts = series(MID, seed=5)
    week = last_days(counts, 7)
    counts[pd.Timestamp(week[0])] = 0
    assert [f.kind for f in judge_volume(counts, week, VolumeRule()).findings] == ["no_orders"]
    listed = judge_volume(counts, week, VolumeRule(holidays=frozenset([week[0]])))
    assert listed.findings == [] and listed.closed_days == 2


def test_a_nightly_run_and_a_backfill_agree():
    counts = series(MID, weeks=40, seed=6)
    days = last_days(counts, 70)
    lost = days[30] if days[30].weekday() < 5 else days[32]
    counts[pd.Timestamp(lost)] = 0
    backfill = judge_volume(counts, days, VolumeRule()).findings
    nightly = [f for day in days for f in judge_volume(counts, [day], VolumeRule()).findings]
    assert [(f.first_day, f.kind) for f in backfill] == [(f.first_day, f.kind) for f in nightly]
    assert (lost, "no_orders") in [(f.first_day, f.kind) for f in backfill]


# the generator's realistic shop: four years, irregular weekends (Saturday and Sunday trade now and then), public
# holidays and a summer closure, a yearly cycle, customers arriving and leaving


def realistic(lines_per_day: int) -> tuple[pd.Series, frozenset[dt.date], pd.Series]:
    config = GeneratorConfig.realistic(
        lines_per_day=lines_per_day, days=4 * 365, end_date=END, closed_weekdays=(), seed=1
    )
    orders = generate(config).orders
    counts = daily_counts(orders["order_ts"], config.start_date(), END)
    # the shop's own list of holidays and closures, as the settings file holds it
    weights = trading_day_weights(counts.index, config)
    closures = frozenset(day.date() for day, weight in zip(counts.index, weights, strict=True) if weight == 0)
    return counts, closures, orders["order_ts"]


@pytest.fixture(scope="module")
def exports() -> dict[int, tuple[pd.Series, frozenset[dt.date], pd.Series]]:
    return {lines: realistic(lines) for lines in (7, 40)}


@pytest.fixture(scope="module")
def shapes(exports) -> dict[int, tuple[pd.Series, frozenset[dt.date]]]:
    return {lines: export[:2] for lines, export in exports.items()}


@pytest.fixture(scope="module")
def order_times(exports) -> dict[int, pd.Series]:
    return {lines: export[2] for lines, export in exports.items()}


@pytest.mark.parametrize("lines_per_day", [7, 40])
def test_four_years_of_a_real_export_shape_report_a_handful(shapes, order_times, lines_per_day):
    counts, closures = shapes[lines_per_day]
    days = [day.date() for day in counts.index]
    report = judge_volume(counts, days, VolumeRule(holidays=closures), order_ts=order_times[lines_per_day])
    assert len(report.findings) <= 5, [f.message() for f in report.findings]
    assert not [f for f in report.findings if f.kind == "truncated"]  # full days do not look cut off
    assert report.trading_days > 1000
    empty_trading = [level for level in report.levels if level.status == "trading" and level.lines == 0]
    if lines_per_day == 7:  # the small shop has many empty days it usually trades on, none of them a finding
        assert len(empty_trading) > 50
        reported = {day for f in report.findings for day, _, _ in f.daily}
        assert sum(level.day in reported for level in empty_trading) <= 4


def test_unlisted_holidays_of_the_busier_shop_are_findings_that_say_what_to_do(shapes):
    counts, closures = shapes[40]
    days = [day.date() for day in counts.index]
    report = judge_volume(counts, days, VolumeRule())
    assert len(report.findings) > 5  # a weekday holiday of a shop with ~55 lines is as unlikely as a lost day
    closed_findings = [f for f in report.findings if f.kind == "no_orders"]
    assert closed_findings and all("List it under holidays" in f.message() for f in closed_findings)
    assert all(any(day in closures for day, _, _ in f.daily) for f in closed_findings)


@pytest.mark.parametrize("lines_per_day, within_trading_days", [(7, 4), (40, 1)])
def test_a_stopped_export_is_caught_by_the_nightly_runs(shapes, lines_per_day, within_trading_days):
    counts, closures = shapes[lines_per_day]
    counts = counts.copy()
    stop = dt.date(2026, 6, 8)  # a Monday; from here on the export is empty
    counts[counts.index >= pd.Timestamp(stop)] = 0
    rule = VolumeRule(holidays=closures)
    caught = None
    judged_trading = 0
    for day in (stop + dt.timedelta(days=i) for i in range((END - stop).days + 1)):
        report = judge_volume(counts, [day], rule)
        judged_trading += report.trading_days
        if report.findings:
            caught = report.findings[0]
            break
    assert caught is not None and caught.kind == "no_orders"
    assert judged_trading <= within_trading_days
    assert caught.first_day == stop  # the finding reaches back to the first empty day


def test_a_lost_busy_weekday_is_caught_in_the_busier_shape(shapes):
    counts, closures = shapes[40]
    counts = counts.copy()
    lost = dt.date(2026, 5, 13)  # a Wednesday
    counts[pd.Timestamp(lost)] = 0
    week = [lost - dt.timedelta(days=2) + dt.timedelta(days=i) for i in range(7)]
    [finding] = judge_volume(counts, week, VolumeRule(holidays=closures)).findings
    assert (finding.kind, finding.first_day) == ("no_orders", lost)


def cut_off(order_ts: pd.Series, day: dt.date, hour: int) -> tuple[pd.Series, pd.Series]:
    """The order times and lines per day with `day`'s lines from `hour` on removed: an export cut off mid-day."""
    kept = order_ts[~((order_ts.dt.date == day) & (order_ts.dt.hour >= hour))].reset_index(drop=True)
    return kept, daily_counts(kept, kept.min().date(), END)


def test_the_generators_order_times_spread_over_the_day(order_times):
    """The time-of-day rule needs orders spread over the shop's hours: the generator's are (6:00-18:00)."""
    hours = order_times[40].dt.hour
    assert hours.min() == 6 and hours.max() == 17
    assert 0.4 < (hours < 12).mean() < 0.6


def test_a_half_loaded_last_day_of_the_busier_shape_is_caught_from_the_time_of_day(shapes, order_times):
    counts, closures = shapes[40]
    rule = VolumeRule(holidays=closures)
    for last in (dt.date(2026, 6, 30), dt.date(2026, 6, 24), dt.date(2026, 6, 10)):  # Tue, Wed, Wed
        kept, cut_counts = cut_off(order_times[40], last, 12)
        full = int(counts[pd.Timestamp(last)])
        assert 0.3 * full < cut_counts[pd.Timestamp(last)] < 0.7 * full  # half loaded
        # one finding, the time of day named as the stronger reason where the count is low too
        [finding] = judge_volume(cut_counts, [last], rule, order_ts=kept).findings
        assert (finding.kind, finding.first_day) == ("truncated", last)
        assert finding.cut.date() == last and finding.cut.hour == 11 and finding.missing_orders > 5
        assert finding.log10_probability < math.log10(rule.tail_level)
        message = finding.message()
        assert f"cut off at {finding.cut:%H:%M}" in message and "no order after it where ~" in message
        assert "Import the day again" in message


def test_over_a_year_of_the_busier_shape_the_time_of_day_catches_most_noon_cuts_the_count_few(shapes, order_times):
    """Every sixth day of the last year, each cut at noon on its own: the count alone catches few (half of ~60
    lines is within the spread of the shape's days), the time of day most (not all: a quiet weekend day has a few
    orders whose absence after noon is within chance)."""
    counts, closures = shapes[40]
    rule = VolumeRule(holidays=closures)
    judged = by_count = caught = 0
    for day in pd.date_range("2025-07-01", END, freq="6D"):
        kept, cut_counts = cut_off(order_times[40], day.date(), 12)
        if counts[day] == 0 or cut_counts[day] == 0:
            continue
        alone = judge_volume(cut_counts, [day.date()], rule)
        if not alone.trading_days:
            continue
        judged += 1
        by_count += bool(alone.findings)
        caught += bool(judge_volume(cut_counts, [day.date()], rule, order_ts=kept).findings)
    assert judged > 40
    assert by_count <= 0.3 * judged and caught >= 0.6 * judged, (judged, by_count, caught)


def test_a_cut_day_is_found_the_same_by_a_nightly_run_and_a_backfill(shapes, order_times):
    counts, closures = shapes[40]
    rule = VolumeRule(holidays=closures)
    day = dt.date(2026, 6, 17)  # a Wednesday
    kept, cut_counts = cut_off(order_times[40], day, 12)
    days = [day + dt.timedelta(days=i) for i in range(-20, 14)]
    backfill = judge_volume(cut_counts, days, rule, order_ts=kept).findings
    nightly = [f for d in days for f in judge_volume(cut_counts, [d], rule, order_ts=kept).findings]
    assert [(f.first_day, f.kind) for f in backfill] == [(f.first_day, f.kind) for f in nightly]
    assert (day, "truncated") in [(f.first_day, f.kind) for f in backfill]


def test_what_the_small_shape_can_and_cannot_see_of_a_cut_day(shapes, order_times):
    """At ~7 lines a day a day holds about 3 orders (up to 7 on its busy weekdays): orders missing after a cut are
    within chance, whatever the cut. What is caught is a cut that leaves the day empty on a weekday busy enough for
    an empty day to be a finding (a June Wednesday, ~17 lines)."""
    counts, closures = shapes[7]
    rule = VolumeRule(holidays=closures)
    for day in (dt.date(2026, 6, 17), dt.date(2026, 6, 24), dt.date(2026, 6, 29), dt.date(2026, 6, 30)):
        for hour in (10, 12, 14):
            kept, cut_counts = cut_off(order_times[7], day, hour)
            if cut_counts[pd.Timestamp(day)] == 0:
                continue
            assert judge_volume(cut_counts, [day], rule, order_ts=kept).findings == [], (day, hour)
    kept, cut_counts = cut_off(order_times[7], dt.date(2026, 6, 17), 8)  # nothing left: a lost day
    [finding] = judge_volume(cut_counts, [dt.date(2026, 6, 17)], rule, order_ts=kept).findings
    assert finding.kind == "no_orders"


def test_the_chance_of_a_cut_between_its_limits():
    # a Poisson day: exp(-level x share after); no knowledge of the level (huge dispersion): share before ^ n
    assert log_cut_chance(10, 0.5, 20.0, 1.0) == pytest.approx(-10.0)
    assert log_cut_chance(10, 0.5, 20.0, 1e6) == pytest.approx(10 * math.log(0.5), rel=1e-3)
    assert log_cut_chance(10, 1.0, 20.0, 2.0) == 0.0  # the last order is after every usual one


def test_exports_without_a_time_of_day_are_not_judged_by_it():
    dates_only = pd.Series(
        pd.to_datetime(["2026-01-05", "2026-01-05", "2026-01-06 00:00", "2026-01-07 10:00"], format="ISO8601")
    )
    assert order_clock(dates_only) is None
    clock = order_clock(pd.Series(pd.to_datetime(["2026-01-05 09:00", "2026-01-05 09:00", "2026-01-05 08:30"])))
    assert clock[dt.date(2026, 1, 5)].tolist() == [8 * 3600 + 1800, 9 * 3600]  # one order per distinct time


def test_daily_counts_include_empty_days():
    stamps = pd.Series(pd.to_datetime(["2026-01-05 08:00", "2026-01-05 09:00", "2026-01-07 10:00"]))
    assert daily_counts(stamps, dt.date(2026, 1, 5), dt.date(2026, 1, 8)).tolist() == [2, 0, 1, 0]


def test_the_settings_file_is_the_default_rule_and_refuses_unknown_settings(tmp_path):
    assert VolumeRule.from_json(SETTINGS) == VolumeRule()
    old = tmp_path / "volume.json"
    old.write_text('{"low_ratio": 0.3, "holidays": ["2026-12-25"]}', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown volume settings \\['low_ratio'\\]"):
        VolumeRule.from_json(old)
    with pytest.raises(ValueError, match="false_alarms_per_year"):
        VolumeRule(false_alarms_per_year=0)
