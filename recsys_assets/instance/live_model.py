"""The live model, as the monitors see it: the model of the version the store serves, read from the instance.

The store's live pointer names the published version; that version's metadata names its model
(`model_version`); the `als_model` materialization of that model version gives `trained_until`, and the
`interactions` materialization it was trained on (the newest one before it) gives `window_start`. A model the
gate refused is materialized but never published, so the monitors never judge it: they judge what customers
are served.
"""

from dataclasses import dataclass

import pandas as pd
from dagster import AssetKey, AssetRecordsFilter, DagsterInstance

NO_MODEL_YET = "nothing is published yet: no live model to compare with"
MODEL_SCAN = 200  # als_model materializations searched (newest first) for the live model version


class NoLiveModel(LookupError):
    """There is no live model to judge (nothing published, or its model is unknown to this instance)."""


@dataclass(frozen=True)
class LiveModel:
    version: str
    trained_until: pd.Timestamp
    window_start: pd.Timestamp
    store_version: str | None = None

    def first_new_partition(self) -> str:
        return (self.trained_until.normalize() + pd.Timedelta(days=1)).strftime("%Y-%m-%d")


def _metadata_value(record, key: str):
    materialization = record.asset_materialization if record is not None else None
    entry = materialization.metadata.get(key) if materialization is not None else None
    return None if entry is None else entry.value


def published_model_version(store) -> tuple[str, str]:
    """(store version, model version) of what `store` serves now; NoLiveModel when nothing is live."""
    live = store.live_version()
    if live is None:
        raise NoLiveModel(f"{NO_MODEL_YET} ({store.describe()} has no live version)")
    info = next((v for v in store.versions() if v.version == live), None)
    model_version = (info.metadata if info else {}).get("model_version")
    if not model_version:
        raise NoLiveModel(f"{store.describe()}: live version {live} names no model_version in its metadata")
    return live, str(model_version)


def model_materialization(instance: DagsterInstance, model_version: str):
    """The newest `als_model` materialization record of `model_version` (None when not among the newest scanned)."""
    records = instance.fetch_materializations(AssetKey("als_model"), limit=MODEL_SCAN).records
    return next((r for r in records if str(_metadata_value(r, "model_version")) == model_version), None)


def live_model(instance: DagsterInstance, store) -> LiveModel:
    """The model behind the store's live version (raises NoLiveModel, naming why, when there is none)."""
    store_version, version = published_model_version(store)
    record = model_materialization(instance, version)
    trained_until = _metadata_value(record, "trained_until")
    if record is None or trained_until is None:
        raise NoLiveModel(
            f"the live version {store_version} of {store.describe()} was published from model {version}, which "
            f"has no als_model materialization (with trained_until) among the newest {MODEL_SCAN} of this instance"
        )
    trained_on = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("interactions"), before_storage_id=record.storage_id), limit=1
    ).records
    window_start = _metadata_value(trained_on[0] if trained_on else None, "window_start")
    trained_until = pd.Timestamp(trained_until)
    start = pd.Timestamp(window_start) if window_start else trained_until.normalize() - pd.Timedelta(days=365)
    return LiveModel(version=version, trained_until=trained_until, window_start=start, store_version=store_version)


def new_partitions(instance: DagsterInstance, model: LiveModel) -> list[str]:
    """Materialized raw_orders partitions after the live model's training data, oldest first."""
    done = instance.get_materialized_partitions(AssetKey("raw_orders"))
    return sorted(key for key in done if key >= model.first_new_partition())


VERSION_PAGE = 500  # materialization records fetched per query when looking up partition versions


def partition_versions(instance: DagsterInstance, partitions: list[str], asset: str = "raw_orders") -> dict[str, str]:
    """The version of each partition's content: storage id and timestamp (ms) of its latest materialization.

    A re-materialized partition gets a new version (the timestamp guards against a storage id reused after the
    asset's records were wiped). Partitions without a materialization are left out.
    """
    wanted, versions, cursor = set(partitions), {}, None
    records_filter = AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=sorted(wanted))
    while wanted - versions.keys():
        result = instance.fetch_materializations(records_filter, limit=VERSION_PAGE, cursor=cursor)
        for record in result.records:  # newest first: the first record of a partition is its latest
            if record.partition_key in wanted and record.partition_key not in versions:
                versions[record.partition_key] = f"{record.storage_id}-{int(record.timestamp * 1000)}"
        if not result.has_more:
            break
        cursor = result.cursor
    return versions
