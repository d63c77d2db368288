"""Materialize the asset graph in this process (CLI and tests): the master data, the partition range in one run,
then the rest.

The same assets, checks and selections as the Definitions and the jobs (`ingest_job` as two runs, then
`retrain_job` but for the master data, which the first run has just read), against the persistent Dagster instance
that `make ui` shows. The master data get a run of their own because Dagster plans a materialization of every
asset of a partition-range run for each partition, unpartitioned ones included: a year's range with the master
data in it logged 1 095 planned events instead of 365 (1.3 s at 1 M order lines).

The runs go through `dagster.execute_job`, not `materialize`: `materialize` (execute_in_process) keeps every step's
output in memory until the run ends, for `output_for_node` — at 10 M order lines that held the raw orders, the
interactions, both splits and the lists at once (gigabytes). Here each output lives only while its steps run, and
`output_for_node` loads it back through the IO manager.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    JobDefinition,
    build_input_context,
    build_reconstructable_job,
    build_resources,
    define_asset_job,
    execute_job,
    in_process_executor,
    materialize,
)
from dagster import JobExecutionResult as DagsterJobResult

from ..assets import ALL_ASSETS
from ..checks import ALL_CHECKS
from ..core.faults import failpoint
from ..hooks import STEP_HOOKS
from ..jobs import INGEST_SELECTION, MASTER_DATA_SELECTION, RAW_ORDERS_SELECTION, RETRAIN_SELECTION
from ..partitions import PARTITIONS_START, PARTITIONS_START_SOURCE, daily_partitions
from ..resources import resources_for
from ..settings import current_deployment, dagster_home, source_url
from ..tags import RANGE_END_TAG, RANGE_START_TAG

INSTANCE_SETTINGS = Path(__file__).resolve().parents[1] / "instance" / "dagster.yaml"
# after the master data run and the ingest run: the rest of retrain_job (the master data were just read)
DOWNSTREAM_SELECTION = RETRAIN_SELECTION - MASTER_DATA_SELECTION
LOCAL_SELECTIONS = {
    "local_master_data": MASTER_DATA_SELECTION,
    "local_ingest": RAW_ORDERS_SELECTION,
    "local_downstream": DOWNSTREAM_SELECTION,
}


def local_job(name: str, deployment: str) -> JobDefinition:
    """One of the runs of `materialize_graph` as a job over the deployment's resources, executed in this process.

    Module-level so that `execute_job` can rebuild it from its name (`build_reconstructable_job`)."""
    job = define_asset_job(
        name,
        selection=LOCAL_SELECTIONS[name],
        partitions_def=daily_partitions if name == "local_ingest" else None,
        executor_def=in_process_executor,
        hooks=STEP_HOOKS,
    )
    definitions = Definitions(
        assets=ALL_ASSETS, asset_checks=ALL_CHECKS, jobs=[job], resources=resources_for(deployment)
    )
    return definitions.resolve_job_def(name)


class RunResult:
    """A finished run: Dagster's result (events, success, metadata), whose `output_for_node` loads an asset the run
    materialized back from the IO manager instead of holding every output in memory."""

    def __init__(self, result: DagsterJobResult, deployment: str, instance: DagsterInstance):
        self._result, self._deployment, self._instance = result, deployment, instance

    def __getattr__(self, name: str):
        return getattr(self._result, name)

    def output_for_node(self, asset: str):
        key = AssetKey(asset)
        if not any(event.asset_key == key for event in self._result.get_asset_materialization_events()):
            raise ValueError(f"run {self._result.run_id} did not materialize {asset}")
        with build_resources({"io_manager": resources_for(self._deployment)["io_manager"]}) as built:
            return built.io_manager.load_input(build_input_context(asset_key=key, instance=self._instance))


def run_local_job(
    name: str, deployment: str, instance: DagsterInstance, run_config: dict, tags: dict, raise_on_error: bool
) -> RunResult:
    job = build_reconstructable_job(__name__, local_job.__name__, reconstructable_args=(name, deployment))
    result = execute_job(job, instance=instance, run_config=run_config, tags=tags, raise_on_error=raise_on_error)
    return RunResult(result, deployment, instance)


@dataclass
class GraphRun:
    partitions: tuple[str, str]
    master_data: RunResult
    ingest: RunResult | None  # raw_orders over the partitions (after the master data succeeded)
    downstream: RunResult | None  # everything else (after the ingest succeeded)

    @property
    def runs(self) -> list[RunResult]:
        """The runs that were started, in order."""
        return [run for run in (self.master_data, self.ingest, self.downstream) if run is not None]

    @property
    def success(self) -> bool:
        return self.downstream is not None and all(run.success for run in self.runs)


def persistent_instance() -> DagsterInstance:
    """The Dagster instance that `make ui` shows (DAGSTER_HOME, default RECSYS_HOME/dagster)."""
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():  # the product's instance settings: no telemetry, one retraining at a time
        settings.write_text(INSTANCE_SETTINGS.read_text(encoding="utf-8"), encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return DagsterInstance.get()


def source_partition_range(resources: dict) -> tuple[str, str]:
    """First and last day holding order lines in the source database (lines dated after now are left out:
    they are counted and reported by raw_orders and raw_orders_suite), clipped to the partitions."""
    source = resources["source"].process_config_and_initialize()  # resolves EnvVar settings (dev / prod)
    now = pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime()
    span = source.database().order_time_range(until=now)
    if span is None:
        future = source.database().order_time_range()
        if future is not None:
            raise ValueError(
                f"every order line of {source.display_url()} is dated in the future ({future[0]} to {future[1]}): "
                "check the timestamps of the source"
            )
        raise ValueError(f"the orders table of {source.display_url()} is empty")
    keys = daily_partitions.get_partition_keys()
    if not keys:
        raise ValueError(f"no daily partition exists yet: the partitions start {PARTITIONS_START} is in the future")
    first = max(span[0].strftime("%Y-%m-%d"), keys[0])
    last = min(span[1].strftime("%Y-%m-%d"), keys[-1])
    if first > last:
        raise ValueError(
            f"the orders ({span[0].date()} to {span[1].date()}) lie outside the partitions {keys[0]} to {keys[-1]} "
            f"(start from {PARTITIONS_START_SOURCE}): unset RECSYS_PARTITIONS_START or set it to the first order day"
        )
    return first, last


def with_run_config_source(resources: dict, run_config: dict) -> dict:
    """`resources` with the `source` a run config sets (its url, table names and column mappings), so that the
    partition range is read from the tables the runs will read."""
    config = run_config.get("resources", {}).get("source", {}).get("config")
    if not config:
        return resources
    from ..resources.source import SourceDatabaseResource

    return {**resources, "source": SourceDatabaseResource(**config)}


def split_run_config(run_config: dict) -> tuple[dict, dict]:
    """One run config (the Launchpad's, for the whole graph) as the config of the ingest run (raw_orders and its
    checks) and of the downstream run: each run accepts config only for the steps it executes."""
    ops = run_config.get("ops", {})
    ingest_ops = {name: value for name, value in ops.items() if name.startswith("raw_orders")}
    shared = {key: value for key, value in run_config.items() if key != "ops"}
    downstream_ops = {name: value for name, value in ops.items() if name not in ingest_ops}
    return (
        {**shared, **({"ops": ingest_ops} if ingest_ops else {})},
        {**shared, **({"ops": downstream_ops} if downstream_ops else {})},
    )


def materialize_graph(
    start: str | None = None,
    end: str | None = None,
    run_config: dict | None = None,
    instance: DagsterInstance | None = None,
    deployment: str | None = None,
    tags: dict | None = None,
    raise_on_error: bool = True,
) -> GraphRun:
    """Materialize the master data, then raw_orders for [start, end] (default: the days with orders) in one run,
    then the rest, with the resources of `deployment` (default: RECSYS_DEPLOYMENT); a run starts only when the one
    before it succeeded."""
    deployment = deployment or current_deployment()
    instance = instance or persistent_instance()
    if start is None or end is None:
        first, last = source_partition_range(with_run_config_source(resources_for(deployment), run_config or {}))
        start, end = start or first, end or last
    pd.Timestamp(start), pd.Timestamp(end)  # fail early on a malformed date
    ingest_config, downstream_config = split_run_config(run_config or {})
    shared_config = {key: value for key, value in (run_config or {}).items() if key != "ops"}  # loggers, resources
    range_tags = {**(tags or {}), RANGE_START_TAG: start, RANGE_END_TAG: end}
    master_data = run_local_job("local_master_data", deployment, instance, shared_config, tags or {}, raise_on_error)
    ingest = downstream = None
    if master_data.success:
        ingest = run_local_job("local_ingest", deployment, instance, ingest_config, range_tags, raise_on_error)
    if ingest is not None and ingest.success:
        downstream = run_local_job(
            "local_downstream", deployment, instance, downstream_config, tags or {}, raise_on_error
        )
    return GraphRun(partitions=(start, end), master_data=master_data, ingest=ingest, downstream=downstream)


def forget_partitions(instance: DagsterInstance, resources: dict, asset: str = "raw_orders") -> int:
    """Remove every stored value of `asset`'s partitions (local data folder) and the asset's materialization records
    (`forget_replaced_orders`). Returns how many values were removed.

    The values go first, the records last: a kill in between leaves records older than the replacement, which the
    next command finds (`forget_stale_partitions`) and forgets again."""
    base_dir = getattr(resources.get("io_manager"), "base_dir", None)
    if base_dir is None:
        raise ValueError(
            f"removing {asset} partitions needs the local deployment's folder storage; this deployment stores asset "
            "values elsewhere"
        )
    folder = Path(base_dir, *AssetKey(asset).path)
    values = list(folder.iterdir()) if folder.is_dir() else []
    for path in values:
        path.unlink(missing_ok=True)
        failpoint("forget.partition")  # some stored values removed, the rest and the records not yet
    instance.wipe_assets([AssetKey(asset)])
    return len(values)


def forget_replaced_orders(url: str) -> str | None:
    """After `generate` or `import-orders` replaced the orders of the deployment's source database: the raw_orders
    values materialized from the old orders no longer describe it, and `interactions` would take those dated after
    the new last order day (a demo's newest days after a real export's) for the newest orders. Locally they are
    forgotten, so the next `recsys materialize` reads every day from the new orders. Returns what was done, for the
    user, or None when nothing had been read from this database."""
    if url != source_url():
        return None  # another database than the graph reads
    deployment = current_deployment()
    if deployment != "local":
        return (
            f"the raw_orders partitions of the {deployment} deployment were read from the previous orders: "
            "materialize raw_orders again over every partition (a backfill) before the next retrain"
        )
    instance = persistent_instance()
    done = instance.get_materialized_partitions(AssetKey("raw_orders"))
    if not done:
        return None
    return _forgot(done, forget_partitions(instance, resources_for(deployment)))


def forget_stale_partitions(instance: DagsterInstance, resources: dict) -> str | None:
    """Forget the raw_orders partitions when any was materialized before the source's orders were last replaced
    (`SourceDatabase.orders_replaced_at`, committed with the new tables); what was done, or None.

    Staleness is read from the data, not remembered by the command that replaced the orders: an import killed
    after its commit and before (or while) forgetting leaves the marker newer than the old partitions' records, and
    `recsys materialize` finishes the forgetting (as would the next replacing import or `generate`)."""
    source = resources["source"].process_config_and_initialize()
    replaced = source.database().orders_replaced_at()
    if replaced is None:
        return None  # nothing here ever replaced the orders (an ETL fills the source, or --append imports)
    oldest = instance.fetch_materializations(AssetKey("raw_orders"), limit=1, ascending=True).records
    if not oldest or oldest[0].timestamp >= replaced.timestamp():
        return None
    done = instance.get_materialized_partitions(AssetKey("raw_orders"))
    return _forgot(done, forget_partitions(instance, resources))


def _forgot(done: set[str], removed: int) -> str:
    return (
        f"forgot the {len(done)} raw_orders partitions read from the previous orders ({removed} stored values "
        "removed): `recsys materialize` reads every day from the new ones"
    )


def ingest_range(instance: DagsterInstance, resources: dict, first: str, last: str, run_config: dict | None = None):
    """Materialize raw_orders for [first, last] and the master data in one run (what the daily schedule does day by
    day)."""
    return materialize(
        ALL_ASSETS,
        selection=INGEST_SELECTION,
        instance=instance,
        resources=resources,
        tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
        run_config=run_config,
    )
