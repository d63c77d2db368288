"""The validation gates end to end through Dagster: bad data stops the run at the right check, a worse model is
refused, and the store keeps serving its live version."""

import numpy as np
import pandas as pd
import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance, materialize

from recsys_assets.assets import ALL_ASSETS
from recsys_assets.checks import ALL_CHECKS
from recsys_assets.checks.model_gate import model_gate
from recsys_assets.cli.local_run import materialize_graph
from recsys_assets.core.stores.store import LocalRecommendationStore
from recsys_assets.resources import resources_for
from tests.support.data import count_source_reads, metadata_of, write_source

pytestmark = pytest.mark.slow

DAY = "2026-06-29"  # a Monday of the small dataset (conftest SMALL ends 2026-06-30)
SHARE = 0.05  # bad lines injected per class: above the suites' 1 % tolerance


@pytest.fixture(scope="module")
def gated(tmp_path_factory, small_data, mlflow_tracking_server):
    """A home whose store already serves a champion published by a clean run (shared by the module's tests); its
    model registry is a real `mlflow server` (a registered model of its own): the gate loads the champion from it."""
    home = tmp_path_factory.mktemp("gates") / "recsys"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RECSYS_HOME", str(home))
        patch.setenv("DAGSTER_HOME", str(home / "dagster"))
        patch.setenv("MLFLOW_TRACKING_URI", mlflow_tracking_server.url)
        patch.setenv("RECSYS_MLFLOW_MODEL_NAME", f"recsys-gates-{home.parent.name}")
        patch.delenv("RECSYS_SOURCE_URL", raising=False)
        patch.delenv("RECSYS_DEPLOYMENT", raising=False)
        (home / "dagster").mkdir(parents=True)
        write_source(small_data)
        with DagsterInstance.ephemeral() as instance:
            run = materialize_graph(instance=instance)
            yield {"home": home, "instance": instance, "clean": run, "data": small_data}


def store_of(home) -> LocalRecommendationStore:
    return LocalRecommendationStore(home / "store.sqlite")


def check_evaluations(result) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def run_whole_graph(instance, day=DAY, run_config=None):
    """One run: the day's raw_orders and everything downstream (so a blocking check stops the rest of it)."""
    return materialize(
        [*ALL_ASSETS, *ALL_CHECKS],
        instance=instance,
        resources=resources_for("local"),
        partition_key=day,
        run_config=run_config,
        raise_on_error=False,
    )


def test_clean_run_passes_every_check(gated):
    run = gated["clean"]
    assert run.success
    evaluations = {name: e for result in run.runs for name, e in check_evaluations(result).items()}
    graph_checks = {  # every check but the online one (its asset, online_metrics, judges servings, not a run)
        key.name for check in ALL_CHECKS for key in check.check_keys if key.asset_key.path != ["online_metrics"]
    }
    assert set(evaluations) == graph_checks
    for name, evaluation in evaluations.items():
        assert evaluation.passed, (name, evaluation.description)
        assert evaluation.metadata  # every result carries its figures
    suite = evaluations["raw_orders_suite"].metadata
    assert suite["failed_expectations"].value == "none" and suite["evaluated_expectations"].value > 20
    gate = evaluations["model_gate"].metadata
    assert gate["verdict"].value == "accepted"
    assert "nothing is published yet" in gate["champion_note"].value  # first model: only the popularity condition
    assert gate["candidate_map@10"].value > gate["popularity_map@10"].value
    assert store_of(gated["home"]).live_version() is not None


def registry_state(registry) -> tuple:
    """The registered versions and every run of the registry's experiment, with their tags and last update."""
    runs = registry.client.search_runs([registry.experiment_id()])
    return registry.describe(), sorted((r.info.run_id, r.info.end_time, sorted(r.data.tags.items())) for r in runs)


def test_the_gate_only_judges_the_model_registered_by_recommendations(gated):
    """The model gate has no side effects: evaluating it again leaves the registry and the store as they were."""
    registry = resources_for("local")["models"].registry()
    store = store_of(gated["home"])
    candidate = gated["clean"].downstream.output_for_node("als_model").version
    assert candidate in registry.versions()  # registered by the recommendations step
    run = registry.client.get_run(registry.registered_version(candidate).run_id)  # MLflow: the run of the version
    assert run.data.tags["recsys.git_commit"] and run.data.tags["recsys.dagster_run_id"]
    assert run.data.metrics["model_map_at_10_low"] <= run.data.metrics["model_map_at_10"]
    assert {"model_map_at_10_high", "popularity_map_at_10", "lead_map_at_10_low"} <= set(run.data.metrics)
    assert registry.list_settings(candidate) is not None  # recorded by the same step, after the registration
    assert metadata_of(gated["clean"].downstream, "recommendations")["registered_model"] == candidate
    registry_before, store_before = registry_state(registry), (store.live_version(), store.versions())
    result = materialize(
        [*ALL_ASSETS, *ALL_CHECKS],
        selection=AssetSelection.checks(model_gate),
        instance=gated["instance"],
        resources=resources_for("local"),
    )
    assert result.success and check_evaluations(result)["model_gate"].passed
    assert registry_state(registry) == registry_before
    assert (store.live_version(), store.versions()) == store_before


def test_worse_model_is_refused_and_the_champion_keeps_serving(gated):
    store = store_of(gated["home"])
    live_before = store.live_version()
    champion = store.versions()[0].metadata["model_version"]
    result = materialize(
        [*ALL_ASSETS, *ALL_CHECKS],
        selection=AssetSelection.all() - AssetSelection.keys("raw_orders"),
        instance=gated["instance"],
        resources=resources_for("local"),
        run_config={"ops": {"als_model": {"config": {"select_model": False, "als": {"factors": 1, "iterations": 1}}}}},
        raise_on_error=False,
    )
    assert not result.success
    gate = check_evaluations(result)["model_gate"]
    assert not gate.passed
    meta = {key: value.value for key, value in gate.metadata.items()}
    assert meta["verdict"] == "refused"
    assert meta["champion_version"] == champion
    assert meta["champion_note"] == "scored on the candidate's hold-out"  # loaded from the MLflow registry
    registry = resources_for("local")["models"].registry()
    assert registry.tracking_uri.startswith("http://127.0.0.1:") and champion in registry.versions()
    assert meta["candidate_map@10"] < meta["champion_map@10"] * (1 - meta["tolerance"])
    assert "worse than the live champion" in gate.description
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert {"model_metrics", "recommendations"} <= materialized  # scored and listed, but never published
    assert "published_recommendations" not in materialized
    assert store.live_version() == live_before


def _pick(mask: np.ndarray, share: float, seed: int) -> np.ndarray:
    rows = np.flatnonzero(mask)
    return np.random.default_rng(seed).choice(rows, size=max(3, int(len(rows) * share)), replace=False)


def _null_ids(orders, day):
    orders.loc[_pick(day, SHARE, 1), "customer_id"] = None
    return orders


def _absurd_quantities(orders, day):
    picked = _pick(day, SHARE, 2)
    orders.loc[picked[::2], "quantity"] = 1e7
    orders.loc[picked[1::2], "quantity"] = -1e5
    return orders


def _unknown_product(orders, day):
    orders.loc[_pick(day, SHARE, 3), "product_id"] = "P_NOT_IN_CATALOGUE"
    return orders


def _unknown_customer(orders, day):
    orders.loc[_pick(day, SHARE, 4), "customer_id"] = "C_NOT_IN_MASTER_DATA"
    return orders


def _duplicated_lines(orders, day):
    return pd.concat([orders, orders.loc[_pick(day, SHARE, 5)]], ignore_index=True)


def _future_timestamps(orders, day):
    # the run validates as of DAY 20:00 (config as_of); these lines are stamped later that evening
    orders.loc[_pick(day, SHARE, 6), "order_ts"] = pd.Timestamp(f"{DAY} 23:00")
    return orders


def _missing_column(orders, day):
    return orders.drop(columns=["unit_price"])


def _wrong_dtype(orders, day):
    orders["quantity"] = orders["quantity"].astype(object)
    orders.loc[day, "quantity"] = orders.loc[day, "quantity"].map(lambda q: f"{q:g} pcs")
    return orders


def _empty_partition(orders, day):
    return orders[~day]


SUITE = "raw_orders_suite"
BAD_DATA = {
    "null_ids": (_null_ids, SUITE, "expect_column_values_to_not_be_null(customer_id)"),
    "absurd_quantities": (_absurd_quantities, SUITE, "expect_column_values_to_be_between(quantity)"),
    "unknown_product": (_unknown_product, SUITE, "expect_column_values_to_be_in_set(product_id)"),
    "unknown_customer": (_unknown_customer, SUITE, "expect_column_values_to_be_in_set(customer_id)"),
    "duplicated_lines": (_duplicated_lines, SUITE, "expect_compound_columns_to_be_unique(order_id, line_no)"),
    "future_timestamps": (_future_timestamps, SUITE, "expect_column_values_to_be_between(order_ts)"),
    "missing_column": (_missing_column, SUITE, "expect_column_to_exist(unit_price)"),
    "wrong_dtype": (_wrong_dtype, SUITE, "expect_column_values_to_be_of_type(quantity)"),
    # a Monday without a line: closed days are fine, but this one the shop always traded on
    "empty_trading_day": (_empty_partition, "raw_orders_volume", "not a single order line"),
}


@pytest.mark.parametrize("bad_class", list(BAD_DATA))
def test_bad_data_stops_the_run_at_raw_orders_checks(gated, bad_class):
    mutate, check, expected = BAD_DATA[bad_class]
    data = gated["data"]
    orders = data.orders.copy()
    day = (orders["order_ts"].dt.strftime("%Y-%m-%d") == DAY).to_numpy()
    bad = type(data)(orders=mutate(orders, day), products=data.products, customers=data.customers)
    write_source(bad)
    store = store_of(gated["home"])
    live_before = store.live_version()
    config = {"ops": {"raw_orders_raw_orders_suite": {"config": {"as_of": f"{DAY}T20:00:00"}}}}
    try:
        result = run_whole_graph(gated["instance"], run_config=config)
    finally:
        write_source(data)
    assert not result.success
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == check]
    assert not evaluation.passed
    if check == SUITE:
        failed = evaluation.metadata["failed_expectations"].value
        assert expected in failed, failed
        assert expected.split("(")[0] in evaluation.description
        assert DAY in evaluation.metadata["failing_partitions"].value
        assert "|" in evaluation.metadata["failures"].value  # the markdown table of failed expectations
    else:
        assert expected in evaluation.description and DAY in evaluation.description
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    # the source assets that do not depend on the orders (master data, business rules) still materialize
    assert materialized <= {AssetKey(name) for name in ("raw_orders", "products", "customers", "business_rules")}
    assert store.live_version() == live_before


def test_a_closed_day_is_not_an_incident(gated):
    """A Sunday without any order (the small dataset's shop rarely trades on Sundays) passes every check."""
    data = gated["data"]
    orders = data.orders.copy()
    sunday = "2026-06-28"
    orders = orders[orders["order_ts"].dt.strftime("%Y-%m-%d") != sunday]
    sundays = orders[orders["order_ts"].dt.dayofweek == 6]
    write_source(type(data)(orders=orders.drop(sundays.index), products=data.products, customers=data.customers))
    try:
        result = materialize(
            [*ALL_ASSETS, *ALL_CHECKS],
            selection=AssetSelection.keys("raw_orders"),
            instance=gated["instance"],
            resources=resources_for("local"),
            partition_key=sunday,
            raise_on_error=False,
        )
    finally:
        write_source(data)
    assert result.success
    checks = check_evaluations(result)
    assert checks["raw_orders_suite"].passed and checks["raw_orders_volume"].passed
    assert checks["raw_orders_volume"].metadata["closed_days"].value == 1


def test_a_half_loaded_day_warns_from_the_time_of_day(gated):
    """DAY's export cut off at noon (its afternoon orders missing): the volume check names the cut as a warning,
    the run goes on (a WARNING, not a blocking error)."""
    data = gated["data"]
    orders = data.orders
    afternoon = (orders["order_ts"].dt.strftime("%Y-%m-%d") == DAY) & (orders["order_ts"].dt.hour >= 12)
    assert afternoon.sum() > 20
    write_source(type(data)(orders=orders[~afternoon], products=data.products, customers=data.customers))
    try:
        result = _raw_orders_only(gated["instance"])
    finally:
        write_source(data)
    assert result.success
    volume = check_evaluations(result)["raw_orders_volume"]
    assert not volume.passed and volume.severity.value == "WARN"
    assert "the export looks cut off at 11:" in volume.description and DAY in volume.description
    assert "truncated" in volume.metadata["findings_table"].value


def _with_customer(data, customer_id: str, in_master: bool):
    """The data with SHARE of DAY's lines ordered by `customer_id`, a customer the master table holds or not."""
    orders = data.orders.copy()
    day = (orders["order_ts"].dt.strftime("%Y-%m-%d") == DAY).to_numpy()
    orders.loc[_pick(day, SHARE, 7), "customer_id"] = customer_id
    customers = data.customers
    if in_master:
        customers = pd.concat([customers, customers.head(1).assign(customer_id=customer_id)], ignore_index=True)
    return type(data)(orders=orders, products=data.products, customers=customers)


def _raw_orders_only(instance, day=DAY):
    config = {"ops": {"raw_orders_raw_orders_suite": {"config": {"as_of": f"{DAY}T20:00:00"}}}}
    return materialize(
        [*ALL_ASSETS, *ALL_CHECKS],
        selection=AssetSelection.keys("raw_orders"),
        instance=instance,
        resources=resources_for("local"),
        partition_key=day,
        run_config=config,
        raise_on_error=False,
    )


def test_raw_orders_suite_validates_against_the_master_data_assets(gated, monkeypatch):
    """A run of raw_orders alone (a UI backfill) validates against the customers asset, not the source's table."""
    data, instance = gated["data"], gated["instance"]
    customers_only = AssetSelection.keys("customers")
    try:
        # known to the customers asset, since deleted from the source's table: the asset's ids count
        write_source(_with_customer(data, "C_ONLY_IN_ASSET", in_master=True))
        materialize([*ALL_ASSETS, *ALL_CHECKS], selection=customers_only, instance=instance, resources=resources_for())
        write_source(_with_customer(data, "C_ONLY_IN_ASSET", in_master=False))
        reads = count_source_reads(monkeypatch)
        kept = check_evaluations(_raw_orders_only(instance))[SUITE]
        assert kept.passed, kept.description
        assert kept.metadata["master_data"].value == "assets" and reads["master"] == []
        # new in the source's table, not yet in the asset: unknown until the master data are ingested
        write_source(_with_customer(data, "C_ONLY_IN_SOURCE", in_master=True))
        unknown = check_evaluations(_raw_orders_only(instance))[SUITE]
        assert not unknown.passed
        assert "expect_column_values_to_be_in_set(customer_id)" in unknown.metadata["failed_expectations"].value
    finally:
        write_source(data)
        materialize([*ALL_ASSETS, *ALL_CHECKS], selection=customers_only, instance=instance, resources=resources_for())


def test_raw_orders_suite_reads_the_source_while_the_master_data_were_never_materialized(gated, tmp_path, monkeypatch):
    """A first run of raw_orders alone on a fresh home: the suite falls back to the source's tables (and says so)."""
    home = tmp_path / "fresh"
    monkeypatch.setenv("RECSYS_HOME", str(home))
    write_source(gated["data"])
    reads = count_source_reads(monkeypatch)
    with DagsterInstance.ephemeral() as instance:
        result = _raw_orders_only(instance)
    suite = check_evaluations(result)[SUITE]
    assert result.success and suite.passed, suite.description
    assert suite.metadata["master_data"].value == "source database for customers, products (not materialized yet)"
    assert sorted(reads["master"]) == ["customers", "products"]
