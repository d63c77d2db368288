"""Order dates no shop's history has: placeholders an ERP writes for "no date" (1900-01-01, 1970-01-01, Excel's
1899-12-30) and dates far before the bulk of the history. Imported, each would become the first daily partition
and stretch the history by decades, so the import refuses or quarantines them."""

from __future__ import annotations

import pandas as pd

# placeholder years: before the first web shops, and where null dates of ERPs and spreadsheets land
PLACEHOLDERS_BEFORE = pd.Timestamp("1980-01-01")
# a date is far before the bulk when it is more than this many interquartile ranges (or MIN_GAP) before the
# lower quartile of the dates: a 4-year history accepts 6 years of older lines, a 90-day one a year
SPREAD_FACTOR = 3
MIN_GAP = pd.Timedelta(days=365)


def implausible_dates(stamps: pd.Series) -> tuple[pd.Series, pd.Timestamp | None]:
    """A mask of the implausible order dates of `stamps`, and where the bulk of the history starts (its lower
    quartile; None without a plausible date)."""
    placeholder = (stamps < PLACEHOLDERS_BEFORE).fillna(False)
    rest = stamps[~placeholder].dropna()
    if rest.empty:
        return placeholder.astype(bool), None
    q1, q3 = rest.quantile(0.25), rest.quantile(0.75)
    floor = q1 - max(SPREAD_FACTOR * (q3 - q1), MIN_GAP)
    return (placeholder | (stamps < floor).fillna(False)).astype(bool), q1
