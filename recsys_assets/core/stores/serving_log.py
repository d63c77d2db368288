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

Where the log lives is a `ServingLogLocation` (serving_log_location.py): a folder (local deployment; a path given
here means a folder) or append blobs in Azure Blob storage (dev / prod, where the API and the runs share no disk),
one blob per API process and hour; the functions below read and write either alike.

When the monitors find no serving to judge, `no_servings_reason` says why in words the data team can act on,
naming the folder (or container and prefix) and the days: the folder does not exist (in a deployment where the
API and the runs share no disk, the runs look at a folder the API never wrote), it holds no file for those days, or
the files hold no serving of the shop (empty, synthetic traffic only).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from .serving_log_location import SHARED_STORAGE_HINT, SYNTHETIC_FOLDER, ServingLogLocation, as_location

LOG_COLUMNS = ["ts", "customer_id", "model_version", "items", "cold_start", "target"]
# fields added later: absent from older lines, filled in by read_entries
OPTIONAL_COLUMNS = ["store_version", "group", "source", "traffic", "list", "query_product"]
FOR_YOU_LIST = "for_you"
SHOP_TRAFFIC = "shop"
# the request header that marks synthetic traffic (its value, e.g. "load-test", becomes the entry's `traffic`)
TRAFFIC_HEADER = "X-Recsys-Traffic"
GROUPS = ("model", "control")
SOURCES = ("model", "popularity_fallback", "control")


def log_file(log_dir: str | Path, day: dt.date) -> Path:
    return Path(log_dir) / f"{day.isoformat()}.jsonl"


__all__ = ["SHARED_STORAGE_HINT", "SYNTHETIC_FOLDER", "ServingLogLocation"]


def synthetic_dir(log_dir: str | Path) -> Path:
    """Where requests marked as synthetic traffic are logged (never read by the monitors)."""
    return Path(log_dir) / SYNTHETIC_FOLDER


def append_entries(log_dir: str | Path | ServingLogLocation, entries: Iterable[dict]) -> int:
    """Append entries (dicts with LOG_COLUMNS, optionally OPTIONAL_COLUMNS) to the day files (or the day and hour
    blobs) they belong to.

    Returns how many were written.
    """
    by_hour: dict[tuple[dt.date, int], list[str]] = {}
    for entry in entries:
        missing = [c for c in LOG_COLUMNS if c not in entry]
        if missing:
            raise ValueError(f"serving log entry lacks {missing}: {entry}")
        ts = pd.Timestamp(entry["ts"])
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC")
        fields = LOG_COLUMNS + [c for c in OPTIONAL_COLUMNS if entry.get(c) is not None]
        by_hour.setdefault((ts.date(), ts.hour), []).append(json.dumps({c: entry[c] for c in fields}))
    location = as_location(log_dir)
    for (day, hour), lines in by_hour.items():
        location.append(day, hour, "\n".join(lines) + "\n")
    return sum(len(lines) for lines in by_hour.values())


def json_lines(path: Path) -> Iterator[dict]:
    """The JSON objects of a JSON-lines file; a line that is not a whole object (a write cut short by a full disk or
    a killed writer) is skipped."""
    return text_json_lines(path.read_text(encoding="utf-8", errors="replace"))


def text_json_lines(text: str) -> Iterator[dict]:
    """The JSON objects of JSON-lines text, skipping lines that are not a whole object."""
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            yield entry


def day_files(
    log_dir: str | Path | ServingLogLocation, since: dt.date | None = None, until: dt.date | None = None
) -> list:
    """The day parts of the log (oldest first: day file paths of a folder, blob names in Blob storage) whose day
    lies in [since, until]; none when the folder (container) is absent."""
    return [
        part for day, part in as_location(log_dir).parts() if not ((since and day < since) or (until and day > until))
    ]


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
    location = as_location(log_dir)
    rows = []
    for part in day_files(location, since, until):
        entries = text_json_lines(location.read_text(part))
        rows.extend(entry for entry in entries if all(column in entry for column in LOG_COLUMNS))
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


def _days_label(since: dt.date | None, until: dt.date | None) -> str:
    if since is None and until is None:
        return ""
    if since == until:
        return f" for {since}"
    return f" for {since or '…'}..{until or '…'}"


def no_servings_reason(
    log_dir: str | Path | ServingLogLocation,
    since: dt.date | None = None,
    until: dt.date | None = None,
    list_name: str | None = FOR_YOU_LIST,
) -> str:
    """Why `read_entries(log_dir, since, until, list_name=list_name)` found no serving of the shop, naming the
    folder (or container and prefix) and the days (None: every day): the folder does not exist, it holds no day file
    for them, or their day files are empty or hold only synthetic traffic (or only other lists). Worded for the
    monitors' outcomes."""
    location = as_location(log_dir)
    where_log = location.describe()
    days = _days_label(since, until)
    if not location.exists():
        return f"no serving log: {where_log} does not exist ({location.hint})"
    files = day_files(location, since, until)
    if not files:
        others = day_files(location)
        if others:
            where = f"{where_log} holds no day file{days} (its newest is {location.label(others[-1])})"
        else:
            where = f"{where_log} holds no day file at all ({location.hint})"
        synthetic = location.synthetic()
        if day_files(synthetic, since, until):
            where += f"; only synthetic traffic was logged, under {synthetic.describe()}, which the monitors never read"
        return f"no servings logged{days}: {where}"
    names = ", ".join(location.label(part) for part in files)
    holds = "holds" if len(files) == 1 else "hold"
    entries = read_entries(location, since, until, traffic=None, list_name=None)
    if entries.empty:
        return f"no servings logged{days}: {names} in {where_log} {holds} no serving (empty, or only lines cut short)"
    shop = entries[entries["traffic"] == SHOP_TRAFFIC]
    if shop.empty:
        kinds = ", ".join(sorted(entries["traffic"].astype(str).unique()))
        return f"no servings logged{days}: {names} in {where_log} {holds} only synthetic traffic ({kinds})"
    lists = ", ".join(sorted(shop["list"].astype(str).unique()))
    return (
        f"no {list_name!r} servings logged{days}: {names} in {where_log} {holds} servings of other lists only ({lists})"
    )
