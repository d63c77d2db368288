"""Serving what the asset graph published: the app of the configured deployment over a freshly materialized graph."""

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from recsys_assets.cli.local_run import materialize_graph
from recsys_assets.core.data.generator import GeneratorConfig, generate
from recsys_assets.serving.app import create_app
from recsys_assets.serving.serving_settings import ServingSettings
from tests.support.data import write_source

pytestmark = pytest.mark.slow


def test_served_lists_are_the_published_recommendations(recsys_home, instance, monkeypatch):
    data = generate(
        GeneratorConfig(customers=300, products=300, days=20, lines_per_day=300, seed=9, end_date=dt.date(2026, 6, 30))
    )
    write_source(data)
    run = materialize_graph("2026-06-11", "2026-06-30", instance=instance)
    lists = run.downstream.output_for_node("recommendations")
    published = run.downstream.output_for_node("published_recommendations")
    monkeypatch.setenv("RECSYS_API_KEY", "pipeline-key")
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
    assert (recsys_home / "serving_log").exists()
