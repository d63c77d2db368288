"""Serving what the asset graph published: the app of the configured deployment over a freshly materialized graph,
with the generated shop's business rules applied at publish and at serve time."""

import datetime as dt
import json
import time

import pytest
from fastapi.testclient import TestClient

from recsys_assets.cli.local_run import materialize_graph
from recsys_assets.core.data.generator import GeneratorConfig, generate
from recsys_assets.core.rules.rule_lists import apply_to_lists
from recsys_assets.core.rules.rule_set import compile_rules
from recsys_assets.core.stores.rule_tables import read_rule_tables, write_generated_rules, write_rule_tables
from recsys_assets.core.stores.source_db import SourceDatabase
from recsys_assets.resources import resources_for
from recsys_assets.serving.app import create_app
from recsys_assets.serving.serving_settings import ServingSettings
from tests.support.data import metadata_of, write_source
from tests.support.fold_ins import ORDERS_KEY, check_order_paths

pytestmark = pytest.mark.slow
REVIEW = {"X-API-Key": "pipeline-review-key"}


def test_served_lists_are_the_published_recommendations(recsys_home, instance, monkeypatch):
    data = generate(
        GeneratorConfig(customers=300, products=300, days=20, lines_per_day=300, seed=9, end_date=dt.date(2026, 6, 30))
    )
    source = SourceDatabase(write_source(data))
    write_generated_rules(source, dt.datetime.now(dt.UTC).date(), seed=9)  # campaigns run around the day given
    settings_file = recsys_home / "list_rules.json"
    settings_file.write_text(json.dumps({"max_per_category": 4, "refresh_seconds": 0.2}))
    monkeypatch.setenv("RECSYS_RULES_FILE", str(settings_file))
    run = materialize_graph("2026-06-11", "2026-06-30", instance=instance)
    lists = run.downstream.output_for_node("recommendations")
    published = run.downstream.output_for_node("published_recommendations")
    check_rules_at_publish(run, lists, data, source)
    monkeypatch.setenv("RECSYS_API_KEY", "pipeline-key")
    monkeypatch.setenv("RECSYS_ORDERS_KEY", ORDERS_KEY)
    monkeypatch.setenv("RECSYS_REVIEW_KEY", REVIEW["X-API-Key"])
    headers = {"X-API-Key": "pipeline-key"}
    with TestClient(create_app(ServingSettings.from_env())) as client:
        health = client.get("/health").json()
        assert health["targets"]["local"]["live_version"] == published["version"]
        products = data.products.set_index("product_id")
        cold = lists["source"] == "popularity_fallback"
        for is_cold in (False, True):  # a customer the selected model knows, then a cold start
            customer = lists.loc[cold == is_cold, "customer_id"].iloc[0]
            expected = lists[lists["customer_id"] == customer]
            body = client.get(f"/recommendations/{customer}", headers=headers).json()
            assert [i["product_id"] for i in body["items"]] == expected["product_id"].tolist()
            assert [i["name"] for i in body["items"]] == products.loc[expected["product_id"], "name"].tolist()
            assert body["model_version"] == expected["model_version"].iloc[0]
            assert body["store_version"] == published["version"]
            assert body["cold_start"] is is_cold and body["fallback"] is None
        unknown = client.get("/recommendations/NEVER-SEEN", headers=headers).json()
        assert unknown["fallback"] == "popularity"
        assert [i["product_id"] for i in unknown["items"]] == expected["product_id"].tolist()  # the cold-start list
        # a stock-out between publish and serve: the served list is what the publish-time code gives on the new stock
        customer = lists.loc[~cold, "customer_id"].iloc[0]
        own = lists[lists["customer_id"] == customer]
        gone = own["product_id"].iloc[0]
        stock = read_rule_tables(source).stock
        write_rule_tables(
            source, {"stock": stock.assign(available=stock["available"].where(stock["product_id"] != gone, 0))}
        )
        deadline, served = time.monotonic() + 15, None
        while time.monotonic() < deadline and (served is None or gone in served):
            served = [
                i["product_id"] for i in client.get(f"/recommendations/{customer}", headers=headers).json()["items"]
            ]
            time.sleep(0.05)
        rules = compile_rules(read_rule_tables(source), data.products, dt.datetime.now(dt.UTC).date())
        segments = dict(zip(data.customers["customer_id"], data.customers["segment"], strict=True))
        again = apply_to_lists(own[["customer_id", "rank", "product_id", "score", "source"]], rules, segments, 10)
        assert gone not in served and served == again.lists["product_id"].tolist() and len(served) == 10
        check_order_paths(client, headers, REVIEW, lists, data, source, instance, resources_for("local"), monkeypatch)
    assert (recsys_home / "serving_log").exists()


def check_rules_at_publish(run, lists, data, source) -> None:
    """The published lists keep the rules (no stock-out, no blocked product, contracts, the cap, the campaign pinned
    first), and model_metrics priced every rule with an interval."""
    assert run.success
    tables = read_rule_tables(source)
    out = set(tables.stock.loc[tables.stock["available"] <= 0, "product_id"])
    assert out and not out & set(lists["product_id"])
    segment = lists["customer_id"].map(dict(zip(data.customers["customer_id"], data.customers["segment"], strict=True)))
    blocked = tables.blocked_products
    own_blocks = blocked[blocked["customer_id"].notna()]
    by_customer = set(zip(own_blocks["customer_id"], own_blocks["product_id"], strict=True))
    assert not by_customer & set(zip(lists["customer_id"], lists["product_id"], strict=True))
    category = lists["product_id"].map(dict(zip(data.products["product_id"], data.products["category"], strict=True)))
    contract = tables.assortments
    for name, allowed in contract.groupby("segment")["category"]:
        assert category[segment == name].isin(set(allowed)).all(), name
    per_category = lists.assign(category=category).groupby(["customer_id", "category"]).size()
    assert (per_category > 4).mean() < 0.05  # the cap yields only where a contract leaves too few categories
    pinned = lists[lists["reason"] == "campaign"]
    assert len(pinned) and pinned["rank"].max() <= 2  # a 20 % share of 10 slots, first
    assert set(pinned["product_id"]) <= set(tables.campaigns["product_id"])
    metrics = metadata_of(run.downstream, "model_metrics")
    for rule in ("stock", "assortment", "blocked", "category_cap", "campaign", "all"):
        key = f"rule_{rule}_lead_map@10"
        assert metrics[f"{key}_low"] <= metrics[key] <= metrics[f"{key}_high"], rule
    assert "| campaign | applied |" in metrics["rules_summary"]
    publish = metadata_of(run.downstream, "recommendations")
    assert publish["rule_removed_stock"] > 0 and "out of stock" in publish["rule_removals"]
