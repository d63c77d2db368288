"""Jobs: ingest days of orders, retrain and republish from what is ingested, promote a dev version to prod, and
measure the online metrics of a serving day."""

from dagster import (
    AssetSelection,
    Config,
    Failure,
    MetadataValue,
    OpExecutionContext,
    Output,
    define_asset_job,
    in_process_executor,
    job,
    multiprocess_executor,
    op,
)
from pydantic import Field

from .core.lifecycle.order_fold_in import NoFoldIn, fold_customers, load_basis, replay
from .core.lifecycle.promotion import promote_version
from .core.stores.fold_in_log import append_fold_in
from .hooks import STEP_HOOKS
from .partitions import daily_partitions
from .resources.models import ModelRegistryResource
from .resources.monitoring import MonitoringResource
from .resources.source import SourceDatabaseResource
from .resources.stores import StoreResource
from .settings import retrain_executor
from .tags import CONCURRENCY_TAG, RETRAIN_CONCURRENCY, TARGET_TAG

RAW_ORDERS_SELECTION = AssetSelection.keys("raw_orders")
MASTER_DATA_SELECTION = AssetSelection.keys("products", "customers")
# the master data are read with the orders, so raw_orders_suite validates the day's ids against today's products
# and customers (in the same run, from the assets) and the monitors judge with the master data of the newest ingest
INGEST_SELECTION = RAW_ORDERS_SELECTION | MASTER_DATA_SELECTION
# the retraining reads the master data again: a retraining launched by hand, or after a backfill of raw_orders alone,
# cleans against the current ones. The monitoring group judges the live model; the drift/skew sensors request
# retraining, not the reverse
RETRAIN_SELECTION = AssetSelection.all() - RAW_ORDERS_SELECTION - AssetSelection.groups("monitoring")

ingest_job = define_asset_job(
    "ingest_job",
    selection=INGEST_SELECTION,
    partitions_def=daily_partitions,
    description="Read one day (or a range, as a single-run backfill) of orders, and the master data, from the "
    "source database.",
    executor_def=in_process_executor,
    hooks=STEP_HOOKS,
)


def graph_executor():
    """The executor of retrain_job and of the runs the UI starts (Materialize, backfills): by default the steps
    form a chain run in one process (a process per step costs a Python start-up and the libraries' import each:
    seconds per step); RECSYS_EXECUTOR=multiprocess fits the selection's candidates side by side."""
    name, max_concurrent = retrain_executor()
    if name == "multiprocess":
        return multiprocess_executor.configured({"max_concurrent": max_concurrent})
    return in_process_executor


retrain_job = define_asset_job(
    "retrain_job",
    selection=RETRAIN_SELECTION,
    description="Clean, split, train, evaluate, recommend and publish from the materialized raw_orders.",
    # one retraining at a time: the instance's run queue limits runs with this tag (instance/dagster.yaml)
    tags={CONCURRENCY_TAG: RETRAIN_CONCURRENCY},
    executor_def=graph_executor(),
    hooks=STEP_HOOKS,
)


online_job = define_asset_job(
    "online_job",
    selection=AssetSelection.keys("online_metrics"),
    partitions_def=daily_partitions,
    description="What customers bought after one day's servings, model against the control group (+ its check).",
    executor_def=in_process_executor,
)


class PromoteConfig(Config):
    version: str = Field(description="The dev version to make live in prod (see published_recommendations).")
    keep_versions: int = Field(3, description="Versions kept in the prod store (the live one included).")


@op
def promote_recommendations(context: OpExecutionContext, config: PromoteConfig, store: StoreResource) -> Output[dict]:
    """Copy `version` from the dev store to the prod store as it is (documents and explanations) and switch the
    prod pointer to it."""
    if not hasattr(store, "store_for") or getattr(store, "deployment", None) != "prod":
        raise Failure(
            f"promote_job copies dev to prod and runs in the prod deployment only "
            f"(RECSYS_DEPLOYMENT=prod); this code location uses {type(store).__name__}"
        )
    source, target = store.store_for("dev"), store.store_for("prod")
    context.log.info(f"promoting {config.version} from {source.describe()} to {target.describe()}")
    done = promote_version(source, target, config.version, config.keep_versions)
    return Output(
        {"version": done.version, "previous": done.previous, "store": done.target, "target": "prod"},
        metadata={
            "version": done.version,
            "previous_version": done.previous or "none",
            "source": done.source,
            "store": done.target,
            "target": "prod",
            "customers": done.customers,
            "rows": done.rows,
            "copied": done.copied,
            "versions_kept": MetadataValue.json([info.version for info in target.versions()]),
        },
    )


@job(tags={TARGET_TAG: "prod"}, description="Make a dev version of the recommendations live in prod.")
def promote_job():
    promote_recommendations()


class FoldInConfig(Config):
    customers: list[str] = Field(default_factory=list, description="Customers whose lists to rebuild.")
    replay: bool = Field(
        False, description="Fold every customer with order lines newer than the live model's training data instead."
    )


@op
def fold_in_orders(
    context: OpExecutionContext,
    config: FoldInConfig,
    store: StoreResource,
    models: ModelRegistryResource,
    source: SourceDatabaseResource,
    monitoring: MonitoringResource,
) -> Output[dict]:
    """Rebuild the lists of customers with new order lines with the live model and upsert them into the live store
    version (core/lifecycle/order_fold_in.py)."""
    target, registry, database = store.store(), models.registry(), source.database()
    try:
        if config.replay:
            report = replay(target, registry, database)
        else:
            report = fold_customers(load_basis(target, registry, database), target, database, config.customers)
    except NoFoldIn as error:
        raise Failure(f"fold_in_orders: {error}") from error
    context.log.info(f"fold_in_orders: {report.describe()} ({target.describe()})")
    if report.customers:
        path = "replay" if config.replay else "sensor"
        append_fold_in(monitoring.serving_log(), report.log_entry(path, store.target()))
    return Output(
        {"version": report.store_version, "customers": report.customers},
        metadata={
            "store_version": report.store_version,
            "customers_folded": report.customers,
            "replay": config.replay,
            "seconds": round(report.seconds, 3),
            "store": target.describe(),
        },
    )


@job(
    executor_def=in_process_executor,
    description="Fold new order lines into the live lists (the fold-in sensor starts it; see the docs: Fresh lists).",
)
def fold_in_job():
    fold_in_orders()


ALL_JOBS = [ingest_job, retrain_job, promote_job, online_job, fold_in_job]
