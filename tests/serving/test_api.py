"""The serving API over HTTP (in-process client): lists, fallback, validation, API key, health, log, refresh."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from recsys_assets.core.data.purchase_history import purchase_history
from recsys_assets.core.stores.serving_log import read_entries
from recsys_assets.core.stores.source_db import SourceDatabase
from recsys_assets.core.stores.store import LocalRecommendationStore
from recsys_assets.serving.app import create_app
from recsys_assets.serving.auth import MissingApiKeyError
from recsys_assets.serving.serving_settings import ServingSettings
from tests.support.data import write_source
from tests.support.serving import lists_for, publish, tiny_data

KEY = "test-key-0123456789"
HEADERS = {"X-API-Key": KEY}  # the serving key: /recommendations only
REVIEW_KEY = "test-review-key-0123456789"
REVIEW = {"X-API-Key": REVIEW_KEY}


@pytest.fixture(scope="module")
def data():
    return tiny_data()


@pytest.fixture
def served(recsys_home, data):
    url = write_source(data)
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    publish(store, lists_for(data), "m1-aaaa", "m1")
    settings = ServingSettings(
        stores={"local": store},
        source=SourceDatabase(url),
        api_key=KEY,
        review_key=REVIEW_KEY,
        log_dir=recsys_home / "serving_log",
        refresh_seconds=0.05,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        yield client, store, recsys_home
    # leaving the block ran the shutdown: the serving log is flushed


def test_known_customer_gets_store_list_with_names(served, data):
    client, store, _ = served
    customer = data.customers["customer_id"].iloc[0]
    response = client.get(f"/recommendations/{customer}", params={"k": 5}, headers=HEADERS)
    assert response.status_code == 200, response.text
    body = response.json()
    expected = store.get(customer).head(5)
    assert [i["product_id"] for i in body["items"]] == expected["product_id"].tolist()
    assert [i["score"] for i in body["items"]] == pytest.approx(expected["score"].tolist())
    products = data.products.set_index("product_id")
    assert [i["name"] for i in body["items"]] == products.loc[expected["product_id"], "name"].tolist()
    assert [i["category"] for i in body["items"]] == products.loc[expected["product_id"], "category"].tolist()
    assert body["model_version"] == "m1" and body["store_version"] == "m1-aaaa"
    assert body["fallback"] is None and body["cold_start"] is False and body["k"] == 5
    assert body["group"] == "model"  # no control group configured
    # every item says why, the bought products with their names and categories
    assert [i["reason"] for i in body["items"]] == expected["reason"].tolist()
    for item, because in zip(body["items"], expected["because"], strict=True):
        ids = json.loads(because)
        assert [p["product_id"] for p in item["because"]] == ids and ids
        assert [p["name"] for p in item["because"]] == products.loc[ids, "name"].tolist()


def test_a_kept_version_is_served_on_request_and_never_logged(served, data):
    client, store, home = served
    publish(store, lists_for(data, shift=1), "m2-bbbb", "m2")
    customer = data.customers["customer_id"].iloc[3]
    kept = client.get(f"/recommendations/{customer}", params={"version": "m1-aaaa"}, headers=REVIEW).json()
    assert kept["store_version"] == "m1-aaaa" and kept["model_version"] == "m1"
    assert [i["product_id"] for i in kept["items"]] == store.get(customer, "m1-aaaa")["product_id"].tolist()
    newer = client.get(f"/recommendations/{customer}", params={"version": "m2-bbbb"}, headers=REVIEW).json()
    assert [i["product_id"] for i in newer["items"]] == store.get(customer, "m2-bbbb")["product_id"].tolist()
    missing = client.get(f"/recommendations/{customer}", params={"version": "nope"}, headers=REVIEW)
    assert missing.status_code == 404 and missing.json()["message"] == (
        "version 'nope' is not kept for target 'local'; GET /versions lists the kept ones"
    )
    # the shop's key reads the live list only
    assert client.get(f"/recommendations/{customer}", params={"version": "m1-aaaa"}, headers=HEADERS).status_code == 403
    client.app.state.serving.readers["local"].refresh()  # the server now serves m2
    listed = client.get("/versions", headers=REVIEW).json()["versions"]
    assert [(v["version"], v["model_version"], v["live"]) for v in listed] == [
        ("m2-bbbb", "m2", True),
        ("m1-aaaa", "m1", False),
    ]
    assert client.get("/versions").status_code == 401
    assert client.get("/versions", headers=HEADERS).status_code == 403
    client.app.state.serving.writer.flush()
    assert read_entries(home / "serving_log").empty  # reviews of kept versions are not servings


def test_cold_start_and_unknown_customer_get_flagged_popularity(served, data):
    client, store, _ = served
    cold = data.customers["customer_id"].iloc[-1]
    cold_body = client.get(f"/recommendations/{cold}", headers=HEADERS).json()
    assert cold_body["cold_start"] is True and cold_body["fallback"] is None
    assert {i["source"] for i in cold_body["items"]} == {"popularity_fallback"}

    unknown = client.get("/recommendations/NOT-A-CUSTOMER", headers=HEADERS)
    assert unknown.status_code == 200
    body = unknown.json()
    assert body["fallback"] == "popularity" and body["cold_start"] is True
    # the fallback is the popularity list the model gave its cold-start customers
    assert [i["product_id"] for i in body["items"]] == store.get(cold)["product_id"].tolist()
    assert len(body["items"]) == 10


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/recommendations/C000001?k=0", "k"),
        ("/recommendations/C000001?k=101", "k"),
        ("/recommendations/C000001?k=ten", "k"),
        ("/recommendations/bad%20id%3B--", "customer_id"),
        ("/recommendations/" + "x" * 65, "customer_id"),
    ],
)
def test_invalid_requests_get_422_json_naming_the_field(served, path, field):
    client, _, _ = served
    response = client.get(path, headers=HEADERS)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request" and field in body["message"]


def test_unknown_target_is_404_json(served):
    client, _, _ = served
    response = client.get("/recommendations/C000001", params={"target": "prod"}, headers=HEADERS)
    assert response.status_code == 404
    assert response.json()["message"] == "unknown target 'prod'; the targets are ['local']"


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "wrong"}, {"X-API-Key": KEY + "x"}, {"X-API-Key": REVIEW_KEY[:-1]}, {"Authorization": KEY}],
)
def test_missing_or_wrong_key_is_401(served, headers):
    client, _, _ = served
    for path in ("/recommendations/C000001", "/customers?q=C0", "/customers/C000001/history"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401, path
        assert response.json()["error"] == "unauthorized"
        assert response.headers["WWW-Authenticate"] == "ApiKey"
        assert KEY not in response.text and REVIEW_KEY not in response.text


def test_health_docs_and_page_need_no_key(served):
    client, _, home = served
    health = client.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["default_target"] == "local" and body["problems"] == []
    assert body["targets"]["local"]["live_version"] == "m1-aaaa" and body["targets"]["local"]["status"] == "ok"
    assert body["auth"] is True and body["review_key"] is True
    metrics = client.get("/metrics", headers=REVIEW).json()  # the details are for the review key
    assert metrics["targets"]["local"]["strategy"] == "point" and metrics["targets"]["local"]["customers"] == 150
    assert metrics["catalog"]["products"] == 200 and metrics["catalog"]["status"] == "ok"
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/recommendations/{customer_id}" in schema["paths"]
    assert "X-API-Key" in str(schema["components"]["securitySchemes"])
    assert "Recommendation review" in client.get("/").text


def test_history_matches_source_orders(served, data):
    client, _, _ = served
    customer = data.orders["customer_id"].value_counts().index[0]
    response = client.get(f"/customers/{customer}/history", params={"top": 5}, headers=REVIEW)
    assert response.status_code == 200
    body = response.json()
    orders = data.orders[data.orders["customer_id"] == customer]
    expected = purchase_history(customer, orders, data.products, 5)
    assert body["orders"] == expected.orders > 0
    assert body["top_products"] == expected.top_products
    assert body["top_categories"] == expected.top_categories
    assert body["customer"]["customer_id"] == customer


def test_customer_search(served, data):
    client, _, _ = served
    customer = data.customers.iloc[7]
    found = client.get("/customers", params={"q": customer["customer_id"]}, headers=REVIEW).json()["customers"]
    assert found[0]["customer_id"] == customer["customer_id"]
    by_name = client.get("/customers", params={"q": customer["name"].lower()}, headers=REVIEW).json()["customers"]
    assert customer["customer_id"] in [c["customer_id"] for c in by_name]


def test_served_requests_reach_the_serving_log(recsys_home, data):
    url = write_source(data)
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    publish(store, lists_for(data), "m1-aaaa", "m1")
    log_dir = recsys_home / "serving_log"
    known, cold = data.customers["customer_id"].iloc[0], data.customers["customer_id"].iloc[-1]
    settings = ServingSettings(stores={"local": store}, source=SourceDatabase(url), api_key=KEY, log_dir=log_dir)
    with TestClient(create_app(settings)) as client:
        for customer in (known, cold, "NEW-CUSTOMER"):
            assert client.get(f"/recommendations/{customer}", params={"k": 3}, headers=HEADERS).status_code == 200
        assert client.get("/recommendations/x", params={"k": 0}, headers=HEADERS).status_code == 422  # not logged
    entries = read_entries(log_dir)
    assert entries["customer_id"].tolist() == [known, cold, "NEW-CUSTOMER"]
    assert entries["cold_start"].tolist() == [False, True, True]
    assert set(entries["model_version"]) == {"m1"} and set(entries["target"]) == {"local"}
    assert entries["items"].iloc[0] == store.get(known)["product_id"].head(3).tolist()


def test_new_live_version_is_picked_up_in_the_background(served, data):
    client, store, _ = served
    customer = data.customers["customer_id"].iloc[1]
    before = client.get(f"/recommendations/{customer}", headers=HEADERS).json()
    publish(store, lists_for(data, shift=1), "m2-bbbb", "m2")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body = client.get(f"/recommendations/{customer}", headers=HEADERS).json()
        if body["store_version"] == "m2-bbbb":
            break
        time.sleep(0.05)
    assert body["store_version"] == "m2-bbbb" and body["model_version"] == "m2"
    assert [i["product_id"] for i in body["items"]] == store.get(customer, "m2-bbbb")["product_id"].tolist()
    assert body["items"] != before["items"]


def test_no_live_version_is_503_and_unhealthy(recsys_home, data):
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    with TestClient(create_app(ServingSettings(stores={"local": store}, api_key=KEY))) as client:
        response = client.get("/recommendations/C000001", headers=HEADERS)
        assert response.status_code == 503 and "no live version" in response.json()["message"]
        health = client.get("/health")
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        assert health.json()["targets"]["local"]["status"] == "no_live_version"


def test_app_refuses_to_start_without_key(recsys_home):
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    with pytest.raises(MissingApiKeyError, match="RECSYS_API_KEY.*RECSYS_REVIEW_KEY"):
        ServingSettings(stores={"local": store})
    with pytest.raises(ValueError, match="RECSYS_REVIEW_KEY is blank"):
        ServingSettings(stores={"local": store}, api_key=KEY, review_key=" ")


def test_app_refuses_to_start_without_a_store():
    with pytest.raises(ValueError, match="at least one store"):
        ServingSettings(stores={}, api_key=KEY)


def test_insecure_no_auth_serves_without_key(recsys_home, data):
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    publish(store, lists_for(data), "m1-aaaa", "m1")
    with TestClient(create_app(ServingSettings(stores={"local": store}, allow_no_auth=True))) as client:
        response = client.get(f"/recommendations/{data.customers['customer_id'].iloc[0]}")
        assert response.status_code == 200 and response.json()["items"][0]["name"] is None  # no source: no names
        assert client.get("/health").json()["auth"] is False


class BrokenStore:
    """A store that fails the way a remote one can: its point reads raise StoreError with internal details."""

    serving_strategy = "point"

    def describe(self) -> str:
        return "broken store https://secret-account.example/ db internal"

    def live_version(self):
        return "v1"

    def versions(self):
        return []

    def read_version(self, version):  # loads at start (popularity fallback); per-request reads then fail
        import pandas as pd

        return pd.DataFrame(
            {"customer_id": ["C1"], "rank": [1], "product_id": ["P1"], "score": [1.0], "source": ["als"]}
        )

    def get(self, customer_id, version=None):
        from recsys_assets.core.stores.store import StoreError

        raise StoreError("secret-account.example: 500 internal server detail")


class BrokenSource:
    def read_customer_orders(self, customer_id):
        raise RuntimeError("psycopg.OperationalError: password authentication failed for user admin at db.internal")

    def read_master(self, table):
        raise RuntimeError("db.internal unreachable")


def test_every_error_is_json_with_a_stable_code_and_no_internal_text(recsys_home, caplog):
    app = create_app(
        ServingSettings(
            stores={"remote": BrokenStore()},
            source=BrokenSource(),
            api_key=KEY,
            review_key=REVIEW_KEY,
            refresh_seconds=60,
        )
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        answers = {
            "store": client.get("/recommendations/C000001", headers=HEADERS),
            "source": client.get("/customers/C000001/history", headers=REVIEW),
            "validation": client.get("/recommendations/C000001", params={"k": 0}, headers=HEADERS),
            "auth": client.get("/recommendations/C000001"),
            "scope": client.get("/versions", headers=HEADERS),
            "target": client.get("/recommendations/C000001", params={"target": "nope"}, headers=HEADERS),
        }
    codes = {name: (r.status_code, r.json()["error"]) for name, r in answers.items()}
    assert codes == {
        "store": (503, "store_unavailable"),
        "source": (503, "source_unavailable"),
        "validation": (422, "invalid_request"),
        "auth": (401, "unauthorized"),
        "scope": (403, "forbidden"),
        "target": (404, "not_found"),
    }
    for response in answers.values():
        assert response.headers["content-type"].startswith("application/json")
        assert "secret" not in response.text and "db.internal" not in response.text and "password" not in response.text
    assert "internal server detail" in caplog.text  # the details are in the server log for the operator
