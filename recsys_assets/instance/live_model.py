"""The live model, as the monitors see it, read from the Dagster instance.

Kept simple on purpose: the live model is the latest `als_model` materialization (its `model_version` and
`trained_until` metadata) with the window of the `interactions` it was trained on (`window_start` metadata).
"""

from dataclasses import dataclass

import pandas as pd
from dagster import AssetKey, DagsterInstance

NO_MODEL_YET = "no als_model materialization yet: nothing to compare with"


@dataclass(frozen=True)
class LiveModel:
    version: str
    trained_until: pd.Timestamp
    window_start: pd.Timestamp

    def first_new_partition(self) -> str:
        return (self.trained_until.normalize() + pd.Timedelta(days=1)).strftime("%Y-%m-%d")


def _metadata_value(event, key: str):
    entry = event.asset_materialization.metadata.get(key) if event and event.asset_materialization else None
    return None if entry is None else entry.value


def live_model(instance: DagsterInstance) -> LiveModel | None:
    """The model the checks compare against, from the instance's latest materializations (None: no model yet)."""
    model_event = instance.get_latest_materialization_event(AssetKey("als_model"))
    version, trained_until = (
        _metadata_value(model_event, "model_version"),
        _metadata_value(model_event, "trained_until"),
    )
    if version is None or trained_until is None:
        return None
    window_start = _metadata_value(instance.get_latest_materialization_event(AssetKey("interactions")), "window_start")
    trained_until = pd.Timestamp(trained_until)
    start = pd.Timestamp(window_start) if window_start else trained_until.normalize() - pd.Timedelta(days=365)
    return LiveModel(version=str(version), trained_until=trained_until, window_start=start)


def new_partitions(instance: DagsterInstance, model: LiveModel) -> list[str]:
    """Materialized raw_orders partitions after the live model's training data, oldest first."""
    done = instance.get_materialized_partitions(AssetKey("raw_orders"))
    return sorted(key for key in done if key >= model.first_new_partition())
