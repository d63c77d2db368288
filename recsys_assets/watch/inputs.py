"""What the drift, skew and prediction-drift checks read, gathered from the instance, the source database, the
serving log and the IO manager, with the caches that keep a sensor tick bounded.

Definitions (kept simple on purpose):
- live model: the model of the version the store serves (see `instance/live_model.py`), never a model the gate
  refused;
- reference: the source orders from `window_start` to `trained_until` — the data the live model learned from;
  its order features are computed once per model version and cached under <reports>/reference/ (the reports'
  location: a folder locally, Blob storage in dev / prod);
- current: the materialized `raw_orders` partitions after the day of `trained_until` (the newest
  `max_current_days` of them), read from the source database. Their purchase lines are cached per partition
  under <reports>/current/raw_orders/, keyed by the partition's latest materialization, so a tick reads only the
  partitions materialized (or re-materialized) since the last one; the order features are computed from them on
  every evaluation (they depend on the model's reference profile and on the master data);
- master data: the `products` and `customers` assets as last materialized — the assets' inputs, or loaded
  through the IO manager by the sensors (`stored_master_data`); while one was never materialized, the source
  table is read instead (named in the metadata as `master_data`).
"""

import logging
import pickle

import pandas as pd
from dagster import AssetKey, DagsterInstance, IOManager, build_input_context

from monitoring.features import ReferenceProfile, order_features, purchase_lines, reference_profile

from ..core.stores.partition_cache import PartitionFrameCache, contiguous_spans, days_of
from ..core.stores.serving_log_location import as_location
from ..core.stores.source_db import SourceDatabase
from ..core.stores.state_location import MissingState, as_state
from ..instance.live_model import LiveModel, partition_versions

logger = logging.getLogger(__name__)

MASTER_DATA = ("products", "customers")


def stored_master_data(
    instance: DagsterInstance, io_manager: IOManager | None
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """(products, customers) as last materialized, for a caller that has no asset inputs (a sensor); None for one
    never materialized (or whose value the storage lost), or for every one without an IO manager."""
    return tuple(_load_asset(instance, io_manager, name) for name in MASTER_DATA)


def _load_asset(instance: DagsterInstance, io_manager: IOManager | None, name: str) -> pd.DataFrame | None:
    key = AssetKey(name)
    if io_manager is None or instance.get_latest_materialization_event(key) is None:
        return None
    try:
        return io_manager.load_input(build_input_context(asset_key=key, instance=instance))
    except FileNotFoundError as error:  # a value the storage lost: judge with the source's table
        logger.warning(f"the {name} asset is materialized but its value cannot be loaded ({error})")
        return None


def master_data(
    database: SourceDatabase, products: pd.DataFrame | None, customers: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(products, customers, where they came from): the given frames, the source table for one that is None."""
    frames = {"products": products, "customers": customers}
    from_source = [name for name in MASTER_DATA if frames[name] is None]
    for name in from_source:
        frames[name] = database.read_master(name)
    origin = "assets" if not from_source else f"source database for {', '.join(from_source)} (no materialization)"
    return frames["products"], frames["customers"], origin


def reference_data(
    database: SourceDatabase, model: LiveModel, products: pd.DataFrame, customers: pd.DataFrame, folder
) -> tuple[pd.DataFrame, ReferenceProfile]:
    """Order features (leave-one-out) and profile of the live model's training data, cached per model version
    (`folder`: a folder or a state location). The version names the content: two monitors computing it at once
    write the same bytes, and each write is whole."""
    location = as_state(folder)
    cache = f"reference/{model.version}.pkl"
    try:
        return pickle.loads(location.read_bytes(cache))
    except MissingState:
        pass
    except (EOFError, pickle.UnpicklingError, ValueError, AttributeError) as error:
        # written whole since; an older half-written file is rebuilt, never a reason to stop monitoring
        logger.warning(f"drift reference cache {location.label(cache)} is unreadable ({error}); rebuilding it")
    end = model.trained_until + pd.Timedelta(microseconds=1)
    lines = purchase_lines(database.read_orders(model.window_start.to_pydatetime(), end.to_pydatetime()))
    if lines.empty:
        raise ValueError(
            f"drift reference: no purchase line in the source orders from {model.window_start} to "
            f"{model.trained_until} (training window of model {model.version})"
        )
    profile = reference_profile(lines)
    features = order_features(lines, products, customers, profile, leave_one_out=True)
    location.write_bytes(cache, pickle.dumps((features, profile), pickle.HIGHEST_PROTOCOL))
    return features, profile


def current_lines(
    instance: DagsterInstance, database: SourceDatabase, partitions: list[str], folder: str
) -> tuple[pd.DataFrame, list[str]]:
    """Purchase lines of the raw_orders `partitions`, and which of them were read from the source.

    Each partition's lines are cached under <folder>/current/raw_orders/ with the version of its latest
    materialization; the partitions without a valid cache entry are read, one query per run of consecutive days.
    Entries of partitions no longer in the window are dropped. A cache that cannot be read or written costs a read,
    never the verdict.
    """
    versions = partition_versions(instance, partitions)
    cache = PartitionFrameCache(as_state(folder).child("current/raw_orders"))
    frames = {key: cache.load(key, versions[key]) for key in partitions if key in versions}
    missing = [key for key in partitions if frames.get(key) is None]
    for span in contiguous_spans(missing):
        start, end = pd.Timestamp(span[0]), pd.Timestamp(span[1]) + pd.Timedelta(days=1)
        lines = purchase_lines(database.read_orders(start.to_pydatetime(), end.to_pydatetime()))
        day_of_line = lines["order_ts"].dt.floor("D")
        for day in days_of(span):
            frames[day] = lines[day_of_line == pd.Timestamp(day)].reset_index(drop=True)
            if day in versions:
                try:
                    cache.save(day, versions[day], frames[day])
                except Exception as error:  # a full disk, a Blob error: the next tick reads it again
                    logger.warning(f"drift current-data cache: cannot write {day} ({error}); read again next time")
    try:
        cache.prune({key: versions[key] for key in partitions if key in versions})
    except Exception as error:  # likewise: an unpruned entry costs storage, never the verdict
        logger.warning(f"drift current-data cache: cannot prune {cache.location.describe()} ({error})")
    return pd.concat([frames[key] for key in partitions], ignore_index=True), missing


def current_data(
    instance: DagsterInstance,
    database: SourceDatabase,
    partitions: list[str],
    products: pd.DataFrame,
    customers: pd.DataFrame,
    profile: ReferenceProfile,
    folder: str,
) -> tuple[pd.DataFrame, list[str]]:
    """Order features of the raw_orders `partitions` (scored against the live model's reference profile), and
    which partitions were read from the source."""
    lines, read = current_lines(instance, database, partitions, folder)
    return order_features(lines, products, customers, profile), read


def log_window(log_dir, days: int) -> tuple[list[str], int]:
    """The newest `days` serving-log days (ISO dates) and the byte size of the newest one (of all its parts: one
    blob per API process and hour in Blob storage). `log_dir`: a folder or a ServingLogLocation."""
    location = as_location(log_dir)
    parts = location.parts()
    chosen = sorted({day for day, _ in parts})[-days:]
    size = sum(location.size(part) for day, part in parts if chosen and day == chosen[-1])
    return [day.isoformat() for day in chosen], size
