"""The serving log: one JSON line per served request, read by the training/serving skew monitor.

Files are `<log_dir>/YYYY-MM-DD.jsonl` (UTC day of the request). Each line holds:
`ts` (ISO-8601 UTC), `customer_id`, `model_version`, `items` (list of product ids, in served order),
`cold_start` (true when the customer was unknown to the model and got the popularity fallback), `target`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

LOG_COLUMNS = ["ts", "customer_id", "model_version", "items", "cold_start", "target"]


def log_file(log_dir: str | Path, day: dt.date) -> Path:
    return Path(log_dir) / f"{day.isoformat()}.jsonl"


def append_entries(log_dir: str | Path, entries: Iterable[dict]) -> int:
    """Append entries (dicts with LOG_COLUMNS) to the day files they belong to; returns how many were written."""
    by_day: dict[dt.date, list[str]] = {}
    for entry in entries:
        missing = [c for c in LOG_COLUMNS if c not in entry]
        if missing:
            raise ValueError(f"serving log entry lacks {missing}: {entry}")
        day = pd.Timestamp(entry["ts"]).date()
        by_day.setdefault(day, []).append(json.dumps({c: entry[c] for c in LOG_COLUMNS}))
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    for day, lines in by_day.items():
        with log_file(log_dir, day).open("a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    return sum(len(lines) for lines in by_day.values())


def read_entries(log_dir: str | Path, since: dt.date | None = None, until: dt.date | None = None) -> pd.DataFrame:
    """All entries of the day files in [since, until] as a DataFrame with LOG_COLUMNS (ts as UTC-naive).

    A line that is not a whole entry (a write cut short by a full disk or a killed server) is skipped, so one
    bad line never stops the skew monitor.
    """
    rows = []
    for path in sorted(Path(log_dir).glob("*.jsonl")) if Path(log_dir).exists() else []:
        day = dt.date.fromisoformat(path.stem)
        if (since and day < since) or (until and day > until):
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and all(column in entry for column in LOG_COLUMNS):
                rows.append(entry)
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in LOG_COLUMNS})
    frame = pd.DataFrame(rows, columns=LOG_COLUMNS)
    frame["customer_id"] = frame["customer_id"].astype(str)
    frame["model_version"] = frame["model_version"].astype(str)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).dt.tz_localize(None)
    return frame
