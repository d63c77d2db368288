"""Frames of daily partitions cached on disk, one file per partition and version (pure Python, no Dagster).

A version is whatever identifies the partition's content (the monitors use the storage id and timestamp of the
partition's latest materialization), so a re-materialized partition misses the cache and is read again. Files are
written atomically; a file that cannot be read is a miss (logged), never an error. `prune` keeps the folder
bounded to the partitions still wanted.
"""

from __future__ import annotations

import datetime as dt
import logging
import pickle
from pathlib import Path

import pandas as pd

from .files import write_atomically

logger = logging.getLogger(__name__)


def contiguous_spans(partitions: list[str]) -> list[tuple[str, str]]:
    """Runs of consecutive days among daily partition keys (ISO dates), as (first, last) pairs, oldest first.

    The partitions missing from a cache are read in one query per run instead of one per day or one over the
    whole window: ["06-01", "06-02", "06-05"] -> [("06-01", "06-02"), ("06-05", "06-05")].
    """
    spans: list[tuple[str, str]] = []
    for key in sorted(set(partitions)):
        day = dt.date.fromisoformat(key)
        if spans and dt.date.fromisoformat(spans[-1][1]) + dt.timedelta(days=1) == day:
            spans[-1] = (spans[-1][0], key)
        else:
            spans.append((key, key))
    return spans


def days_of(span: tuple[str, str]) -> list[str]:
    """The partition keys from span[0] to span[1], both included."""
    first, last = (dt.date.fromisoformat(key) for key in span)
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def _safe(version: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in str(version))


class PartitionFrameCache:
    """DataFrames keyed by (partition, version) as `<folder>/<partition>.<version>.pkl`."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def path(self, partition: str, version: str) -> Path:
        return self.folder / f"{partition}.{_safe(version)}.pkl"

    def entries(self) -> list[tuple[str, Path]]:
        """(partition, file) of every cached frame."""
        if not self.folder.exists():
            return []
        return [(path.name.split(".", 1)[0], path) for path in sorted(self.folder.glob("*.pkl"))]

    def load(self, partition: str, version: str) -> pd.DataFrame | None:
        """The cached frame of this partition version; None when absent or unreadable (then read it again)."""
        path = self.path(partition, version)
        if not path.exists():
            return None
        try:
            with path.open("rb") as handle:
                frame = pickle.load(handle)
            if not isinstance(frame, pd.DataFrame):
                raise ValueError(f"holds a {type(frame).__name__}, not a DataFrame")
            return frame
        except Exception as error:  # a damaged cache costs a read, never the caller's result
            logger.warning(f"partition cache {path} is unreadable ({type(error).__name__}: {error}); reading again")
            return None

    def save(self, partition: str, version: str, frame: pd.DataFrame) -> None:
        """Store the frame of this version and drop the partition's other versions."""
        path = write_atomically(self.path(partition, version), pickle.dumps(frame, pickle.HIGHEST_PROTOCOL))
        for key, other in self.entries():
            if key == partition and other != path:
                other.unlink(missing_ok=True)

    def prune(self, wanted: dict[str, str]) -> int:
        """Drop every file but the wanted (partition, version) pairs, except partitions newer than all wanted ones
        (another evaluation may already see them). Returns how many files were removed."""
        if not wanted:
            return 0
        keep = {self.path(partition, version) for partition, version in wanted.items()}
        newest = max(wanted)
        removed = 0
        for partition, path in self.entries():
            if path not in keep and partition <= newest:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
