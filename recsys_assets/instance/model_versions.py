"""Read the model registry from the Dagster instance: `als_model` materializations with their metrics."""

import datetime as dt

from dagster import AssetKey, DagsterInstance

from ..core.lifecycle.model_history import ModelVersion, join_versions

METRICS_SCAN = 500  # model_metrics materializations scanned to find the metrics of the listed versions


def _as_dicts(records) -> list[dict]:
    rows = []
    for record in records:
        metadata = {key: value.value for key, value in record.asset_materialization.metadata.items()}
        timestamp = dt.datetime.fromtimestamp(record.timestamp, dt.UTC).isoformat(timespec="seconds")
        rows.append({"metadata": metadata, "run_id": record.run_id, "timestamp": timestamp})
    return rows


def model_versions(instance: DagsterInstance, limit: int = 20) -> list[ModelVersion]:
    """The newest `limit` als_model materializations (newest first), each with its model_metrics metadata."""
    models = instance.fetch_materializations(AssetKey("als_model"), limit=limit).records
    metrics = instance.fetch_materializations(AssetKey("model_metrics"), limit=METRICS_SCAN).records
    return join_versions(_as_dicts(models), _as_dicts(metrics))
