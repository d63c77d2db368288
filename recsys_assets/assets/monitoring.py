"""Monitoring assets: data drift, training/serving skew and prediction drift reports (Evidently HTML + JSON).

Each materialization runs the same check the sensors run (`recsys_assets/monitor_runs.py`) and links the
HTML report in its metadata. They are not part of `retrain_job`: they judge the live model (the one the store
serves), not a new one.
"""

from dagster import AssetExecutionContext, AssetKey, Output, asset

from ..monitor_runs import (
    outcome_metadata,
    outcome_summary,
    run_data_drift,
    run_prediction_drift,
    run_serving_skew,
)
from ..resources.monitoring import MonitoringResource
from ..resources.source import SourceDatabaseResource
from ..resources.stores import StoreResource


def _output(context: AssetExecutionContext, outcome) -> Output[dict]:
    if outcome.result is None:
        context.log.warning(f"{outcome.check}: no verdict: {outcome.skipped}")
    else:
        context.log.info(
            f"{outcome.check}: drifted={outcome.result.drifted} features={outcome.result.drifted_features} "
            f"report={outcome.files.html}"
        )
    return Output(outcome_summary(outcome), metadata=outcome_metadata(outcome))


@asset(group_name="monitoring", deps=[AssetKey("als_model"), AssetKey("raw_orders")], code_version="1")
def drift_report(
    context: AssetExecutionContext,
    source: SourceDatabaseResource,
    store: StoreResource,
    monitoring: MonitoringResource,
) -> Output[dict]:
    """Data drift of the raw_orders partitions newer than the live model against its training data."""
    return _output(context, run_data_drift(context.instance, source.database(), store.served_store(), monitoring))


@asset(group_name="monitoring", deps=[AssetKey("als_model")], code_version="1")
def skew_report(
    context: AssetExecutionContext,
    source: SourceDatabaseResource,
    store: StoreResource,
    monitoring: MonitoringResource,
) -> Output[dict]:
    """Training/serving skew: cold starts, inactive items served, who asks versus who the model learned from."""
    return _output(context, run_serving_skew(context.instance, source.database(), store.served_store(), monitoring))


@asset(group_name="monitoring", deps=[AssetKey("published_recommendations")], code_version="1")
def prediction_drift_report(
    context: AssetExecutionContext,
    source: SourceDatabaseResource,
    store: StoreResource,
    monitoring: MonitoringResource,
) -> Output[dict]:
    """Drift of the recommended categories and item popularity between the live and the previous version."""
    return _output(context, run_prediction_drift(context.instance, source.database(), store.served_store(), monitoring))
