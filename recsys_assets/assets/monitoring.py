"""Monitoring assets: data drift, training/serving skew and prediction drift reports (Evidently HTML + JSON), and
the online metrics (what customers bought after being served; model against the control group).

Each materialization runs the same check the sensors run (`recsys_assets/watch/live_checks.py`) and links the
HTML report in its metadata. They are not part of `retrain_job`: they judge the live model (the one the store
serves), not a new one.
"""

import datetime as dt

import pandas as pd
from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    Config,
    Output,
    TimeWindowPartitionMapping,
    asset,
)
from pydantic import Field

from monitoring.online import OnlineSettings

from ..partitions import daily_partitions
from ..resources.monitoring import MonitoringResource
from ..resources.source import SourceDatabaseResource
from ..resources.stores import StoreResource
from ..watch.live_checks import run_data_drift, run_prediction_drift, run_serving_skew
from ..watch.online import online_metadata, run_online_metrics, write_day_file
from ..watch.results import add_to_workspace, outcome_metadata, outcome_summary, workspace_metadata


def _output(context: AssetExecutionContext, outcome) -> Output[dict]:
    if outcome.result is None:
        context.log.warning(f"{outcome.check}: no verdict: {outcome.skipped}")
    else:
        context.log.info(
            f"{outcome.check}: drifted={outcome.result.drifted} features={outcome.result.drifted_features} "
            f"report={outcome.files.html}"
        )
    return Output(outcome_summary(outcome), metadata=outcome_metadata(outcome))


# The master data flow in as inputs, as last materialized; while one was never materialized it loads as None
# (`allow_missing`, see resources/io_managers.py) and the check reads the source's table instead, as the sensors do.
MASTER_DATA_INS = {name: AssetIn(metadata={"allow_missing": True}) for name in ("products", "customers")}
# The checks judge the live model (the version the store serves, which the gate may have kept over the newest
# als_model) and read only the raw_orders days after its training window, cached per partition: no asset value
# or fixed partition mapping says which, so these stay dependencies; the data are read in watch/inputs.py.
LIVE_MODEL_DEPS = [AssetKey("als_model")]


@asset(
    group_name="monitoring",
    ins=MASTER_DATA_INS,
    deps=[*LIVE_MODEL_DEPS, AssetKey("raw_orders")],
    code_version="1",
)
def drift_report(
    context: AssetExecutionContext,
    products: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    source: SourceDatabaseResource,
    store: StoreResource,
    monitoring: MonitoringResource,
) -> Output[dict]:
    """Data drift of the raw_orders partitions newer than the live model against its training data."""
    database, served = source.database(), store.served_store()
    outcome = run_data_drift(context.instance, database, served, monitoring, products, customers)
    return _output(context, outcome)


@asset(group_name="monitoring", ins=MASTER_DATA_INS, deps=LIVE_MODEL_DEPS, code_version="1")
def skew_report(
    context: AssetExecutionContext,
    products: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    source: SourceDatabaseResource,
    store: StoreResource,
    monitoring: MonitoringResource,
) -> Output[dict]:
    """Training/serving skew: cold starts, inactive items served, who asks versus who the model learned from."""
    database, served = source.database(), store.served_store()
    outcome = run_serving_skew(context.instance, database, served, monitoring, products, customers)
    return _output(context, outcome)


# the two versions compared are read from the store the API serves (not from the value of the last publish run,
# which may have gone to another target)
@asset(group_name="monitoring", ins=MASTER_DATA_INS, deps=[AssetKey("published_recommendations")], code_version="1")
def prediction_drift_report(
    context: AssetExecutionContext,
    products: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    source: SourceDatabaseResource,
    store: StoreResource,
    monitoring: MonitoringResource,
) -> Output[dict]:
    """Drift of the recommended categories and item popularity between the live and the previous version."""
    database, served = source.database(), store.served_store()
    outcome = run_prediction_drift(context.instance, database, served, monitoring, products, customers)
    return _output(context, outcome)


class OnlineMetricsConfig(Config):
    attribution_days: int = Field(14, description="Orders up to N days after a serving are attributed to it.")
    alert_period_days: int = Field(28, description="Days pooled for the model-vs-control verdict and its alert.")
    min_exposures: int = Field(200, description="Exposures each arm needs in the period before a verdict.")
    min_lift: float = Field(
        0.0,
        description="Alert threshold: 'not_better' when the whole interval of the lift over control is at most this.",
    )
    confidence: float = Field(0.95, description="Level of the confidence intervals.")


@asset(
    group_name="monitoring",
    partitions_def=daily_partitions,
    # a day's servings are judged by the orders of that day and the attribution window after it; the window's
    # length is run config (attribution_days, up to any number of days) which a fixed partition mapping cannot
    # follow, so the lines are read from the source, restricted to the ingested raw_orders days (watch/online.py)
    deps=[
        AssetDep(
            "raw_orders",
            partition_mapping=TimeWindowPartitionMapping(
                start_offset=0, end_offset=14, allow_nonexistent_upstream_partitions=True
            ),
        )
    ],
    code_version="1",
)
def online_metrics(
    context: AssetExecutionContext,
    config: OnlineMetricsConfig,
    source: SourceDatabaseResource,
    monitoring: MonitoringResource,
) -> Output[dict]:
    """What customers bought after being served (serving log joined with later orders), per model version, store
    version and source; the lift of the model over the control group, for the day and the alert period."""
    settings = OnlineSettings(config.attribution_days, config.confidence, config.min_exposures, config.min_lift)
    day = context.partition_key
    result = run_online_metrics(
        context.instance, source.database(), monitoring.serving_log(), day, settings, config.alert_period_days
    )
    day_file = write_day_file(monitoring.reports_location(), result)
    metadata = online_metadata(result, day_file)
    figures = {k: v for k, v in metadata.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    noon = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(12))  # the figures describe the serving day
    labels = {"day": day, "verdict": result.period_lift.verdict}
    if result.no_servings:
        labels["no_servings"] = result.no_servings
    workspace = add_to_workspace(monitoring, "online_metrics", figures, labels, None, noon)
    period = f"period {result.period[0]}..{day}: {result.period_lift.verdict} ({result.period_lift.reason})"
    if result.no_servings:
        context.log.warning(f"online_metrics {day}: {result.no_servings}; {period}")
    else:
        context.log.info(f"online_metrics {day}: {result.servings} servings; {period}")
    return Output(result.summary(), metadata={**metadata, **workspace_metadata(workspace)})
