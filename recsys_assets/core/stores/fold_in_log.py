"""The fold-in log: one JSON line per fold-in, next to the serving log (`<serving log dir>/fold_ins/YYYY-MM-DD.jsonl`).

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

from .serving_log import json_lines

FOLD_IN_FOLDER = "fold_ins"


def fold_in_dir(log_dir: str | Path) -> Path:
    return Path(log_dir) / FOLD_IN_FOLDER


def append_fold_in(log_dir: str | Path, entry: dict) -> None:
    """Append one fold-in entry (see the module docstring) to its UTC day's file."""
    folder = fold_in_dir(log_dir)
    folder.mkdir(parents=True, exist_ok=True)
    day = pd.Timestamp(entry["ts"]).date()
    with (folder / f"{day.isoformat()}.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


def read_fold_ins(log_dir: str | Path, since: dt.date | None = None) -> list[dict]:
    """The entries of the days from `since` on, oldest first; a line cut short (a killed writer) is skipped."""
    folder = fold_in_dir(log_dir)
    entries = []
    for path in sorted(folder.glob("*.jsonl")) if folder.exists() else []:
        if since is not None and dt.date.fromisoformat(path.stem) < since:
            continue
        entries.extend(entry for entry in json_lines(path) if isinstance(entry.get("customers"), dict))
    return entries


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
