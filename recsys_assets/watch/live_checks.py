"""Run the monitors (data drift, serving skew, prediction drift) against the live model and write their reports.

One function per check, used by the monitoring assets (master data from their inputs) and by the sensors (master
data loaded with `inputs.stored_master_data`), so a sensor tick and a materialization from the UI give the same
verdict on the same data. Each reads top to bottom: the inputs (`inputs.py`), one call into the Dagster-free
`monitoring` package for the verdict, the record of it (`results.py`).
"""

import datetime as dt

import pandas as pd
from dagster import DagsterInstance

from monitoring.features import CATEGORICAL_FEATURES, NUMERICAL_FEATURES
from monitoring.lists import SKEW_NUMBERS, list_numbers, list_skew

from ..core.stores.serving_log import no_servings_reason, read_entries
from ..core.stores.source_db import SourceDatabase
from ..instance.live_model import LiveModel, NoLiveModel, live_model, new_partitions
from ..resources.monitoring import MonitoringResource
from .inputs import current_data, log_window, master_data, reference_data
from .results import CheckOutcome, record

DRIFT_CHECK = "data_drift"
SKEW_CHECK = "serving_skew"
PREDICTION_CHECK = "prediction_drift"


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
    products: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
) -> CheckOutcome:
    """Data drift of the new raw_orders partitions against the training data of the model `store` serves.

    `products`/`customers`: the master data as last materialized; None reads the source's table."""
    from monitoring.drift import run_drift_check

    model = live_or_skipped(DRIFT_CHECK, instance, store)
    if isinstance(model, CheckOutcome):
        return model
    partitions = new_partitions(instance, model)[-monitoring.max_current_days :]
    outcome = CheckOutcome(DRIFT_CHECK, model, evaluated=partitions)
    if not partitions:
        outcome.skipped = f"no raw_orders partition materialized after {model.trained_until} (model {model.version})"
        return outcome
    products, customers, outcome.inputs["master_data"] = master_data(database, products, customers)
    folder = monitoring.reports_location()
    reference, profile = reference_data(database, model, products, customers, folder)
    current, read = current_data(instance, database, partitions, products, customers, profile, folder)
    outcome.inputs["partitions_read"] = len(read)
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


def run_serving_skew(
    instance: DagsterInstance,
    database: SourceDatabase,
    store,
    monitoring: MonitoringResource,
    products: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
) -> CheckOutcome:
    """Skew of the serving log's newest days against the training data of the model `store` serves."""
    from monitoring.skew import check_skew

    model = live_or_skipped(SKEW_CHECK, instance, store)
    if isinstance(model, CheckOutcome):
        return model
    folder = monitoring.serving_log()
    days, _ = log_window(folder, monitoring.skew_window_days)
    outcome = CheckOutcome(SKEW_CHECK, model, evaluated=days)
    if not days:  # no log at all: say where the check looked and why it may be empty
        outcome.skipped = no_servings_reason(folder)
        return outcome
    first, last = dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[-1])
    log = read_entries(folder, first, last)
    if log.empty:  # never "too few requests" for files that hold none of the shop's
        outcome.skipped = no_servings_reason(folder, first, last)
        return outcome
    if len(log) < monitoring.min_requests:
        outcome.skipped = (
            f"only {len(log)} logged requests in {days[0]}..{days[-1]}; min_requests is {monitoring.min_requests}"
        )
        return outcome
    products, customers, outcome.inputs["master_data"] = master_data(database, products, customers)
    reference, profile = reference_data(database, model, products, customers, monitoring.reports_location())
    result, snapshot = check_skew(log, reference, profile, products, customers, monitoring.skew_thresholds())
    result.extra.update({"model_version": model.version, "log_days": [days[0], days[-1]]})
    # the buy-again and related lists: reported per list next to the verdict, which stays the "for you" list's
    every_list = read_entries(folder, first, last, list_name=None)
    lists = list_skew(every_list, products, profile.product_orders.index)
    result.extra.update({"lists": lists, **list_numbers(lists, SKEW_NUMBERS)})
    return record(outcome, monitoring, result, snapshot)


def run_prediction_drift(
    instance: DagsterInstance,
    database: SourceDatabase,
    store,
    monitoring: MonitoringResource,
    products: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
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
    products, customers, outcome.inputs["master_data"] = master_data(database, products, customers)
    _, profile = reference_data(database, model, products, customers, monitoring.reports_location())
    result, snapshot = check_prediction_drift(
        store.read_version(older[0]),
        store.read_version(live),
        products,
        profile.product_orders,
        monitoring.drift_thresholds(),
    )
    result.extra.update({"previous_version": older[0], "live_version": live})
    return record(outcome, monitoring, result, snapshot)
