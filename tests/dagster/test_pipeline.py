"""The whole asset graph, materialized in-process on a small generated dataset."""

import pytest

from recsys_assets.cli.local_run import materialize_graph
from recsys_assets.core.stores.source_db import SourceDataError
from recsys_assets.core.stores.store import LocalRecommendationStore
from tests.support.data import metadata_of

pytestmark = pytest.mark.slow


def test_whole_graph_beats_popularity_and_publishes(small_source, recsys_home, instance, small_data):
    run = materialize_graph(instance=instance)
    assert run.success
    assert run.partitions == ("2026-05-02", "2026-06-30")

    metrics = run.downstream.output_for_node("model_metrics")
    assert metrics["model"]["map"] > 1.5 * metrics["popularity"]["map"], metrics

    interactions = metadata_of(run.downstream, "interactions")
    assert interactions["dropped_cancelled"] > 0
    assert interactions["dropped_returned_or_credit"] > 0
    assert 0 < interactions["dropped_rows"] < interactions["input_rows"]

    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    published = run.downstream.output_for_node("published_recommendations")
    assert store.live_version() == published["version"]
    expected = run.downstream.output_for_node("recommendations")
    customer = expected["customer_id"].iloc[0]
    served = store.get(customer)
    assert served["product_id"].tolist() == expected.loc[expected["customer_id"] == customer, "product_id"].tolist()
    assert len(served) == 10
    # every master-data customer gets a list, only active products are recommended
    assert set(expected["customer_id"]) == set(small_data.customers["customer_id"])
    inactive = set(small_data.products.loc[~small_data.products["active"], "product_id"])
    assert not inactive & set(expected["product_id"])

    # buy again and related products: ranked as model_metrics chose, published in the same version
    buy_again = run.downstream.output_for_node("buy_again_lists")
    assert set(buy_again["source"]) == {metrics["buy_again"]["choice"]}
    assert metadata_of(run.downstream, "buy_again_lists")["ranking"] == metrics["buy_again"]["choice"]
    related = run.downstream.output_for_node("related_lists")
    als = metadata_of(run.downstream, "als_model")["winner_model"] == "als"  # similar needs ALS item factors
    assert set(related["list"]) == ({"bought_together", "similar"} if als else {"bought_together"})
    assert not inactive & (set(buy_again["product_id"]) | set(related["product_id"]))
    bought = set(zip(small_data.orders["customer_id"], small_data.orders["product_id"], strict=True))
    assert set(zip(buy_again["key"], buy_again["product_id"], strict=True)) <= bought  # bought before, every one
    info = store.versions()[0]
    assert info.version == published["version"]
    assert info.metadata["lists"]["buy_again"] == buy_again["key"].nunique() > 0
    stored = store.read_side_lists(published["version"])
    assert len(stored) == len(buy_again) + len(related)
    customer = buy_again["key"].iloc[0]
    assert [row[1] for row in store.get_side_list("buy_again", customer, published["version"])] == buy_again.loc[
        buy_again["key"] == customer, "product_id"
    ].tolist()


def test_bad_rows_are_dropped_and_counted(recsys_home, instance):
    import datetime as dt

    from recsys_assets.core.data.generator import GeneratorConfig, generate
    from tests.support.data import write_source

    data = generate(
        GeneratorConfig(
            customers=300,
            products=300,
            days=20,
            lines_per_day=300,
            seed=5,
            end_date=dt.date(2026, 6, 30),
            bad_data_rate=0.003,  # below the raw_orders suite's 1 % tolerance per class
        )
    )
    write_source(data)
    # this test is about cleaning: on so little data ALS need not beat popularity, so the model gate only asks
    # for a model that finds something (the gate itself is tested in test_checks.py)
    gate = {"ops": {"recommendations_model_gate": {"config": {"min_lift_over_popularity": 0.0}}}}
    run = materialize_graph("2026-06-11", "2026-06-30", instance=instance, run_config=gate)
    assert run.downstream.success
    meta = metadata_of(run.downstream, "interactions")
    for reason in ("duplicate_line", "missing_value", "unknown_customer", "unknown_product", "absurd_quantity"):
        assert meta[f"dropped_{reason}"] > 0, reason
    # the absurd quantities and the orphan credits never reach the interactions
    interactions = run.downstream.output_for_node("interactions")
    assert interactions["quantity"].max() <= 10_000
    assert (interactions["quantity"] > 0).all()


def test_missing_source_database_names_the_url(recsys_home, instance):
    with pytest.raises(SourceDataError, match=r"source database sqlite:///.*source\.db does not exist"):
        materialize_graph(instance=instance)


def test_missing_table_names_the_table(recsys_home, instance):
    import sqlalchemy as sa

    from recsys_assets.settings import local_source_url

    engine = sa.create_engine(local_source_url())
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE products (product_id TEXT)"))
    with pytest.raises(SourceDataError, match="has no table 'orders'"):
        materialize_graph(instance=instance)


def test_empty_orders_table_is_a_clear_error(recsys_home, instance, small_data):
    from tests.support.data import write_source

    empty = small_data.orders.iloc[:0]
    write_source(type(small_data)(orders=empty, products=small_data.products, customers=small_data.customers))
    with pytest.raises(ValueError, match="orders table of sqlite:///.* is empty"):
        materialize_graph(instance=instance)
