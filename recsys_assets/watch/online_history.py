"""Read the online figures from the Dagster instance: the newest `online_metrics` materialization of each day."""

from dagster import DagsterInstance

from .online import ONLINE_ASSET

ONLINE_SCAN = 2_000  # online_metrics materializations scanned (newest first)


def online_days(instance: DagsterInstance, limit: int = ONLINE_SCAN) -> list[dict]:
    """One dict per materialized day (newest materialization wins): day, by_version rows, arm_counts."""
    days: dict[str, dict] = {}
    for record in instance.fetch_materializations(ONLINE_ASSET, limit=limit).records:
        metadata = record.asset_materialization.metadata
        if record.partition_key in days or "arm_counts" not in metadata or "by_version" not in metadata:
            continue
        days[record.partition_key] = {
            "day": record.partition_key,
            "by_version": metadata["by_version"].value,
            "arm_counts": metadata["arm_counts"].value,
        }
    return sorted(days.values(), key=lambda d: d["day"])
