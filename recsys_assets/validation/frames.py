"""Frames and values the suites are validated on (pure pandas, no GX)."""

from __future__ import annotations

import pandas as pd

from ..core.data.schema import empty


def run_clock(as_of: str | None) -> pd.Timestamp:
    """The moment a run validates against, as a naive UTC timestamp (default: now)."""
    if as_of:
        stamp = pd.Timestamp(as_of)
        return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp
    return pd.Timestamp.now(tz="UTC").tz_localize(None)


# the key under which the source's future-dated lines join a batch (they belong to no daily partition)
FUTURE_PARTITION = "future"


def orders_batch(frames: dict[str, pd.DataFrame | None]) -> pd.DataFrame:
    """The order lines of several daily partitions as one frame, with each line's partition and day bounds.

    Adds `partition` (the key), `partition_start` and `partition_end` (the UTC day [start, end)), so a single GX
    validation checks every line against its own day. Lines under `FUTURE_PARTITION` are bounded by their own
    day (the suite judges them by the run's clock instead).
    """
    parts = []
    for key, frame in frames.items():
        if frame is None or len(frame) == 0:
            continue
        part = frame.copy(deep=False)
        part["partition"] = key
        if key == FUTURE_PARTITION:
            start = pd.to_datetime(part["order_ts"], errors="coerce").dt.normalize()
        else:
            start = pd.Timestamp(key)
        part["partition_start"] = start
        part["partition_end"] = start + pd.Timedelta(days=1)
        parts.append(part)
    if not parts:
        base = empty("orders")
        base["partition"] = pd.Series(dtype=object)
        base["partition_start"] = pd.Series(dtype="datetime64[ns]")
        base["partition_end"] = pd.Series(dtype="datetime64[ns]")
        return base
    return pd.concat(parts, ignore_index=True)


def failing_partitions(report, partition_keys: list[str]) -> list[str]:
    """The partitions a failed `raw_orders` report points at.

    Row-level failures name the partitions of their sampled rows (and of missing partitions); a failure of the
    table or of a column as a whole (missing column, wrong dtype, no rows) concerns every partition of the run.
    """
    if report.success:
        return []
    named: set[str] = set()
    for failure in report.failures:
        keys = {str(row.get("partition") or row.get("missing partition") or "") for row in failure.sample} - {""}
        if not keys:
            return sorted(partition_keys)
        named |= keys
    return sorted(named)
