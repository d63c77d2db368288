"""Run the monitors (drift, skew, prediction drift) against the live model and write their reports.

Gathers the inputs (instance, source database, serving log, store), calls the Dagster-free `monitoring`
package and turns the outcome into asset metadata. Shared by the monitoring assets and the sensors, so a sensor
tick and a materialization from the UI give the same verdict on the same data.

Definitions (kept simple on purpose):
- live model: the model of the version the store serves (see `instance/live_model.py`), never a model the gate
  refused;
- reference: the source orders from `window_start` to `trained_until` — the data the live model learned from;
  its order features are computed once per model version and cached under <reports>/reference/;
- current: the materialized `raw_orders` partitions after the day of `trained_until` (the newest
  `max_current_days` of them), read from the source database. Their purchase lines are cached per partition
  under <reports>/current/raw_orders/, keyed by the partition's latest materialization, so a tick reads only the
  partitions materialized (or re-materialized) since the last one; the order features are computed from them on
  every evaluation (they depend on the model's reference profile and on the master data);
- master data: the `products` and `customers` assets as last materialized, loaded through the IO manager (the
  ingest run refreshes them); while one was never materialized, or for a caller without an IO manager, the
  source table is read instead (named in the metadata as `master_data`).

Every verdict is also added to the Evidently workspace (project `recsys`, monitoring/workspace.py): the report
snapshot and its figures, which the dashboard plots. A workspace that cannot be written (a remote `evidently ui`
that is down) costs the snapshot, not the verdict: the error is in the metadata and the log.
"""

import datetime as dt
import json
import logging
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from dagster import AssetKey, DagsterInstance, IOManager, MetadataValue, build_input_context

from monitoring.drift import DriftResult
from monitoring.features import (
    CATEGORICAL_FEATURES,
    NUMERICAL_FEATURES,
    ReferenceProfile,
    order_features,
    purchase_lines,
    reference_profile,
)
from monitoring.reports import ReportFiles, write_report

from ..core.stores.files import write_atomically
from ..core.stores.partition_cache import PartitionFrameCache, contiguous_spans, days_of
from ..core.stores.serving_log import read_entries
from ..core.stores.source_db import SourceDatabase
from ..instance.live_model import LiveModel, NoLiveModel, live_model, new_partitions, partition_versions
from ..resources.monitoring import MonitoringResource

logger = logging.getLogger(__name__)

DRIFT_CHECK = "data_drift"
SKEW_CHECK = "serving_skew"
PREDICTION_CHECK = "prediction_drift"
MASTER_DATA = ("products", "customers")


@dataclass
class CheckOutcome:
    """What one check evaluated and found; `skipped` says why there is no verdict (too little data)."""

    check: str
    model: LiveModel | None
    evaluated: list[str] = field(default_factory=list)
    result: DriftResult | None = None
    files: ReportFiles | None = None
    skipped: str | None = None
    workspace: dict = field(default_factory=dict)  # the Evidently snapshot ids and URL, or the error
    inputs: dict = field(default_factory=dict)  # where the inputs came from (master data, partitions read)

    @property
    def drifted(self) -> bool:
        return bool(self.result is not None and self.result.drifted)

    def reason(self, label: str) -> str:
        """Run tag value, e.g. 'drift: main_category, item_popularity' (bounded length)."""
        features = ", ".join(self.result.drifted_features) if self.result else ""
        return f"{label}: {features}"[:250]


def _load_asset(instance: DagsterInstance, io_manager: IOManager | None, name: str) -> pd.DataFrame | None:
    """The value of an unpartitioned asset's latest materialization, None when there is none to load."""
    key = AssetKey(name)
    if io_manager is None or instance.get_latest_materialization_event(key) is None:
        return None
    try:
        return io_manager.load_input(build_input_context(asset_key=key, instance=instance))
    except FileNotFoundError as error:  # a value the storage lost: judge with the source's table
        logger.warning(f"the {name} asset is materialized but its value cannot be loaded ({error})")
        return None


def master_data(
    instance: DagsterInstance, database: SourceDatabase, io_manager: IOManager | None
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(products, customers, where they came from): the assets as last materialized, the source table for one
    that was never materialized (or without an IO manager)."""
    frames, from_source = {}, []
    for name in MASTER_DATA:
        frames[name] = _load_asset(instance, io_manager, name)
        if frames[name] is None:
            from_source.append(name)
            frames[name] = database.read_master(name)
    origin = "assets" if not from_source else f"source database for {', '.join(from_source)} (no materialization)"
    return frames["products"], frames["customers"], origin


def reference_data(
    database: SourceDatabase, model: LiveModel, products: pd.DataFrame, customers: pd.DataFrame, folder: str
) -> tuple[pd.DataFrame, ReferenceProfile]:
    """Order features (leave-one-out) and profile of the live model's training data, cached per model version."""
    cache = Path(folder) / "reference" / f"{model.version}.pkl"
    if cache.exists():
        try:
            with cache.open("rb") as handle:
                return pickle.load(handle)
        except (EOFError, pickle.UnpicklingError, ValueError, AttributeError) as error:
            # written atomically since; an older half-written file is rebuilt, never a reason to stop monitoring
            logger.warning(f"drift reference cache {cache} is unreadable ({error}); rebuilding it")
    end = model.trained_until + pd.Timedelta(microseconds=1)
    lines = purchase_lines(database.read_orders(model.window_start.to_pydatetime(), end.to_pydatetime()))
    if lines.empty:
        raise ValueError(
            f"drift reference: no purchase line in the source orders from {model.window_start} to "
            f"{model.trained_until} (training window of model {model.version})"
        )
    profile = reference_profile(lines)
    features = order_features(lines, products, customers, profile, leave_one_out=True)
    write_atomically(cache, pickle.dumps((features, profile), pickle.HIGHEST_PROTOCOL))
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
    cache = PartitionFrameCache(Path(folder) / "current" / "raw_orders")
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
                except OSError as error:
                    logger.warning(f"drift current-data cache: cannot write {day} ({error}); read again next time")
    try:
        cache.prune({key: versions[key] for key in partitions if key in versions})
    except OSError as error:
        logger.warning(f"drift current-data cache: cannot prune {cache.folder} ({error})")
    return pd.concat([frames[key] for key in partitions], ignore_index=True), missing


def live_or_skipped(check: str, instance: DagsterInstance, store) -> LiveModel | CheckOutcome:
    """The model `store` serves, or the check's outcome saying why there is none to judge."""
    try:
        return live_model(instance, store)
    except NoLiveModel as error:
        return CheckOutcome(check, None, skipped=str(error))


def run_data_drift(
    instance: DagsterInstance,
    database: SourceDatabase,
    store,
    monitoring: MonitoringResource,
    io_manager: IOManager | None = None,
) -> CheckOutcome:
    """Data drift of the new raw_orders partitions against the training data of the model `store` serves."""
    from monitoring.drift import run_drift_check

    model = live_or_skipped(DRIFT_CHECK, instance, store)
    if isinstance(model, CheckOutcome):
        return model
    partitions = new_partitions(instance, model)[-monitoring.max_current_days :]
    outcome = CheckOutcome(DRIFT_CHECK, model, evaluated=partitions)
    if not partitions:
        outcome.skipped = f"no raw_orders partition materialized after {model.trained_until} (model {model.version})"
        return outcome
    products, customers, outcome.inputs["master_data"] = master_data(instance, database, io_manager)
    reference, profile = reference_data(database, model, products, customers, monitoring.reports_folder())
    lines, read = current_lines(instance, database, partitions, monitoring.reports_folder())
    outcome.inputs["partitions_read"] = len(read)
    current = order_features(lines, products, customers, profile)
    if len(current) < monitoring.min_current_orders:
        outcome.skipped = (
            f"only {len(current)} orders in raw_orders {partitions[0]}..{partitions[-1]}; "
            f"min_current_orders is {monitoring.min_current_orders}"
        )
        return outcome
    result, snapshot = run_drift_check(
        DRIFT_CHECK, reference, current, NUMERICAL_FEATURES, CATEGORICAL_FEATURES, monitoring.drift_thresholds()
    )
    result.extra.update(
        {
            "model_version": model.version,
            "reference_window": [str(model.window_start), str(model.trained_until)],
            "current_partitions": [partitions[0], partitions[-1]],
        }
    )
    return record(outcome, monitoring, result, snapshot)


def log_window(log_dir: str, days: int) -> tuple[list[str], int]:
    """The newest `days` serving-log day files (ISO dates) and the byte size of the newest one."""
    files = sorted(Path(log_dir).glob("*.jsonl")) if Path(log_dir).exists() else []
    chosen = [path for path in files[-days:]]
    return [path.stem for path in chosen], (chosen[-1].stat().st_size if chosen else 0)


def run_serving_skew(
    instance: DagsterInstance,
    database: SourceDatabase,
    store,
    monitoring: MonitoringResource,
    io_manager: IOManager | None = None,
) -> CheckOutcome:
    """Skew of the serving log's newest days against the training data of the model `store` serves."""
    from monitoring.skew import check_skew

    model = live_or_skipped(SKEW_CHECK, instance, store)
    if isinstance(model, CheckOutcome):
        return model
    days, _ = log_window(monitoring.log_folder(), monitoring.skew_window_days)
    outcome = CheckOutcome(SKEW_CHECK, model, evaluated=days)
    if not days:
        outcome.skipped = f"the serving log {monitoring.log_folder()} holds no day file"
        return outcome
    log = read_entries(monitoring.log_folder(), dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[-1]))
    if len(log) < monitoring.min_requests:
        outcome.skipped = (
            f"only {len(log)} logged requests in {days[0]}..{days[-1]}; min_requests is {monitoring.min_requests}"
        )
        return outcome
    products, customers, outcome.inputs["master_data"] = master_data(instance, database, io_manager)
    reference, profile = reference_data(database, model, products, customers, monitoring.reports_folder())
    result, snapshot = check_skew(log, reference, profile, products, customers, monitoring.skew_thresholds())
    result.extra.update({"model_version": model.version, "log_days": [days[0], days[-1]]})
    return record(outcome, monitoring, result, snapshot)


def run_prediction_drift(
    instance: DagsterInstance,
    database: SourceDatabase,
    store,
    monitoring: MonitoringResource,
    io_manager: IOManager | None = None,
) -> CheckOutcome:
    """Drift of what is recommended between the live and the previously published version of the store."""
    from monitoring.prediction_drift import check_prediction_drift

    model = live_or_skipped(PREDICTION_CHECK, instance, store)
    if isinstance(model, CheckOutcome):
        return model
    live = model.store_version
    older = [info.version for info in store.versions() if info.version != live]
    outcome = CheckOutcome(PREDICTION_CHECK, model, evaluated=[v for v in (older[:1] + [live]) if v])
    if not older:
        outcome.skipped = f"{store.describe()} holds no two published versions to compare (live: {live})"
        return outcome
    products, customers, outcome.inputs["master_data"] = master_data(instance, database, io_manager)
    _, profile = reference_data(database, model, products, customers, monitoring.reports_folder())
    result, snapshot = check_prediction_drift(
        store.read_version(older[0]),
        store.read_version(live),
        products,
        profile.product_orders,
        monitoring.drift_thresholds(),
    )
    result.extra.update({"previous_version": older[0], "live_version": live})
    return record(outcome, monitoring, result, snapshot)


def add_to_workspace(
    monitoring: MonitoringResource,
    check: str,
    figures: dict,
    metadata: dict,
    snapshot=None,
    timestamp: dt.datetime | None = None,
) -> dict:
    """Add a check run to the Evidently workspace; returns its ids and UI link, or {"error": ...}."""
    from monitoring.workspace import add_check_run, snapshot_url

    _, _, ui_url = monitoring.workspace_settings()
    try:
        ids = add_check_run(monitoring.workspace(), check, figures, metadata, snapshot, timestamp)
    except Exception as error:  # the verdict stands without its snapshot
        logger.warning("adding the %s run to the Evidently workspace failed: %s", check, error)
        return {"error": f"{type(error).__name__}: {error}"[:500]}
    shown = ids["report_id"] or ids["figures_id"]
    return {**ids, "url": snapshot_url(ui_url, ids["project_id"], shown)}


def check_figures(result: DriftResult) -> dict:
    """What the dashboard plots of a check: the drifted share, every feature's score, numeric extras."""
    extras = {k: v for k, v in result.extra.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    return {"drifted_share": result.drifted_share, **{f"score_{f.feature}": f.score for f in result.features}, **extras}


def record(outcome: CheckOutcome, monitoring: MonitoringResource, result: DriftResult, snapshot) -> CheckOutcome:
    """The verdict into the Evidently workspace, then into the report files (their JSON names the snapshot)."""
    metadata = {"model_version": outcome.model.version if outcome.model else None, "drifted": result.drifted}
    if outcome.model is not None:
        metadata["store_version"] = outcome.model.store_version
    outcome.workspace = add_to_workspace(monitoring, outcome.check, check_figures(result), metadata, snapshot)
    result.extra["evidently"] = outcome.workspace
    outcome.result = result
    outcome.files = write_report(monitoring.reports_folder(), outcome.check, result.as_dict(), snapshot)
    return outcome


def outcome_metadata(outcome: CheckOutcome) -> dict:
    """Asset metadata: links to the HTML report, a markdown summary, the share of drifted features."""
    if outcome.result is None:
        return {
            "drifted": False,
            "evaluated": MetadataValue.json(outcome.evaluated),
            "summary": MetadataValue.md(f"{outcome.check}: no verdict — {outcome.skipped}"),
        }
    result = outcome.result
    return {
        "drifted": result.drifted,
        "verdict": result.verdict,
        "drifted_features": MetadataValue.json(result.drifted_features),
        "drifted_share": float(round(result.drifted_share, 4)),
        "model_version": outcome.model.version if outcome.model else "none",
        "evaluated": MetadataValue.json(outcome.evaluated),
        **outcome.inputs,
        "reference_rows": result.reference_rows,
        "current_rows": result.current_rows,
        "report": MetadataValue.path(str(outcome.files.html)),
        "report_url": MetadataValue.url(outcome.files.url()),
        "summary_json": MetadataValue.path(str(outcome.files.json)),
        **workspace_metadata(outcome.workspace),
        "summary": MetadataValue.md(result.markdown()),
        **{f"score_{f.feature}": float(round(f.score, 6)) for f in result.features},
    }


def workspace_metadata(workspace: dict) -> dict:
    """Links to the run's snapshot in the Evidently UI (or why there is none)."""
    if "url" in workspace:
        return {
            "evidently_snapshot": MetadataValue.url(workspace["url"]),
            "evidently_snapshot_id": workspace["url"].rsplit("/", 1)[-1],
        }
    return {"evidently_error": workspace["error"]} if "error" in workspace else {}


def outcome_summary(outcome: CheckOutcome) -> dict:
    """The asset value: the JSON summary (or why there is none)."""
    if outcome.result is None:
        return {"check": outcome.check, "drifted": False, "skipped": outcome.skipped, "evaluated": outcome.evaluated}
    return json.loads(json.dumps({**outcome.result.as_dict(), "report_html": str(outcome.files.html)}, default=str))
