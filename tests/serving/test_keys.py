"""Scoped keys: every route of the app × {no key, wrong key, serving key, review key}, under each key setting
(both keys, the serving key only, the review key only, --insecure-no-auth). Each key opens only its doors."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from monitoring.reports import write_report
from recsys_assets.core.stores.source_db import SourceDatabase
from recsys_assets.core.stores.store import LocalRecommendationStore
from recsys_assets.serving.app import create_app
from recsys_assets.serving.auth import ApiKeys, Scope
from recsys_assets.serving.routes import router
from recsys_assets.serving.serving_settings import ServingSettings
from tests.support.data import write_source
from tests.support.serving import lists_for, publish, side_lists_for, tiny_data

SERVING_KEY = "shop-front-end-key-0123456789"
REVIEW_KEY = "data-team-review-key-0123456789"
REPORT_STAMP = "20260630T080000000000Z"  # the report app_with writes, opened by /reports/{check}/{stamp}.html
PRESENTED = {"none": None, "wrong": "not-a-key", "serving": SERVING_KEY, "review": REVIEW_KEY}

# every route of the app, by the door it is behind: "open", "serving" (the live list) or "review"
ROUTES = {
    "/": "open",
    "/docs": "open",
    "/docs/oauth2-redirect": "open",
    "/openapi.json": "open",
    "/health": "open",
    "/recommendations/{customer_id}": "serving",
    "/recommendations/{customer_id}?version=": "review",
    "/recommendations/{customer_id}?list=buy_again": "serving",
    "/products/{product_id}/related": "serving",
    "/customers": "review",
    "/customers/{customer_id}/history": "review",
    "/versions": "review",
    "/reports": "review",
    "/reports/{check}/{stamp}.html": "review",
    "/metrics": "review",
    "POST /events/orders": "orders",
}


def request_path(route: str, customer: str, product: str = "") -> str:
    path = route.removeprefix("POST ").replace("{customer_id}", customer).replace("{product_id}", product)
    path = path.replace("{check}", "data_drift").replace("{stamp}", REPORT_STAMP)
    if path.endswith("?version="):
        return path + "m1-aaaa"
    return path + "?q=C0" if path == "/customers" else path


@pytest.fixture(scope="module")
def data():
    return tiny_data()


def app_with(recsys_home, data, api_key, review_key, allow_no_auth=False, orders_key=None):
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    if store.live_version() is None:
        publish(store, lists_for(data), "m1-aaaa", "m1", side_lists_for(data))
        write_report(recsys_home / "monitoring", "data_drift", {"drifted": False}, stamp=REPORT_STAMP)
    settings = ServingSettings(
        stores={"local": store},
        source=SourceDatabase(write_source(data)),
        api_key=api_key,
        review_key=review_key,
        orders_key=orders_key,
        allow_no_auth=allow_no_auth,
        monitoring_dir=recsys_home / "monitoring",
        refresh_seconds=60,
    )
    return create_app(settings)


def test_the_matrix_covers_every_route_of_the_app(recsys_home, data):
    app = app_with(recsys_home, data, SERVING_KEY, REVIEW_KEY)
    # the app's own routes (docs, schema) and the included router's (the API and the page)
    routes = [r for r in [*app.routes, *router.routes] if getattr(r, "methods", None) and hasattr(r, "path")]
    # a new route needs a door here
    assert {r.path for r in routes} == {route.removeprefix("POST ").split("?")[0] for route in ROUTES}
    assert all(r.methods <= {"GET", "HEAD"} for r in routes if r.path != "/events/orders")


# configuration -> (serving key, review key, insecure) and what each presented key gets on each door
CONFIGURATIONS = {
    "both keys": (SERVING_KEY, REVIEW_KEY, False),
    "serving key only": (SERVING_KEY, None, False),
    "review key only": (None, REVIEW_KEY, False),
    "no key (--insecure-no-auth)": (None, None, True),
}
EXPECTED = {  # (configuration, door, presented) -> status; "open" doors answer 200 to everyone
    ("both keys", "serving"): {"none": 401, "wrong": 401, "serving": 200, "review": 200},
    ("both keys", "review"): {"none": 401, "wrong": 401, "serving": 403, "review": 200},
    ("serving key only", "serving"): {"none": 401, "wrong": 401, "serving": 200, "review": 401},
    ("serving key only", "review"): {"none": 403, "wrong": 403, "serving": 403, "review": 403},
    ("review key only", "serving"): {"none": 401, "wrong": 401, "serving": 401, "review": 200},
    ("review key only", "review"): {"none": 401, "wrong": 401, "serving": 401, "review": 200},
    ("no key (--insecure-no-auth)", "serving"): {"none": 200, "wrong": 200, "serving": 200, "review": 200},
    ("no key (--insecure-no-auth)", "review"): {"none": 200, "wrong": 200, "serving": 200, "review": 200},
    # without an orders key the orders door is closed to every key; open (422: no line posted) without any key
    **{(c, "orders"): dict.fromkeys(PRESENTED, 403) for c in ("both keys", "serving key only", "review key only")},
    ("no key (--insecure-no-auth)", "orders"): dict.fromkeys(PRESENTED, 422),
}


@pytest.mark.parametrize("configuration", list(CONFIGURATIONS))
def test_each_key_opens_only_its_doors(recsys_home, data, configuration):
    serving, review, insecure = CONFIGURATIONS[configuration]
    customer = str(data.customers["customer_id"].iloc[0])
    product = str(data.orders["product_id"].value_counts().index[0])  # active and bought: it has related lists
    found = {}
    with TestClient(app_with(recsys_home, data, serving, review, insecure)) as client:
        for route, door in ROUTES.items():
            for name, key in PRESENTED.items():
                headers = {"X-API-Key": key} if key is not None else {}
                path = request_path(route, customer, product)
                if route.startswith("POST "):
                    response = client.post(path, headers=headers, json={"lines": []})
                else:
                    response = client.get(path, headers=headers)
                found[route, name] = response.status_code
                if response.status_code in (401, 403):
                    body = response.json()
                    assert body["error"] == ("unauthorized" if response.status_code == 401 else "forbidden")
                    assert SERVING_KEY not in response.text and REVIEW_KEY not in response.text
                    if door == "review":  # a refused review door says which setting opens it
                        assert "RECSYS_REVIEW_KEY" in body["message"], body
    expected = {
        (route, name): 200 if door == "open" else EXPECTED[configuration, door][name]
        for route, door in ROUTES.items()
        for name in PRESENTED
    }
    assert found == expected


def test_the_orders_key_records_orders_and_reads_nothing(recsys_home, data):
    orders_key = "shop-back-end-orders-key-0123456789"
    customer = str(data.customers["customer_id"].iloc[0])
    with TestClient(app_with(recsys_home, data, SERVING_KEY, REVIEW_KEY, orders_key=orders_key)) as client:
        presented = {**PRESENTED, "orders": orders_key}
        found = {
            name: client.post("/events/orders", json={"lines": []}, headers={"X-API-Key": key} if key else {})
            for name, key in presented.items()
        }
        assert {name: r.status_code for name, r in found.items()} == {
            "none": 401, "wrong": 401, "serving": 403, "review": 403, "orders": 422
        }  # fmt: skip
        assert "RECSYS_ORDERS_KEY" in found["serving"].json()["message"]
        refused = client.get(f"/recommendations/{customer}", headers={"X-API-Key": orders_key})
        assert refused.status_code == 403 and "records orders only" in refused.json()["message"]
        assert client.get("/metrics", headers={"X-API-Key": orders_key}).status_code == 403


def test_a_closed_review_door_says_which_setting_opens_it(recsys_home, data):
    with TestClient(app_with(recsys_home, data, SERVING_KEY, None)) as client:
        closed = client.get("/versions", headers={"X-API-Key": SERVING_KEY}).json()
        assert closed["message"].startswith("the review endpoints are closed on this server")
        assert client.get("/health").json()["review_key"] is False
    with TestClient(app_with(recsys_home, data, SERVING_KEY, REVIEW_KEY)) as client:
        wrong_scope = client.get("/metrics", headers={"X-API-Key": SERVING_KEY}).json()
        assert wrong_scope["message"] == (
            "this key opens the live recommendations only; send the review key (RECSYS_REVIEW_KEY)"
        )


def test_both_keys_are_always_compared(monkeypatch):
    """Constant time over the two keys: a presented key is compared with each configured key, whichever matches."""
    import recsys_assets.serving.auth as auth

    compared = []
    original = auth.key_matches
    monkeypatch.setattr(
        auth, "key_matches", lambda expected, presented: compared.append(expected) or original(expected, presented)
    )
    keys = ApiKeys(SERVING_KEY, REVIEW_KEY)
    for presented in (REVIEW_KEY, SERVING_KEY, "other", None):
        compared.clear()
        keys.scopes_of(presented)
        assert compared == [SERVING_KEY, REVIEW_KEY]
    assert keys.scopes_of(REVIEW_KEY) == {Scope.SERVING, Scope.REVIEW}
    assert keys.scopes_of(SERVING_KEY) == {Scope.SERVING}
    assert keys.scopes_of(SERVING_KEY + "x") == set()
