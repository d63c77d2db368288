"""Order volume against the shop's own rhythm: what chance allows for a weekday, and the days it does not allow.

A shop closed at weekends, on public holidays or for a summer break has many days without orders, and a small
shop has quiet days by chance: neither is a data incident. What is worth a look is a day, or a run of days, whose
count chance does not explain: an export that stopped (the last days empty), a day that lost its lines, a day
loaded twice.

How a day is judged (the settings live in `expectations/raw_orders_volume.json`):

- its **level** is the mean of the same weekday in the `trailing_weeks` before it without the lowest and the
  highest week (listed holidays left out): one lost or doubled day in those weeks barely moves it. A weekday that
  traded in fewer than `min_trading_share` of them is **closed**: a day without orders there is normal and is not
  judged;
- what **chance** allows around that level comes from a count model: lines arrive in orders of several lines
  and the level drifts between the trailing weeks and today, so counts spread more than a Poisson law says. The
  spread is measured on the shop itself, on the rule's own forecasts: the dispersion `phi` (variance = phi x
  level) is the mean of (lines - level)^2 / level over the trading days of the trailing weeks, each against the
  level its own trailing weeks gave it, never below 1 (Poisson). A day's count is a negative-binomial draw with
  that mean and variance; its probability of being at least this low (or this high) is its **chance**;
- **empty days in a row** are judged together (closed days and holidays in between do not break the row): the
  chance that their total is 0, with the dispersion of such rows measured on the rule's forecasts of rows of
  that length in the trailing weeks (quiet days cluster, so a row spreads more than independent days would). A
  stopped export is caught after a few days even in a small shop where one empty day is normal. Rows reaching
  back into the `lookback_days` before the judged days count, so the nightly run of the third empty day judges
  it with the two before it;
- a day (or a row) is a **finding** when its chance is below the level set by the number of false alarms a year
  the data team accepts (`false_alarms_per_year`): each tail gets `false_alarms_per_year / 730` per day. The level
  per day does not depend on how many days a run judges, so a nightly run and a four-year backfill give the same
  verdict on the same day, and a backfill of a shop without incidents reports few findings, not one per quiet
  day. Consecutive trading days flagged on the same side (too few / too many) are **one finding**.

A count cannot see a **half-loaded day** in a shop of tens of lines a day (half of 40 lines is within the spread
of its days), but the time of day can: an export cut off mid-day has no order after the cut. Where the orders carry
a time of day, each trading day's last order time `t` is compared with the order times of the trading days of the
trailing weeks (pooled, all weekdays: robust at a few orders a day). Orders, not lines, are counted (the lines of
one order share its time; distinct times of a day are its orders). With `F(t)` the share of those orders placed up
to `t`, the weekday's level `M` in orders and its dispersion `phi` (measured like the lines'), a day's orders are a
Poisson count whose rate is gamma distributed (shape `k = M / (phi - 1)`); given the `n` orders the day has up to
`t`, the chance that a full day has none after `t` is ((b + F) / (b + 1))^(k + n) with b = 1 / (phi - 1): F^n when
the level says nothing (phi large), exp(-M (1 - F)) for a Poisson day. The day is a finding (`truncated`) when that
chance is below the same `false_alarms_per_year / 730`; it joins the count findings (one finding per day or run of
days, the stronger reason named). At ~20 orders a day (about 40 lines) a day cut at noon is caught; at ~3 orders a
day (about 7 lines) no single cut day is, not even one cut early in the morning: three orders missing is within
what chance allows, as a whole lost day of such a shop is.

Findings are ranked by how unlikely they are (smallest chance first); each carries its expected range: the
total of its days the rule would have accepted at that level. How small a loss can be caught follows from the
shop's own spread: a day that lost all its lines is caught where the weekday's usual range excludes 0 (a shop of
about 40 lines a day); a half-loaded day only where the usual range is narrower than half the level (a busy
shop); a small shop's single quiet day never is, its stopped export is after a few empty days.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import betainc, gammainc, gammaincc


@dataclass(frozen=True)
class VolumeRule:
    """How a day's volume is judged (see the module docstring for what each setting does to the result)."""

    trailing_weeks: int = 8
    min_history_weeks: int = 3
    min_trading_share: float = 0.5
    false_alarms_per_year: float = 0.5
    lookback_days: int = 14
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not 0 < self.false_alarms_per_year < 365:
            raise ValueError(f"false_alarms_per_year must lie in (0, 365), got {self.false_alarms_per_year}")
        if self.trailing_weeks < self.min_history_weeks or self.min_history_weeks < 1:
            raise ValueError(
                f"need 1 <= min_history_weeks <= trailing_weeks, got {self.min_history_weeks}, {self.trailing_weeks}"
            )

    @property
    def tail_level(self) -> float:
        """Probability per day and per tail (too few / too many) below which a count is reported."""
        return self.false_alarms_per_year / (2 * 365)

    def history_days(self) -> int:
        """Days of counts the rule reads before the first judged day: the trailing weeks of the days whose
        forecasts measure the dispersion, and the lookback."""
        return 2 * 7 * self.trailing_weeks + self.lookback_days

    @classmethod
    def from_json(cls, path: str | Path) -> VolumeRule:
        """The rule of a settings file: the fields above, `holidays` as a list of ISO dates and, optionally,
        `holiday_file`, a text file of ISO dates (one a line, relative to the settings file)."""
        path = Path(path)
        settings = json.loads(path.read_text(encoding="utf-8"))
        holidays = {dt.date.fromisoformat(day) for day in settings.pop("holidays", [])}
        holiday_file = settings.pop("holiday_file", None)
        if holiday_file:
            lines = (path.parent / holiday_file).read_text(encoding="utf-8").splitlines()
            holidays |= {dt.date.fromisoformat(line.strip()) for line in lines if line.strip()}
        settings = {key: value for key, value in settings.items() if not key.startswith("_")}  # "_notes"
        unknown = set(settings) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(
                f"{path}: unknown volume settings {sorted(unknown)}; known: {sorted(set(cls.__dataclass_fields__))}"
            )
        return cls(**settings, holidays=frozenset(holidays))


@dataclass(frozen=True)
class DayLevel:
    """What the rule expects of one day: `status` trading, closed, holiday or unknown (too little history)."""

    day: dt.date
    status: str
    lines: int
    level: float = 0.0
    dispersion: float = 1.0  # variance / mean of the day's count
    traded_weeks: str = ""  # e.g. "7 of 8": how often this weekday traded in the trailing weeks
    outlier: bool = False  # reported on its own: left out of what chance allows for the days after it


@dataclass(frozen=True)
class VolumeFinding:
    """A run of consecutive trading days (one day or more) whose total chance does not explain.

    `kind` is no_orders (not a single line), low or high; `expected` the sum of the days' levels, `low`..`high`
    the range of totals the rule accepts, `log10_probability` the chance of a total at least this far out.
    """

    first_day: dt.date
    last_day: dt.date
    kind: str
    days: int  # trading days in the run
    lines: int
    expected: float
    low: int
    high: int
    log10_probability: float
    daily: tuple[tuple[dt.date, int, float], ...] = ()  # (day, lines, level) of each trading day
    cut: dt.datetime | None = None  # truncated: the last order time of the day that looks cut off
    missing_orders: float = 0.0  # truncated: the orders a full day has after `cut`

    @property
    def span(self) -> str:
        if self.first_day == self.last_day:
            return f"{self.first_day} ({self.first_day:%a})"
        return (
            f"{self.first_day} ({self.first_day:%a}) to {self.last_day} ({self.last_day:%a}), {self.days} trading days"
        )

    def message(self) -> str:
        if self.kind == "truncated":
            return (
                f"{self.span}: the export looks cut off at {self.cut:%H:%M} on {self.cut:%Y-%m-%d}: no order after "
                f"it where ~{self.missing_orders:.0f} were expected ({self.lines} lines where {self.expected:.0f} "
                f"were expected; chance {chance(self.log10_probability)}): a half-loaded day? Import the day again "
                "from a complete export and materialize its partition again"
            )
        what = {"no_orders": "no order line", "low": "too few order lines", "high": "too many order lines"}[self.kind]
        text = (
            f"{self.span}: {what}: {self.lines} where {self.expected:.0f} were expected "
            f"(usual range {self.low}-{self.high}; chance {chance(self.log10_probability)})"
        )
        if self.kind == "no_orders":
            lost = "the export stopped" if self.days > 1 else "the day's lines were lost"
            text += f": a closure? List it under holidays in the volume settings; otherwise {lost}"
        return text


@dataclass(frozen=True)
class VolumeReport:
    findings: list[VolumeFinding]  # ranked: the least likely first
    trading_days: int  # judged days the rhythm expects orders on
    closed_days: int  # judged days the shop usually does not trade on (weekday rhythm or holiday)
    unknown_days: int  # judged days without enough history to judge
    levels: list[DayLevel] = field(default_factory=list)  # every judged day


def chance(log10_probability: float) -> str:
    """A probability as people read it: "about 1 in 2,400", "about 1 in 10^9"."""
    if log10_probability <= -300:
        return "below 1 in 10^300"
    if log10_probability < -6:
        return f"about 1 in 10^{-log10_probability:.0f}"
    return f"about 1 in {10**-log10_probability:,.0f}"


def daily_counts(order_ts: pd.Series, first: dt.date, last: dt.date) -> pd.Series:
    """Order lines per day from `first` to `last` (inclusive), zeros included."""
    days = pd.date_range(first, last, freq="D")
    counts = pd.Series(pd.to_datetime(order_ts).dt.normalize()).value_counts()
    return counts.reindex(days, fill_value=0).astype(int)


def _weekday_level(lookup: dict[dt.date, int], day: dt.date, rule: VolumeRule) -> DayLevel:
    """Status and level of `day` from the same weekday of the `trailing_weeks` before it (dispersion not set)."""
    lines = lookup.get(day, 0)
    if day in rule.holidays:
        return DayLevel(day, "holiday", lines)
    own = [
        lookup[past]
        for week in range(1, rule.trailing_weeks + 1)
        if (past := day - dt.timedelta(weeks=week)) in lookup and past not in rule.holidays
    ]
    if len(own) < rule.min_history_weeks:
        return DayLevel(day, "unknown", lines)
    traded = f"{sum(n > 0 for n in own)} of {len(own)}"
    if not _trades(own, rule):
        return DayLevel(day, "closed", lines, traded_weeks=traded)
    return DayLevel(day, "trading", lines, _level(own), 1.0, traded)


def base_levels(lookup: dict[dt.date, int], days: list[dt.date], rule: VolumeRule) -> dict[dt.date, DayLevel]:
    """Status and level (no dispersion) of `days` and of every day of the trailing weeks before them."""
    first = min(days) - dt.timedelta(days=7 * rule.trailing_weeks)
    span = [first + dt.timedelta(days=i) for i in range((max(days) - first).days + 1)]
    wanted = set(days)
    return {day: _weekday_level(lookup, day, rule) for day in span if day in lookup or day in wanted}


def day_levels(
    lookup: dict[dt.date, int], days: list[dt.date], rule: VolumeRule, base: dict[dt.date, DayLevel] | None = None
) -> dict[dt.date, DayLevel]:
    """Level and dispersion of each of `days` and of the trailing weeks before them (see the module docstring).

    The dispersion is measured on the rule's own forecasts: how far each trading day of the trailing weeks fell
    from the level its own trailing weeks gave it ((lines - level)^2 / level, averaged). That includes the drift
    of the level between the trailing weeks and the day, which a spread around the weeks' own mean would miss.
    Days are measured in order, and a day the rule reports on its own (an `outlier`: a lost or doubled day) does
    not count toward what chance allows for the weeks after it, so one incident does not blind the check."""
    window = 7 * rule.trailing_weeks
    base = base if base is not None else base_levels(lookup, days, rule)
    threshold = math.log(rule.tail_level)
    errors: dict[dt.date, float] = {}  # forecast errors of the trading days that were not outliers
    result = {}
    for day in sorted(base):
        level = base[day]
        if level.status != "trading":
            result[day] = level
            continue
        past = [
            error
            for offset in range(1, window + 1)
            if (error := errors.get(day - dt.timedelta(days=offset))) is not None
        ]
        if len(past) < rule.min_history_weeks:
            result[day] = DayLevel(day, "unknown", level.lines)
            errors[day] = (level.lines - level.level) ** 2 / level.level  # it still informs the days after it
            continue
        dispersion = _dispersion(past)
        outlier = min(log_tails(level.lines, level.level, dispersion)) < threshold
        if not outlier:
            errors[day] = (level.lines - level.level) ** 2 / level.level
        result[day] = DayLevel(day, "trading", level.lines, level.level, dispersion, level.traded_weeks, outlier)
    return result


def row_dispersion(levels: dict[dt.date, DayLevel], first_day: dt.date, length: int, rule: VolumeRule) -> float | None:
    """The dispersion of the total of `length` consecutive trading days, measured like a day's on the rule's own
    forecasts of such rows in the trailing weeks before `first_day` (None: too few rows). Quiet days come in
    clusters (a slow week, a customer who left): a row's total spreads more than independent days would."""
    start = first_day - dt.timedelta(days=7 * rule.trailing_weeks)
    trading = [level for day, level in sorted(levels.items()) if start <= day < first_day and level.status == "trading"]
    errors = []
    for i in range(len(trading) - length + 1):
        row = trading[i : i + length]
        if any(d.outlier for d in row):
            continue
        lines, level = sum(d.lines for d in row), sum(d.level for d in row)
        errors.append((lines - level) ** 2 / level)
    return _dispersion(errors) if len(errors) >= rule.min_history_weeks else None


def _dispersion(errors: list[float]) -> float:
    """The mean squared forecast error over the level (the moment estimate of variance / mean), never below 1
    (Poisson). Not trimmed: counts have heavy tails, and a trimmed spread would make every quiet shop's range too
    narrow; one incident in the window widens it by about 1/n of its own square error for a few weeks."""
    return max(1.0, float(np.mean(errors)))


def _level(values: list[int]) -> float:
    """The mean of the weeks without the lowest and the highest one (from five weeks on): one lost or doubled
    day in the trailing weeks barely moves it, and unlike a median it is not biased low for skewed counts."""
    values = sorted(values)
    if len(values) >= 5:
        values = values[1:-1]
    return max(float(np.mean(values)), 0.5)


def _trades(values: list[int], rule: VolumeRule) -> bool:
    return sum(n > 0 for n in values) >= rule.min_trading_share * len(values)


def count_law(mean: float, dispersion: float):
    """The law of a count with that mean and variance dispersion x mean: negative binomial, Poisson when the
    dispersion is 1. A sum of such counts with one dispersion has the same law with the summed mean."""
    from scipy.stats import nbinom, poisson  # here: scipy.stats costs every process that loads the code ~1 s

    if dispersion <= 1.0 + 1e-9:
        return poisson(mean)
    return nbinom(mean / (dispersion - 1), 1 / dispersion)


def log_tails(lines: int, mean: float, dispersion: float) -> tuple[float, float]:
    """log P(X <= lines) and log P(X >= lines) under `count_law(mean, dispersion)`, from the incomplete beta and
    gamma functions directly (a frozen scipy law costs milliseconds, a backfill judges thousands of days).
    Probabilities below 1e-300 are taken as 1e-300."""
    if dispersion <= 1.0 + 1e-9:
        low = gammaincc(lines + 1, mean)
        high = gammainc(lines, mean) if lines > 0 else 1.0
    else:
        n, p = mean / (dispersion - 1), 1 / dispersion
        low = betainc(n, lines + 1, p)
        high = betainc(lines, n, 1 - p) if lines > 0 else 1.0
    return math.log(max(float(low), 1e-300)), math.log(max(float(high), 1e-300))


def log_empty(mean: float, dispersion: float) -> float:
    """log P(X = 0) under `count_law(mean, dispersion)`, exactly."""
    if dispersion <= 1.0 + 1e-9:
        return -mean
    return mean / (dispersion - 1) * math.log(1 / dispersion)


@dataclass(frozen=True)
class Cut:
    """A day that looks cut off: its last order time, the orders a full day has after it, the log-chance."""

    at: dt.datetime
    missing_orders: float
    log_p: float


MIN_POOLED_ORDERS = 20  # trailing orders below which the time of day is not judged


def order_clock(order_ts: pd.Series) -> dict[dt.date, np.ndarray] | None:
    """The orders of each day as sorted seconds after midnight, one per distinct time (the lines of an order share
    its time). None when the export carries no time of day (most lines at midnight: a date-only column)."""
    stamps = pd.Series(pd.to_datetime(order_ts)).dropna().drop_duplicates()
    if stamps.empty:
        return None
    seconds = (stamps - stamps.dt.normalize()).dt.total_seconds().astype(int)
    if (seconds == 0).mean() > 0.5:
        return None
    frame = pd.DataFrame({"day": stamps.dt.date, "second": seconds.to_numpy()})
    return {day: np.sort(group.to_numpy()) for day, group in frame.groupby("day")["second"]}


def log_cut_chance(before: int, share_before: float, level: float, dispersion: float) -> float:
    """log of the chance that a full day has no order after the time up to which a share `share_before` of
    orders come, given its `before` orders up to then: its orders a Poisson count of a gamma-distributed rate with
    mean `level` and variance dispersion x level (see the module docstring)."""
    if share_before >= 1.0:
        return 0.0
    if dispersion <= 1.0 + 1e-9:
        return -level * (1.0 - share_before)
    b = 1.0 / (dispersion - 1.0)
    return (level * b + before) * math.log((b + share_before) / (b + 1.0))


def find_cuts(
    clock: dict[dt.date, np.ndarray], levels: dict[dt.date, DayLevel], days: list[dt.date], rule: VolumeRule
) -> dict[dt.date, Cut]:
    """The chance of each of `days` (trading, with orders) that a full day ends as early as it did, against the
    order times of the trading days of the trailing weeks and the weekday's level in orders. `levels` are
    `day_levels` of the orders per day."""
    cuts = {}
    for day in days:
        level, times = levels.get(day), clock.get(day)
        if level is None or level.status != "trading" or times is None or not len(times):
            continue
        trailing = [
            clock[past]
            for offset in range(1, 7 * rule.trailing_weeks + 1)
            if (past := day - dt.timedelta(days=offset)) in clock
            and (past_level := levels.get(past)) is not None
            and past_level.status == "trading"
        ]
        pooled = np.concatenate(trailing) if trailing else np.empty(0)
        if len(pooled) < MIN_POOLED_ORDERS:
            continue
        last = int(times[-1])
        share = float(np.searchsorted(np.sort(pooled), last, side="right")) / len(pooled)
        log_p = log_cut_chance(len(times), share, level.level, level.dispersion)
        at = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=last)
        cuts[day] = Cut(at, level.level * (1.0 - share), log_p)
    return cuts


Flag = tuple[str, float, float, Cut | None]  # side, log-chance, dispersion, the cut when it is the stronger reason


def _finding(days: list[DayLevel], flags: list[Flag], rule: VolumeRule) -> VolumeFinding:
    """One finding for consecutive flagged trading days: their totals, the range the rule accepts for that total
    (a sum of counts with one dispersion has the same law), and the chance of all of them together. When the
    least likely day looks cut off, the finding is `truncated` and names that day's cut."""
    total, mean = sum(d.lines for d in days), sum(d.level for d in days)
    law = count_law(mean, max(flag[2] for flag in flags))
    side = flags[0][0]
    kind = "high" if side == "high" else ("no_orders" if total == 0 else "low")
    strongest = min(flags, key=lambda flag: flag[1])[3]
    if strongest is not None:
        kind = "truncated"
    low, high = int(law.ppf(rule.tail_level)), int(law.isf(rule.tail_level))
    daily = tuple((d.day, d.lines, d.level) for d in days)
    log10_p = sum(flag[1] for flag in flags) / math.log(10)
    return VolumeFinding(
        days[0].day,
        days[-1].day,
        kind,
        len(days),
        total,
        mean,
        low,
        high,
        log10_p,
        daily,
        cut=strongest.at if strongest else None,
        missing_orders=strongest.missing_orders if strongest else 0.0,
    )


def judge_volume(
    counts: pd.Series, run_days: list[dt.date], rule: VolumeRule, order_ts: pd.Series | None = None
) -> VolumeReport:
    """Judge each day of `run_days` against its weekday's level (see the module docstring).

    `counts` holds lines per day, indexed by day, covering the run and `rule.history_days()` before it; days
    missing from it count as unknown. A run of empty trading days is followed back into the `lookback_days`
    before the first judged day; a finding is reported when it contains a judged day. `order_ts`, the lines'
    order times over the same days, adds the judgement of the time of day (a day cut off mid-day).
    """
    lookup = {pd.Timestamp(day).date(): int(value) for day, value in counts.items()}
    judged = sorted(set(run_days))
    if not judged:
        return VolumeReport([], 0, 0, 0)
    first = judged[0] - dt.timedelta(days=rule.lookback_days)
    window = [first + dt.timedelta(days=i) for i in range((judged[-1] - first).days + 1)]
    wanted = set(judged)
    levels = day_levels(lookup, [day for day in window if day in lookup or day in wanted], rule)
    threshold = math.log(rule.tail_level)
    cuts: dict[dt.date, Cut] = {}
    clock = order_clock(order_ts) if order_ts is not None else None
    if clock:
        orders = {day: len(clock[day]) if day in clock else 0 for day in lookup}  # orders per day
        order_levels = day_levels(orders, [day for day in window if day in orders or day in wanted], rule)
        cuts = find_cuts(clock, order_levels, [day for day in window if lookup.get(day, 0) > 0], rule)

    # the trading days in order, cut where a day cannot be judged (closed days and holidays do not cut)
    stretches: list[list[DayLevel]] = [[]]
    for day in window:
        level = levels.get(day)
        if level is None or level.status == "unknown":
            stretches.append([])
        elif level.status == "trading":
            stretches[-1].append(level)

    findings: list[VolumeFinding] = []
    for stretch in stretches:
        # each day's side, the log-probability of a count at least as far out on that side, and its dispersion
        flagged: list[Flag | None] = []
        for level in stretch:
            low, high = log_tails(level.lines, level.level, level.dispersion)
            side, log_p = ("low", low) if low < high else ("high", high)
            flag: Flag | None = (side, log_p, level.dispersion, None) if log_p < threshold else None
            cut = cuts.get(level.day)
            if cut is not None and cut.log_p < threshold and (flag is None or cut.log_p < flag[1]):
                flag = ("low", cut.log_p, level.dispersion, cut)  # the time of day is the stronger reason
            flagged.append(flag)
        # empty days in a row are judged together: a stopped export is caught even where one empty day is not
        start = 0
        while start < len(stretch):
            end = start
            while end < len(stretch) and stretch[end].lines == 0:
                end += 1
            if end - start > 1:
                row = stretch[start:end]
                dispersion = row_dispersion(levels, row[0].day, len(row), rule) or max(d.dispersion for d in row)
                joint = log_empty(sum(d.level for d in row), dispersion)
                if joint < threshold:
                    for i in range(start, end):
                        flagged[i] = ("low", joint / len(row), dispersion, None)
            start = max(end, start + 1)
        # consecutive flagged days on the same side are one finding
        group: list[int] = []
        for i in range(len(stretch) + 1):
            current = flagged[i] if i < len(stretch) else None
            if group and (current is None or current[0] != flagged[group[-1]][0]):
                if any(stretch[j].day in wanted for j in group):
                    findings.append(_finding([stretch[j] for j in group], [flagged[j] for j in group], rule))
                group = []
            if current is not None:
                group.append(i)

    statuses = [levels[day].status for day in judged]
    findings.sort(key=lambda f: (f.log10_probability, f.first_day))
    return VolumeReport(
        findings,
        trading_days=statuses.count("trading"),
        closed_days=statuses.count("closed") + statuses.count("holiday"),
        unknown_days=statuses.count("unknown"),
        levels=[levels[day] for day in judged],
    )
