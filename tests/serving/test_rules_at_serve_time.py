"""The business rules at serve time: a stock change between publish and serve takes the product out of the served
list, exactly as the publish-time code does on the new stock; a source that cannot be read leaves the API serving."""

from __future__ import annotations

import json
import time

import pandas as pd
import sqlalchemy as sa
from fastapi.testclient import TestClient

from recsys_assets.core.rules.rule_lists import apply_to_lists
from recsys_assets.core.rules.rule_set import compile_rules
from recsys_assets.core.stores.rule_tables import read_rule_tables, write_rule_tables
from recsys_assets.core.stores.source_db import SourceDatabase
from recsys_assets.core.stores.store import LocalRecommendationStore
from recsys_assets.serving.app import create_app
from recsys_assets.serving.serving_settings import ServingSettings
from tests.support.data import write_source
from tests.support.serving import lists_for, publish, tiny_data

KEY = "rules-key-0123456789"
HEADERS = {"X-API-Key": KEY}
REVIEW_KEY = "rules-review-key-0123456789"


def _wait_for(condition, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_stock_out_after_publish_leaves_the_served_list_as_publish_would(recsys_home, monkeypatch, tmp_path):
    data = tiny_data()
    url = write_source(data)
    source = SourceDatabase(url)
    products = data.products["product_id"].astype(str)
    write_rule_tables(source, {"stock": pd.DataFrame({"product_id": products, "available": 5.0})})
    settings_file = tmp_path / "list_rules.json"
    settings_file.write_text(json.dumps({"refresh_seconds": 0.1}))
    monkeypatch.setenv("RECSYS_RULES_FILE", str(settings_file))
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    published = lists_for(data)
    publish(store, published, "m1-rules", "m1")
    customer = data.customers["customer_id"].astype(str).iloc[0]
    own = published[published["customer_id"] == customer]
    settings = ServingSettings(stores={"local": store}, source=source, api_key=KEY, review_key=REVIEW_KEY)

    def served() -> list[str]:
        response = client.get(f"/recommendations/{customer}", headers=HEADERS)
        assert response.status_code == 200, response.text
        return [item["product_id"] for item in response.json()["items"]]

    with TestClient(create_app(settings)) as client:
        assert served() == own["product_id"].tolist()  # everything in stock: as published
        assert client.get("/health").json()["rules"] == "ok"
        gone = own["product_id"].iloc[1]
        write_rule_tables(
            source, {"stock": pd.DataFrame({"product_id": products, "available": (products != gone) * 5.0})}
        )
        now = _wait_for(lambda: gone not in (items := served()) and items)
        # the publish-time code on the new stock, over the same candidates, gives the same list
        segments = dict(zip(data.customers["customer_id"], data.customers["segment"], strict=True))
        rules = compile_rules(read_rule_tables(source), data.products, pd.Timestamp.now(tz="UTC").date())
        at_publish = apply_to_lists(own[["customer_id", "rank", "product_id", "score", "source"]], rules, segments, 10)
        assert now == at_publish.lists["product_id"].tolist() == [p for p in own["product_id"] if p != gone]
        why = client.get(f"/customers/{customer}/rules", headers={"X-API-Key": REVIEW_KEY}).json()
        assert [(r["product_id"], r["rule"], r["why"]) for r in why["removed"]] == [(gone, "stock", "out of stock")]
        assert why["applied"] == ["stock"] and why["status"] == "ok"
        assert why["served"] == now

        def unreachable(*_args, **_kwargs):
            raise sa.exc.OperationalError("SELECT", {}, Exception("connection refused"))

        monkeypatch.setattr("recsys_assets.serving.live_rules.read_rule_tables", unreachable)
        health = _wait_for(lambda: (body := client.get("/health").json())["rules"] == "stale" and body)
        assert health["status"] == "degraded"
        assert any("business rules cannot be read" in problem for problem in health["problems"])
        assert "connection refused" not in json.dumps(health)  # the error text stays in the server log
        assert served() == now  # still serving, with the last rules read


def test_the_load_tests_functional_check_accepts_what_the_rules_change(recsys_home, monkeypatch, tmp_path):
    from recsys_assets.cli.load_test import functional_check
    from tests.support.serving import app_server

    data = tiny_data()
    source = SourceDatabase(write_source(data))
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    published = lists_for(data)
    publish(store, published, "m1-rules", "m1")
    customer = data.customers["customer_id"].astype(str).iloc[0]
    stored = published.loc[published["customer_id"] == customer, "product_id"].tolist()
    write_rule_tables(source, {"stock": pd.DataFrame({"product_id": [stored[0]], "available": [0.0]})})
    settings = ServingSettings(stores={"local": store}, source=source, api_key=KEY, review_key=REVIEW_KEY)
    with app_server(create_app(settings)) as base:
        assert functional_check(base, KEY, customer, stored, "m1-rules", review_key=REVIEW_KEY) == []
        [problem] = functional_check(base, KEY, customer, stored[::-1], "m1-rules", review_key=REVIEW_KEY)
        assert f"served {stored[1:]}" in problem  # the out-of-stock product is not served


def test_the_side_lists_take_their_rules_at_serve_time_as_at_publish(recsys_home, monkeypatch, tmp_path):
    """A product out of stock since the publish leaves a customer's buy-again list and a product's related list,
    as the publish-time code (core/rules/side_lists.py) leaves it out on the new stock."""
    from recsys_assets.core.rules.side_lists import rule_side_lists
    from tests.support.serving import side_lists_for

    data = tiny_data()
    source = SourceDatabase(write_source(data))
    settings_file = tmp_path / "list_rules.json"
    settings_file.write_text(json.dumps({"refresh_seconds": 0.1}))
    monkeypatch.setenv("RECSYS_RULES_FILE", str(settings_file))
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    side = side_lists_for(data)
    publish(store, lists_for(data), "m1-rules", "m1", side_lists=side)
    buy_again = side[side["list"] == "buy_again"].groupby("key").filter(lambda group: len(group) >= 2)
    customer = buy_again["key"].iloc[0]
    own = buy_again[buy_again["key"] == customer]
    together = side[side["list"] == "bought_together"]
    product = together["key"].iloc[0]
    related = together[together["key"] == product]
    gone = {own["product_id"].iloc[0], related["product_id"].iloc[0]}
    write_rule_tables(source, {"stock": pd.DataFrame({"product_id": sorted(gone), "available": 0.0})})
    settings = ServingSettings(stores={"local": store}, source=source, api_key=KEY, review_key=REVIEW_KEY)
    with TestClient(create_app(settings)) as client:
        _wait_for(lambda: client.get("/health").json()["rules"] == "ok")
        again = client.get(f"/recommendations/{customer}?list=buy_again", headers=HEADERS).json()["items"]
        bought_with = client.get(f"/products/{product}/related", headers=HEADERS).json()["items"]
    rules = compile_rules(read_rule_tables(source), data.products, pd.Timestamp.now(tz="UTC").date())
    at_publish, removed = rule_side_lists(pd.concat([own, related]), rules, {}, 10)
    assert removed == {"stock": 2}
    assert [item["product_id"] for item in again] == at_publish.loc[
        at_publish["key"] == customer, "product_id"
    ].tolist()
    assert [item["product_id"] for item in bought_with] == at_publish.loc[
        at_publish["key"] == product, "product_id"
    ].tolist()
    assert not gone & {item["product_id"] for item in again + bought_with}
    assert [item["rank"] for item in again] == list(range(1, len(again) + 1))
