"""No answer of the serving API carries internals: every route × {no key, serving key, review key}, on a healthy
server and on one whose stores and source database fail with messages full of addresses, paths, SDK names and
stack traces. Those details must reach the server log, and only it. (The same scan over a real Cosmos DB store
behind a cut connection: tests/azure/test_cosmos_serving.py.)"""

from __future__ import annotations

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from monitoring.reports import write_report
from recsys_assets.core.stores.source_db import SourceDatabase
from recsys_assets.core.stores.store import LocalRecommendationStore, StoreError, VersionInfo
from recsys_assets.serving.app import create_app
from recsys_assets.serving.serving_settings import ServingSettings
from tests.support.data import write_source
from tests.support.leaks import internal_details, scan_routes
from tests.support.serving import lists_for, publish, tiny_data

SERVING_KEY = "scan-serving-key-0123456789"
REVIEW_KEY = "scan-review-key-0123456789"
KEYS = {"no key": {}, "serving key": {"X-API-Key": SERVING_KEY}, "review key": {"X-API-Key": REVIEW_KEY}}
# what the broken parts below raise: an address with a port, a path, an SDK exception and a stack trace
SECRET = (
    "azure.cosmos.exceptions.CosmosHttpResponseError: (ServiceUnavailable) db-7.internal.example:10255 "
    'refused; see /var/lib/recsys/store.sqlite\nTraceback (most recent call last):\n  File "/srv/app.py", line 9'
)
SECRET_PARTS = ["db-7.internal.example", "10255", "/var/lib/recsys", "CosmosHttpResponseError", "Traceback"]


def scan(client: TestClient, customer: str, specific: list[str]) -> dict[str, list[str]]:
    return scan_routes(lambda path, headers: client.get(path, headers=headers), customer, KEYS, specific)


def test_a_healthy_server_answers_without_internals(recsys_home):
    data = tiny_data()
    source_url = write_source(data)
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    publish(store, lists_for(data, shift=1), "v1", "m1")
    publish(store, lists_for(data), "v2", "m2")
    summary = {"drifted": True, "drifted_features": ["unit_price"]}  # write_report adds the HTML's path to the JSON
    write_report(recsys_home / "monitoring", "data_drift", summary, stamp="20260630T080000000000Z")
    settings = ServingSettings(
        stores={"local": store},
        source=SourceDatabase(source_url),
        api_key=SERVING_KEY,
        review_key=REVIEW_KEY,
        log_dir=recsys_home / "serving_log",
        monitoring_dir=recsys_home / "monitoring",
        refresh_seconds=60,
    )
    with TestClient(create_app(settings)) as client:
        found = scan(client, str(data.customers["customer_id"].iloc[0]), [str(recsys_home), source_url])
        reports = client.get("/reports", headers=KEYS["review key"]).json()["reports"]
        wrong_method = client.post("/recommendations/C000001", headers=KEYS["serving key"])
    assert found == {}
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "method_not_allowed"
    assert internal_details(wrong_method.text, [str(recsys_home)]) == []
    assert [r["check"] for r in reports] == ["data_drift"]  # the report is listed, its file path is not


class FailingStore:
    """A remote-like store that loads once, then fails every read with SECRET (raised as `error_type`)."""

    serving_strategy = "point"

    def __init__(self, error_type: type[Exception], live: bool = True):
        self.error_type, self.live, self.failing = error_type, live, False

    def describe(self) -> str:
        return "cosmos store https://db-7.internal.example:10255/ database recsys-prod container lists"

    def _fail_if_failing(self) -> None:
        if self.failing or not self.live:
            raise self.error_type(SECRET)

    def live_version(self):
        self._fail_if_failing()
        return "v1"

    def versions(self):
        self._fail_if_failing()
        return [VersionInfo("v1", "2026-06-30T08:00:00+00:00", 1, 1, {"model_version": "m1"})]

    def read_version(self, version):
        self._fail_if_failing()
        return pd.DataFrame(
            {"customer_id": ["C1"], "rank": [1], "product_id": ["P1"], "score": [1.0], "source": ["als"]}
        )

    def get(self, customer_id, version=None):
        self._fail_if_failing()
        return pd.DataFrame(columns=["customer_id", "rank", "product_id", "score", "source"])


class FailingSource:
    """A source database whose every read fails with SECRET."""

    def read_customer_orders(self, customer_id):
        raise ConnectionRefusedError(SECRET)

    def read_master(self, table):
        raise ConnectionRefusedError(SECRET)


@pytest.mark.parametrize("error_type", [StoreError, ConnectionError, RuntimeError])
def test_a_failing_store_and_source_answer_without_internals(recsys_home, caplog, error_type):
    loaded, down = FailingStore(error_type), FailingStore(error_type, live=False)
    settings = ServingSettings(
        stores={"prod": loaded, "dev": down},
        source=FailingSource(),
        api_key=SERVING_KEY,
        review_key=REVIEW_KEY,
        log_dir=recsys_home / "serving_log",
        monitoring_dir=recsys_home / "monitoring",
        refresh_seconds=60,
    )
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        loaded.failing = True  # loaded at start, failing from now on
        app.state.serving.readers["prod"].refresh_seconds = 0
        with pytest.raises(error_type):
            app.state.serving.readers["prod"].refresh()  # its last check fails: /health says stale
        found = scan(client, "C1", SECRET_PARTS)
        answers = {
            "live": client.get("/recommendations/C1", headers=KEYS["serving key"]),
            "down target": client.get("/recommendations/C1?target=dev", headers=KEYS["serving key"]),
            "kept": client.get("/recommendations/C1?version=v1", headers=KEYS["review key"]),
            "versions": client.get("/versions", headers=KEYS["review key"]),
            "history": client.get("/customers/C1/history", headers=KEYS["review key"]),
            "health": client.get("/health"),
        }
    assert found == {}
    codes = {name: (r.status_code, r.json().get("error") or r.json().get("status")) for name, r in answers.items()}
    assert codes == {
        "live": (503, "store_unavailable"),
        "down target": (503, "unavailable"),
        "kept": (503, "store_unavailable"),
        "versions": (503, "store_unavailable"),
        "history": (503, "source_unavailable"),
        "health": (503, "unavailable"),
    }
    health = answers["health"].json()
    assert {name: t["status"] for name, t in health["targets"].items()} == {"prod": "stale", "dev": "no_live_version"}
    assert len(health["problems"]) == 4  # the two targets, the names and the business rules; each without the why
    assert "db-7.internal.example" in caplog.text  # the why is in the server log, for the operator
