"""Frames of daily partitions cached in a folder or Blob storage, one object per partition and version (no Dagster).

A version is whatever identifies the partition's content (the monitors use the storage id and timestamp of the
partition's latest materialization), so a re-materialized partition misses the cache and is read again. Entries are
written whole (state_location.py); one that cannot be read is a miss (logged), never an error. `prune` keeps the
cache bounded to the partitions still wanted.
"""

from __future__ import annotations

import datetime as dt
import logging
import pickle
from pathlib import Path

import pandas as pd

from .state_location import MissingState, StateLocation, as_state

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
    """DataFrames keyed by (partition, version) as `<partition>.<version>.pkl` in a folder or a state location
    (Blob storage in dev / prod). Two writers of one entry write the same frame (the version names the content)."""

    def __init__(self, folder: str | Path | StateLocation):
        self.location = as_state(folder)

    def name(self, partition: str, version: str) -> str:
        return f"{partition}.{_safe(version)}.pkl"

    def entries(self) -> list[tuple[str, str]]:
        """(partition, name) of every cached frame."""
        return [(name.split(".", 1)[0], name) for name in self.location.names() if name.endswith(".pkl")]

    def load(self, partition: str, version: str) -> pd.DataFrame | None:
        """The cached frame of this partition version; None when absent or unreadable (then read it again)."""
        name = self.name(partition, version)
        try:
            frame = pickle.loads(self.location.read_bytes(name))
            if not isinstance(frame, pd.DataFrame):
                raise ValueError(f"holds a {type(frame).__name__}, not a DataFrame")
            return frame
        except MissingState:
            return None
        except Exception as error:  # a damaged cache costs a read, never the caller's result
            label = self.location.label(name)
            logger.warning(f"partition cache {label} is unreadable ({type(error).__name__}: {error}); reading again")
            return None

    def save(self, partition: str, version: str, frame: pd.DataFrame) -> None:
        """Store the frame of this version and drop the partition's other versions."""
        name = self.name(partition, version)
        self.location.write_bytes(name, pickle.dumps(frame, pickle.HIGHEST_PROTOCOL))
        for key, other in self.entries():
            if key == partition and other != name:
                self.location.delete(other)

    def prune(self, wanted: dict[str, str]) -> int:
        """Drop every entry but the wanted (partition, version) pairs, except partitions newer than all wanted ones
        (another evaluation may already see them). Returns how many entries were removed."""
        if not wanted:
            return 0
        keep = {self.name(partition, version) for partition, version in wanted.items()}
        newest = max(wanted)
        removed = 0
        for partition, name in self.entries():
            if name not in keep and partition <= newest:
                self.location.delete(name)
                removed += 1
        return removed
