"""Fold-ins and nightly publishes interleaved, on a real local store, source database and model registry: a fold-in
never mixes versions, and a publish that swaps the live version while a fold-in runs loses nothing."""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import pytest
from dagster import build_sensor_context

from recsys_assets.core.data.cleaning import CleaningRules, clean_orders
from recsys_assets.core.data.schema import conform
from recsys_assets.core.lifecycle.order_fold_in import fold_customers, load_basis, replay
from recsys_assets.core.modeling.artifact import ModelArtifact
from recsys_assets.core.modeling.candidates import TrainingConfig
from recsys_assets.core.modeling.fold_in import ListSettings, fold_in_lists
from recsys_assets.core.modeling.training import train
from recsys_assets.core.rules.rule_data import RuleTables
from recsys_assets.core.stores.mlflow_registry import open_registry
from recsys_assets.core.stores.source_db import SourceDatabase
from recsys_assets.core.stores.store import LocalRecommendationStore, StoreError
from recsys_assets.resources.models import ModelRegistryResource
from recsys_assets.resources.monitoring import MonitoringResource
from recsys_assets.resources.source import SourceDatabaseResource
from recsys_assets.resources.stores import LocalStoreResource
from recsys_assets.sensors.fold_in import fold_in_orders_sensor
from recsys_assets.settings import model_registry_settings
from tests.support.data import write_source
from tests.support.serving import tiny_data


class Shop:
    """A published version V1 of a kNN model's lists, the model in the registry, the orders in the source."""

    def __init__(self, home):
        self.data = tiny_data()
        self.source = SourceDatabase(write_source(self.data))
        interactions = clean_orders(
            self.data.orders, self.data.products, self.data.customers, CleaningRules(as_of=None)
        ).interactions
        model = train(interactions, TrainingConfig(model="item_knn"))
        self.registry = open_registry(**model_registry_settings("local"))  # MLflow, SQLite under the home
        self.registry.save(ModelArtifact("m1", "d1", model, model, window_start=interactions["order_ts"].min()))
        self.settings = ListSettings(trained_until=pd.Timestamp(model.trained_until).isoformat())
        self.registry.save_list_settings("m1", self.settings)
        customers = self.data.customers["customer_id"].astype(str).tolist()
        self.nightly = fold_in_lists(
            model, "m1", interactions, customers, self.data.products, self.data.customers, RuleTables(),
            self.settings, dt.date(2026, 7, 1),
        )  # fmt: skip
        self.store = LocalRecommendationStore(home / "store.sqlite")
        self.publish("V1")

    def publish(self, version: str, keep_versions: int = 3) -> None:
        """A nightly publish of the lists built before any new order line (what a run started earlier builds)."""
        self.store.publish(
            version, self.nightly.for_you, {"model_version": "m1"}, keep_versions, side_lists=self.nightly.buy_again
        )

    def customer_with_list(self, n: int) -> tuple[str, str]:
        lists = self.nightly.for_you
        customer = lists.loc[lists["source"] != "popularity_fallback", "customer_id"].unique()[n]
        return str(customer), str(lists.loc[lists["customer_id"] == customer, "product_id"].iloc[0])

    def order(self, customer: str, product: str, order_id: str) -> None:
        line = {
            "order_id": order_id, "line_no": 1, "order_ts": pd.Timestamp.now(tz="UTC").tz_localize(None),
            "customer_id": customer, "product_id": product, "quantity": 1.0, "unit_price": 3.0, "currency": "EUR",
            "order_status": "completed",
        }  # fmt: skip
        self.source.write("orders", conform(pd.DataFrame([line]), "orders", "test"), replace=False)

    def listed(self, customer: str, version: str) -> list[str]:
        return [item[1] for item in self.store.get_items(customer, version)]


@pytest.fixture
def shop(recsys_home):
    return Shop(recsys_home)


def test_a_publish_between_build_and_write_keeps_the_fold_in_in_its_version_and_replay_brings_it_over(shop):
    customer, product = shop.customer_with_list(0)
    shop.order(customer, product, "NEW-1")
    basis = load_basis(shop.store, shop.registry, shop.source)
    report = fold_customers(basis, shop.store, shop.source, [customer], before_write=lambda: shop.publish("V2"))
    assert report.store_version == "V1"  # written into the version live when it started, never into V2
    assert product not in shop.listed(customer, "V1")
    assert product in shop.listed(customer, "V2") and shop.store.live_version() == "V2"
    replayed = replay(shop.store, shop.registry, shop.source)
    assert replayed.store_version == "V2" and replayed.customers == 1
    assert product not in shop.listed(customer, "V2")


def test_a_fold_in_whose_version_was_pruned_meanwhile_writes_nothing_and_replay_folds_it_into_the_new_one(shop):
    customer, product = shop.customer_with_list(1)
    shop.order(customer, product, "NEW-2")
    basis = load_basis(shop.store, shop.registry, shop.source)
    with pytest.raises(StoreError, match="V1"):
        fold_customers(basis, shop.store, shop.source, [customer], before_write=lambda: shop.publish("V3", 1))
    assert [v.version for v in shop.store.versions()] == ["V3"]
    assert product in shop.listed(customer, "V3")  # not lost: the line is in the source
    replay(shop.store, shop.registry, shop.source)
    assert product not in shop.listed(customer, "V3")


def test_concurrent_fold_ins_of_one_customer_end_in_the_fold_of_their_whole_history(shop):
    customer, first = shop.customer_with_list(2)
    second = next(p for p in shop.listed(customer, "V1") if p != first)
    shop.order(customer, first, "NEW-3")
    shop.order(customer, second, "NEW-4")
    errors = []

    def fold():
        try:
            fold_customers(load_basis(shop.store, shop.registry, shop.source), shop.store, shop.source, [customer])
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=fold) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert not {first, second} & set(shop.listed(customer, "V1"))


def test_the_sensor_asks_for_a_replay_when_another_version_goes_live(shop, recsys_home):
    resources = {
        "store": LocalStoreResource(path=str(shop.store.path)),
        "source": SourceDatabaseResource(url=shop.source.url),
        "models": ModelRegistryResource(**model_registry_settings("local")),
        "monitoring": MonitoringResource(),
    }
    with build_sensor_context(resources=resources) as context:
        first = fold_in_orders_sensor(context)
        cursor = context.cursor
    assert first.run_key == "replay-V1"
    with build_sensor_context(resources=resources, cursor=cursor) as context:
        assert "no new order line" in fold_in_orders_sensor(context).skip_message
        cursor = context.cursor
    shop.publish("V4")
    with build_sensor_context(resources=resources, cursor=cursor) as context:
        again = fold_in_orders_sensor(context)
    assert again.run_key == "replay-V4" and again.run_config["ops"]["fold_in_orders"]["config"]["replay"] is True


def test_a_fold_in_through_the_basis_of_a_customer_without_new_lines_writes_their_published_lists_back(shop):
    customers = [shop.customer_with_list(n)[0] for n in range(5)]
    before = {c: shop.store.get_items(c, "V1") for c in customers}
    again_before = {c: shop.store.get_side_list("buy_again", c, "V1") for c in customers}
    basis = load_basis(shop.store, shop.registry, shop.source)
    assert fold_customers(basis, shop.store, shop.source, customers).customers == 5
    assert {c: shop.store.get_items(c, "V1") for c in customers} == before
    assert {c: shop.store.get_side_list("buy_again", c, "V1") for c in customers} == again_before
