"""Serving what the asset graph published: the app of the configured deployment over a freshly materialized graph,
with the generated shop's business rules applied at publish and at serve time."""

import datetime as dt
import json
import time

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from recsys_assets.cli.local_run import materialize_graph
from recsys_assets.core.data.generator import GeneratorConfig, generate
from recsys_assets.core.data.schema import conform
from recsys_assets.core.rules.rule_lists import apply_to_lists
from recsys_assets.core.rules.rule_set import compile_rules
from recsys_assets.core.stores.rule_tables import read_rule_tables, write_generated_rules, write_rule_tables
from recsys_assets.core.stores.source_db import SourceDatabase
from recsys_assets.serving.app import create_app
from recsys_assets.serving.serving_settings import ServingSettings
from tests.support.data import metadata_of, write_source

pytestmark = pytest.mark.slow


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
    monkeypatch.setenv("RECSYS_ORDERS_KEY", "pipeline-orders-key")
    monkeypatch.setenv("RECSYS_REVIEW_KEY", "pipeline-review-key")
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
        check_fold_ins(client, headers, lists, data, source, instance, monkeypatch)
    assert (recsys_home / "serving_log").exists()


def served(client, headers, customer: str, list_name: str = "for_you") -> list[str]:
    body = client.get(f"/recommendations/{customer}?list={list_name}", headers=headers).json()
    return [item["product_id"] for item in body["items"]]


def modelled_item(client, headers, customer: str) -> str:
    """The customer's first served product that a campaign did not pin (a pinned product stays, bought or not)."""
    body = client.get(f"/recommendations/{customer}", headers=headers).json()
    return next(item["product_id"] for item in body["items"] if item["reason"] != "campaign")


def order_line(customer: str, product: str, order_id: str, minutes_ago: float = 1) -> dict:
    at = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=minutes_ago)
    return {
        "order_id": order_id, "line_no": 1, "order_ts": at.isoformat(), "customer_id": customer,
        "product_id": product, "quantity": 2.0, "unit_price": 9.5, "currency": "EUR",
    }  # fmt: skip


def few_products_customers(lists, data) -> list[str]:
    """Model-served customers who bought fewer than 8 products: a product they buy now is surely in buy again."""
    distinct = data.orders.groupby("customer_id")["product_id"].nunique()
    modelled = lists.loc[lists["source"] != "popularity_fallback", "customer_id"].unique()
    return [c for c in modelled if distinct.get(c, 99) < 8]


def check_fold_ins(client, headers, lists, data, source, instance, monkeypatch) -> None:
    """An order through each path (POST /events/orders, the source sensor's fold-in run) changes the customer's
    lists: the bought product leaves "for you" and enters "buy again"; a bad line is refused by name (422)."""
    from dagster import build_sensor_context

    from recsys_assets.jobs import fold_in_job
    from recsys_assets.resources import resources_for
    from recsys_assets.sensors.fold_in import fold_in_orders_sensor

    first, second, third = few_products_customers(lists, data)[:3]
    orders = {"X-API-Key": "pipeline-orders-key"}
    lines_before = source.count_rows("orders")
    bad = client.post("/events/orders", headers=orders, json={"lines": [order_line(first, "NO-SUCH-PRODUCT", "B1")]})
    assert bad.status_code == 422 and "unknown product_id 'NO-SUCH-PRODUCT'" in bad.json()["details"][0]["message"]
    assert source.count_rows("orders") == lines_before  # nothing recorded
    bought = modelled_item(client, headers, first)
    started = time.monotonic()
    answer = client.post("/events/orders", headers=orders, json={"lines": [order_line(first, bought, "API-1")]})
    assert answer.status_code == 200 and answer.json()["folded"] is True, answer.json()
    assert time.monotonic() - started < 2.0  # order -> list refreshed, through the API
    assert bought not in served(client, headers, first) and len(served(client, headers, first)) == 10
    assert bought in served(client, headers, first, "buy_again")
    fold_ins = client.get("/metrics", headers={"X-API-Key": "pipeline-review-key"}).json()["fold_ins"]
    assert fold_ins["this_process"]["customers_refreshed"] == 1 and fold_ins["customers_refreshed"] == 1
    assert fold_ins["pending_lines"] == 0 and fold_ins["oldest_pending_seconds"] == 0.0
    # the source sensor: its first tick replays what the live version does not know yet (the line above included)
    resources = resources_for("local")
    context = build_sensor_context(instance=instance, resources=resources)
    tick = fold_in_orders_sensor(context)
    assert tick.run_config["ops"]["fold_in_orders"]["config"]["replay"] is True
    assert fold_in_job.execute_in_process(run_config=tick.run_config, instance=instance, resources=resources).success
    assert bought not in served(client, headers, first)
    # lines written straight to the source: the next tick asks for a fold-in of exactly their customers
    products = {customer: modelled_item(client, headers, customer) for customer in (second, third)}
    lines = [order_line(customer, product, f"SRC-{customer}", 0.5) for customer, product in products.items()]
    source.write("orders", conform(pd.DataFrame(lines).assign(order_status="completed"), "orders", "test"), False)
    waiting = client.get("/metrics", headers={"X-API-Key": "pipeline-review-key"}).json()["fold_ins"]
    assert waiting["pending_lines"] == 2 and waiting["pending_customers"] == 2 and waiting["oldest_pending_seconds"] > 0
    monkeypatch.setenv("RECSYS_FOLD_IN_LAG_ALERT_SECONDS", "1")  # the lines above are 30 s old: behind
    ticks = fold_in_orders_sensor(build_sensor_context(instance=instance, cursor=context.cursor, resources=resources))
    assert [t.run_config["ops"]["fold_in_orders"]["config"]["customers"] for t in ticks] == [sorted(products)]
    assert fold_in_job.execute_in_process(
        run_config=ticks[0].run_config, instance=instance, resources=resources
    ).success
    caught_up = client.get("/metrics", headers={"X-API-Key": "pipeline-review-key"}).json()["fold_ins"]
    assert caught_up["pending_lines"] == 0 and caught_up["customers_refreshed"] == 3
    for customer, product in products.items():
        assert product not in served(client, headers, customer) and product in served(
            client, headers, customer, "buy_again"
        )


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
