"""Buy again and related products over HTTP: served from the live version, explained, logged per list; versions
published before those lists existed answer a clear 404."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from recsys_assets.core.stores.serving_log import read_entries
from recsys_assets.core.stores.source_db import SourceDatabase
from recsys_assets.core.stores.store import LocalRecommendationStore
from recsys_assets.serving.app import create_app
from recsys_assets.serving.serving_settings import ServingSettings
from tests.support.data import write_source
from tests.support.serving import lists_for, side_lists_for, tiny_data

KEY = "test-key-0123456789"
HEADERS = {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def data():
    return tiny_data()


@pytest.fixture(scope="module")
def side(data):
    return side_lists_for(data)


def serve(recsys_home, data, store):
    settings = ServingSettings(
        stores={"local": store},
        source=SourceDatabase(write_source(data)),
        api_key=KEY,
        log_dir=recsys_home / "serving_log",
        refresh_seconds=0.05,
    )
    return TestClient(create_app(settings))


def test_buy_again_and_related_lists_are_served_explained_and_logged(recsys_home, data, side):
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    store.publish("m1-aaaa", lists_for(data), {"model_version": "m1"}, side_lists=side)
    buy_again = side[side["list"] == "buy_again"]
    customer = buy_again["key"].iloc[0]
    expected = buy_again[buy_again["key"] == customer]
    products = data.products.set_index("product_id")
    with serve(recsys_home, data, store) as client:
        body = client.get(f"/recommendations/{customer}", params={"list": "buy_again"}, headers=HEADERS).json()
        assert body["list"] == "buy_again" and body["store_version"] == "m1-aaaa" and body["model_version"] == "m1"
        assert [i["product_id"] for i in body["items"]] == expected["product_id"].tolist()
        assert [i["explanation"] for i in body["items"]] == expected["explanation"].tolist()
        assert [i["name"] for i in body["items"]] == products.loc[expected["product_id"], "name"].tolist()
        assert body["items"][0]["explanation"].startswith(("you buy this every ~", "you bought this once, "))
        assert {i["source"] for i in body["items"]} == {"buy_again"} and body["cold_start"] is False
        # the default list is still "for you", now saying so
        default = client.get(f"/recommendations/{customer}", headers=HEADERS).json()
        assert default["list"] == "for_you" and default["items"] and default["items"][0]["explanation"] is None
        # a customer who bought nothing gets an empty buy-again list, not an error
        empty = client.get("/recommendations/NEW-CUSTOMER", params={"list": "buy_again"}, headers=HEADERS).json()
        assert empty["items"] == [] and empty["cold_start"] is True

        together = side[(side["list"] == "bought_together")]
        product = together.loc[together["source"] == "bought_together", "key"].iloc[0]
        rows = together[together["key"] == product]
        answer = client.get(f"/products/{product}/related", params={"k": 3}, headers=HEADERS)
        assert answer.status_code == 200, answer.text
        related = answer.json()
        assert related["kind"] == "bought_together" and related["k"] == 3
        assert related["name"] == products.loc[product, "name"]
        assert [i["product_id"] for i in related["items"]] == rows["product_id"].head(3).tolist()
        name = products.loc[product, "name"]
        assert related["items"][0]["explanation"].startswith(f"bought together with {name} in ")
        similar = client.get(f"/products/{product}/related", params={"kind": "similar"}, headers=HEADERS).json()
        assert similar["kind"] == "similar" and len(similar["items"]) == 5
        assert product not in [i["product_id"] for i in similar["items"]]

        # unknown list or kind: 422 naming the allowed values; unknown product: 404 naming it
        wrong = client.get(f"/recommendations/{customer}", params={"list": "top"}, headers=HEADERS)
        assert wrong.status_code == 422 and "'for_you', 'buy_again'" in wrong.json()["message"]
        wrong = client.get(f"/products/{product}/related", params={"kind": "cheaper"}, headers=HEADERS)
        assert wrong.status_code == 422 and "'bought_together', 'similar'" in wrong.json()["message"]
        missing = client.get("/products/NO-SUCH-PRODUCT/related", headers=HEADERS)
        assert missing.status_code == 404 and "unknown product 'NO-SUCH-PRODUCT'" in missing.json()["message"]
        inactive = data.products.loc[~data.products["active"].astype(bool), "product_id"].iloc[0]
        no_list = client.get(f"/products/{inactive}/related", headers=HEADERS)
        assert no_list.status_code == 404 and f"product '{inactive}' has no bought_together list" in no_list.text
        # the same keys as /recommendations
        assert client.get(f"/products/{product}/related").status_code == 401
    entries = read_entries(recsys_home / "serving_log")  # the monitors' view: "for you" only, as before
    assert entries["customer_id"].tolist() == [customer] and set(entries["list"]) == {"for_you"}
    every = read_entries(recsys_home / "serving_log", list_name=None)
    assert every["list"].tolist() == ["buy_again", "for_you", "buy_again", "bought_together", "similar"]
    assert every["query_product"].tolist()[-2:] == [product, product]
    assert every["items"].iloc[0] == expected["product_id"].tolist()


def test_a_version_without_the_new_lists_answers_404_and_a_new_one_serves_them(recsys_home, data, side):
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    store.publish("m0-old", lists_for(data), {"model_version": "m0"})  # published before side lists existed
    customer = data.customers["customer_id"].iloc[0]
    product = side.loc[side["list"] == "bought_together", "key"].iloc[0]
    without_similar = side[side["list"] != "similar"]
    with serve(recsys_home, data, store) as client:
        answer = client.get(f"/recommendations/{customer}", params={"list": "buy_again"}, headers=HEADERS)
        assert answer.status_code == 404, answer.text
        assert answer.json()["message"] == "no buy-again list in the live version m0-old of target local"
        answer = client.get(f"/products/{product}/related", headers=HEADERS)
        assert answer.status_code == 404 and "no bought-together list in the live version m0-old" in answer.text
        assert client.get(f"/recommendations/{customer}", headers=HEADERS).status_code == 200  # for you still served

        store.publish("m1-new", lists_for(data, shift=1), {"model_version": "m1"}, side_lists=without_similar)
        client.app.state.serving.readers["local"].refresh()
        answer = client.get(f"/products/{product}/related", headers=HEADERS)
        assert answer.status_code == 200 and answer.json()["store_version"] == "m1-new"
        similar = client.get(f"/products/{product}/related", params={"kind": "similar"}, headers=HEADERS)
        assert similar.status_code == 404 and "no similar list in the live version m1-new" in similar.text
    review = {"X-API-Key": "review-key-0123456789"}
    settings = ServingSettings(stores={"local": store}, api_key=KEY, review_key=review["X-API-Key"])
    with TestClient(create_app(settings)) as client:  # the kept versions say which lists each holds
        kept = {v["version"]: v["lists"] for v in client.get("/versions", headers=review).json()["versions"]}
    assert kept == {"m1-new": ["for_you", "buy_again", "bought_together"], "m0-old": ["for_you"]}
