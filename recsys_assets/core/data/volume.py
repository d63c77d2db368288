"""Order volume against the shop's own rhythm: closed days are business as usual, a silent trading day is not.

A shop closed at weekends, on public holidays or for a summer break has many days without orders; those are
not data incidents. What is worth a look is a day whose volume does not fit the same weekday of the trailing
weeks: no order on a day the shop usually trades, or far fewer or far more lines than usual. The rule is
statistical so that a quiet day in a small shop is not flagged: a day is unusual only when its count is both
far from the weekday's median (`low_ratio` / `high_ratio`) and improbable under a Poisson law with that median
(`significance`). The settings live in `expectations/raw_orders_volume.json`, where the data team can change
them and list holidays.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import poisson


@dataclass(frozen=True)
class VolumeRule:
    """How unusual a day's volume must be to be reported (see the module docstring)."""

    trailing_weeks: int = 8
    min_history_weeks: int = 3
    min_trading_share: float = 0.5
    low_ratio: float = 0.3
    high_ratio: float = 3.0
    significance: float = 0.001
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

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
            raise ValueError(f"{path}: unknown volume settings {sorted(unknown)}")
        return cls(**settings, holidays=frozenset(holidays))


@dataclass(frozen=True)
class VolumeFinding:
    """A day whose volume does not fit its weekday: `kind` is no_orders, low or high."""

    day: dt.date
    kind: str
    lines: int
    expected: float
    weekday_trading_weeks: str  # e.g. "8 of 8": how often this weekday traded in the trailing weeks
    last_day: dt.date | None = None  # a run of silent trading days (kind "closed_span") ends here
    days: int = 1

    def message(self) -> str:
        if self.kind == "closed_span":
            return (
                f"{self.day} to {self.last_day}: no order line on {self.days} trading days (the same weekdays had a "
                f"median of {self.expected:g} lines): a closure? List it under holidays in the volume settings"
            )
        what = {"no_orders": "no order line", "low": "few order lines", "high": "many order lines"}[self.kind]
        return (
            f"{self.day} ({self.day:%A}): {what}: {self.lines} lines where the same weekday of the trailing weeks "
            f"had a median of {self.expected:g} (traded {self.weekday_trading_weeks} weeks)"
        )


@dataclass(frozen=True)
class VolumeReport:
    findings: list[VolumeFinding]
    trading_days: int  # run days the rhythm expects orders on
    closed_days: int  # run days the shop usually does not trade on (weekday rhythm or holiday)
    unknown_days: int  # run days without enough history to judge


def daily_counts(order_ts: pd.Series, first: dt.date, last: dt.date) -> pd.Series:
    """Order lines per day from `first` to `last` (inclusive), zeros included."""
    days = pd.date_range(first, last, freq="D")
    counts = pd.Series(pd.to_datetime(order_ts).dt.normalize()).value_counts()
    return counts.reindex(days, fill_value=0).astype(int)


def judge_volume(counts: pd.Series, run_days: list[dt.date], rule: VolumeRule) -> VolumeReport:
    """Compare each day of `run_days` with the same weekday of the `trailing_weeks` before it in `counts`
    (lines per day, indexed by day, covering the run and the trailing weeks before it)."""
    findings, trading, closed, unknown = [], 0, 0, 0
    lookup = {day.date(): int(value) for day, value in counts.items()}
    for day in run_days:
        if day in rule.holidays:
            closed += 1
            continue
        history = [
            lookup[past]
            for week in range(1, rule.trailing_weeks + 1)
            if (past := day - dt.timedelta(weeks=week)) in lookup and past not in rule.holidays
        ]
        if len(history) < rule.min_history_weeks:
            unknown += 1
            continue
        trading_weeks = [n for n in history if n > 0]
        if len(trading_weeks) < rule.min_trading_share * len(history):
            closed += 1  # this weekday is usually closed: an order now and then is fine, none is normal
            continue
        trading += 1
        expected = float(np.median(trading_weeks))
        lines = lookup.get(day, 0)
        weeks = f"{len(trading_weeks)} of {len(history)}"
        low_p, high_p = poisson.cdf(lines, expected), poisson.sf(lines - 1, expected)
        if lines < rule.low_ratio * expected and low_p < rule.significance:
            findings.append(VolumeFinding(day, "no_orders" if lines == 0 else "low", lines, expected, weeks))
        elif lines > rule.high_ratio * expected and high_p < rule.significance:
            findings.append(VolumeFinding(day, "high", lines, expected, weeks))
    return VolumeReport(group_closures(findings), trading, closed, unknown)


def group_closures(findings: list[VolumeFinding], max_gap_days: int = 4) -> list[VolumeFinding]:
    """Silent trading days close together (a week's closure, Christmas to New Year) as one finding."""
    grouped: list[VolumeFinding] = []
    for finding in findings:
        previous = grouped[-1] if grouped else None
        joins = (
            previous is not None
            and finding.kind == "no_orders"
            and previous.kind in ("no_orders", "closed_span")
            and (finding.day - (previous.last_day or previous.day)).days <= max_gap_days
        )
        if not joins:
            grouped.append(finding)
            continue
        grouped[-1] = VolumeFinding(
            previous.day,
            "closed_span",
            0,
            float(np.median([previous.expected, finding.expected])),
            previous.weekday_trading_weeks,
            last_day=finding.day,
            days=previous.days + 1,
        )
    return grouped
