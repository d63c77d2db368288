"""The serving log: one JSON line per served request, read by the skew monitor and the online metrics.

Files are `<log_dir>/YYYY-MM-DD.jsonl` (UTC day of the request). Each line holds:
`ts` (ISO-8601 UTC), `customer_id`, `model_version`, `items` (list of product ids, in served order),
`cold_start` (true when the customer was unknown to the model and got the popularity fallback), `target`,
and, since the control group exists, `store_version`, `group` (`model` or `control`: the customer's arm, from
the salted hash of its id) and `source` (`model`, `popularity_fallback` or `control`: what the list came from).
Lines written before those fields existed read as group `model` with the source their `cold_start` implies.
Since buy again and related products are served, `list` names the list served (`for_you`, `buy_again`,
`bought_together`, `similar`; absent on older lines and on "for you" lines: they read as `for_you`) and a related
list's line has `query_product` (the product it was asked for) and no customer (`customer_id` null).
`read_entries` returns the "for you" lines unless asked for another list, so the monitors read what they always
read; a per-list monitor passes `list_name`.

Synthetic traffic (load tests, probes, the review page: requests carrying the `X-Recsys-Traffic` header) is
logged apart, under `<log_dir>/synthetic/`, with a `traffic` field; `read_entries` never reads it, so neither
the skew monitor nor the online metrics count it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

LOG_COLUMNS = ["ts", "customer_id", "model_version", "items", "cold_start", "target"]
# fields added later: absent from older lines, filled in by read_entries
OPTIONAL_COLUMNS = ["store_version", "group", "source", "traffic", "list", "query_product"]
FOR_YOU_LIST = "for_you"
SHOP_TRAFFIC = "shop"
# the request header that marks synthetic traffic (its value, e.g. "load-test", becomes the entry's `traffic`)
TRAFFIC_HEADER = "X-Recsys-Traffic"
SYNTHETIC_FOLDER = "synthetic"
GROUPS = ("model", "control")
SOURCES = ("model", "popularity_fallback", "control")


def log_file(log_dir: str | Path, day: dt.date) -> Path:
    return Path(log_dir) / f"{day.isoformat()}.jsonl"


def synthetic_dir(log_dir: str | Path) -> Path:
    """Where requests marked as synthetic traffic are logged (never read by the monitors)."""
    return Path(log_dir) / SYNTHETIC_FOLDER


def append_entries(log_dir: str | Path, entries: Iterable[dict]) -> int:
    """Append entries (dicts with LOG_COLUMNS, optionally OPTIONAL_COLUMNS) to the day files they belong to.

    Returns how many were written.
    """
    by_day: dict[dt.date, list[str]] = {}
    for entry in entries:
        missing = [c for c in LOG_COLUMNS if c not in entry]
        if missing:
            raise ValueError(f"serving log entry lacks {missing}: {entry}")
        day = pd.Timestamp(entry["ts"]).date()
        fields = LOG_COLUMNS + [c for c in OPTIONAL_COLUMNS if entry.get(c) is not None]
        by_day.setdefault(day, []).append(json.dumps({c: entry[c] for c in fields}))
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    for day, lines in by_day.items():
        with log_file(log_dir, day).open("a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    return sum(len(lines) for lines in by_day.values())


def json_lines(path: Path) -> Iterator[dict]:
    """The JSON objects of a JSON-lines file; a line that is not a whole object (a write cut short by a full disk or
    a killed writer) is skipped."""
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            yield entry


def read_entries(
    log_dir: str | Path,
    since: dt.date | None = None,
    until: dt.date | None = None,
    traffic: str | None = SHOP_TRAFFIC,
    list_name: str | None = FOR_YOU_LIST,
) -> pd.DataFrame:
    """The entries of the day files in [since, until] (ts as UTC-naive), LOG_COLUMNS + OPTIONAL_COLUMNS.

    Only entries of `traffic` (default: the shop's; None: all) are returned, so synthetic traffic flagged in the
    shop's log is left out too (it normally lives in `synthetic_dir`, which is never read from `log_dir`).
    Only entries of `list_name` (default: the "for you" list; None: every list) are returned.
    A line that is not a whole entry (a write cut short by a full disk or a killed server) is skipped, so one
    bad line never stops the monitors.
    """
    rows = []
    for path in sorted(Path(log_dir).glob("*.jsonl")) if Path(log_dir).exists() else []:
        day = dt.date.fromisoformat(path.stem)
        if (since and day < since) or (until and day > until):
            continue
        rows.extend(entry for entry in json_lines(path) if all(column in entry for column in LOG_COLUMNS))
    columns = LOG_COLUMNS + OPTIONAL_COLUMNS
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame = pd.DataFrame(rows)
    for column in ("customer_id", "model_version", "store_version"):
        if column in frame.columns:
            frame[column] = frame[column].where(frame[column].isna(), frame[column].astype(str))
    # ISO 8601 with or without fractional seconds (isoformat() drops them when they are zero)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601").dt.tz_localize(None)
    for column in OPTIONAL_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    frame["traffic"] = frame["traffic"].fillna(SHOP_TRAFFIC)
    frame["group"] = frame["group"].fillna("model")
    implied = frame["cold_start"].astype(bool).map({True: "popularity_fallback", False: "model"})
    frame["source"] = frame["source"].fillna(implied)
    frame["list"] = frame["list"].fillna(FOR_YOU_LIST)
    if traffic is not None:
        frame = frame[frame["traffic"] == traffic].reset_index(drop=True)
    if list_name is not None:
        frame = frame[frame["list"] == list_name].reset_index(drop=True)
    return frame[columns]
