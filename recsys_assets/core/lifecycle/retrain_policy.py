"""When new order data should trigger a retraining: exactly once per batch of new `raw_orders` data.

Pure Python (no Dagster). The `retrain_after_ingest` sensor feeds it the `raw_orders` materializations it has
not looked at yet (after its cursor, oldest first), which of their runs have finished, when the last run that
rebuilt `interactions` started, and whether such a run is queued or running now. The rules:

- wait for a run that is still writing `raw_orders` to finish (a single-run backfill of 365 days emits 365
  materializations; they become one retraining, not 365, and not one per sensor tick);
- wait while a run that rebuilds `interactions` is queued or running (it may already consume the new data);
- data is consumed when a run that rebuilt `interactions` started after the data was written (or is the run
  that wrote it);
- otherwise request one retraining for everything new, with a run key derived from the newest event, so that
  the same data can never start two retrainings (Dagster drops a second request with the same run key).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class NewData:
    """One `raw_orders` materialization: event-log storage id, run, partition and time written (epoch s)."""

    storage_id: int
    run_id: str
    partition: str | None
    timestamp: float


@dataclass(frozen=True)
class RetrainDecision:
    action: str  # "request" | "skip" | "wait" | "idle"
    cursor: int | None  # the sensor's new cursor (the newest storage id handled)
    reason: str
    partitions: tuple[str, ...] = ()
    run_key: str | None = None


def decide_retrain(
    new_data: Sequence[NewData],
    finished_runs: Iterable[str],
    cursor: int | None,
    consumed_at: float | None,
    busy_run: str | None,
    consumer_run: str | None = None,
) -> RetrainDecision:
    """What the sensor does this tick (see the module docstring for the rules).

    `consumed_at`: start time of the newest run that materialized `interactions` (None if none did), and
    `consumer_run` its id (a run that materialized raw_orders and then interactions consumed its own data);
    `busy_run`: id of a queued or running run that will materialize `interactions` (None if there is none).
    """
    finished = set(finished_runs)
    ready: list[NewData] = []
    for record in sorted(new_data, key=lambda r: r.storage_id):
        if record.run_id not in finished:
            break
        ready.append(record)
    if not new_data:
        return RetrainDecision("idle", cursor, "no new raw_orders materialization")
    if not ready:
        first = min(new_data, key=lambda r: r.storage_id)
        return RetrainDecision("wait", cursor, f"run {first.run_id} is still materializing raw_orders")
    if busy_run is not None:
        return RetrainDecision("wait", cursor, f"run {busy_run} is already rebuilding interactions")
    newest = ready[-1].storage_id
    unconsumed = [r for r in ready if r.run_id != consumer_run and (consumed_at is None or r.timestamp >= consumed_at)]
    partitions = tuple(sorted({r.partition for r in unconsumed if r.partition is not None}))
    if not unconsumed:
        return RetrainDecision(
            "skip", newest, f"{len(ready)} new raw_orders materialization(s) already consumed by a later retraining"
        )
    span = f"{partitions[0]} to {partitions[-1]}" if partitions else "unpartitioned"
    return RetrainDecision(
        "request",
        newest,
        f"{len(unconsumed)} new raw_orders materialization(s), partitions {span}",
        partitions=partitions,
        run_key=f"raw_orders@{newest}",
    )
