"""The fold-in log: one JSON line per fold-in, next to the serving log and where it is (`fold_ins/` of its folder,
`<prefix>/fold_ins/` of its Blob container in dev / prod: the API pods and the run pods write it, the API and the
sensor read it, so it must be where all of them reach; core/stores/serving_log_location.py).

Each line: `ts` (ISO-8601 UTC), `path` (`api`, `sensor` or `replay`), `target`, `store_version`, `model_version`,
`customers` ({customer_id: the newest order line of theirs folded in, ISO-8601}), `seconds`. The serving log's
readers never read this folder (it holds no served list).

From it and the source's order lines, `pending` tells what is not folded in yet: the lines dated after the live
model's training data that are newer than the newest line folded in for their customer into the live version.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .serving_log import text_json_lines
from .serving_log_location import ServingLogLocation, as_location

FOLD_IN_FOLDER = "fold_ins"


def fold_in_log(serving_log: str | Path | ServingLogLocation) -> ServingLogLocation:
    """The fold-in log of a serving log (a folder or a location)."""
    return as_location(serving_log).child(FOLD_IN_FOLDER)


def append_fold_in(serving_log: str | Path | ServingLogLocation, entry: dict) -> None:
    """Append one fold-in entry (see the module docstring) to its UTC day and hour."""
    stamp = pd.Timestamp(entry["ts"])
    fold_in_log(serving_log).append(stamp.date(), stamp.hour, json.dumps(entry) + "\n")


def read_fold_ins(serving_log: str | Path | ServingLogLocation, since: dt.date | None = None) -> list[dict]:
    """The entries of the days from `since` on, oldest first; a line cut short (a killed writer) is skipped."""
    log = fold_in_log(serving_log)
    entries = []
    for day, part in log.parts():
        if since is not None and day < since:
            continue
        entries.extend(e for e in text_json_lines(log.read_text(part)) if isinstance(e.get("customers"), dict))
    return sorted(entries, key=lambda e: str(e.get("ts")))  # several writers' parts of a day: in time order


@dataclass(frozen=True)
class Pending:
    """Order lines not folded into the live version yet."""

    lines: int
    customers: int
    oldest_seconds: float  # how long the oldest of them has waited (0: none)
    folded_customers: int  # customers folded into the live version so far
    last_fold_at: str | None

    def as_dict(self) -> dict:
        return {
            "pending_lines": self.lines,
            "pending_customers": self.customers,
            "oldest_pending_seconds": round(self.oldest_seconds, 1),
            "customers_refreshed": self.folded_customers,
            "last_fold_at": self.last_fold_at,
        }


def pending(lines: pd.DataFrame, entries: list[dict], store_version: str, now: pd.Timestamp) -> Pending:
    """What of `lines` (the source's order lines dated after the live model's training data: customer_id, order_ts)
    is not folded into `store_version` according to the fold-in `entries`."""
    folded: dict[str, pd.Timestamp] = {}
    last = None
    for entry in entries:
        if entry.get("store_version") != store_version:
            continue
        last = entry.get("ts")
        for customer, newest in entry["customers"].items():
            stamp = pd.Timestamp(newest) if newest else pd.Timestamp.min
            folded[customer] = max(folded.get(customer, pd.Timestamp.min), stamp)
    if lines.empty:
        return Pending(0, 0, 0.0, len(folded), last)
    customers = lines["customer_id"].astype(str)
    done_until = customers.map(folded).fillna(pd.Timestamp.min)
    waiting = lines[pd.to_datetime(lines["order_ts"]).to_numpy() > pd.to_datetime(done_until).to_numpy()]
    if waiting.empty:
        return Pending(0, 0, 0.0, len(folded), last)
    oldest = max(0.0, (now - pd.Timestamp(waiting["order_ts"].min())).total_seconds())
    return Pending(len(waiting), int(waiting["customer_id"].nunique()), oldest, len(folded), last)
