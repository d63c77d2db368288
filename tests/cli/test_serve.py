"""`recsys serve` as a user starts it (subprocess, real uvicorn) and `recsys load-test` against it."""

from __future__ import annotations

import httpx
import pytest

from recsys_assets.cli.main import main
from recsys_assets.core.stores.serving_log import read_entries, synthetic_dir
from recsys_assets.core.stores.store import LocalRecommendationStore
from tests.support.data import write_source
from tests.support.serving import ServerProcess, lists_for, publish, tiny_data

KEY = "cli-test-key"
REVIEW_KEY = "cli-test-review-key"


@pytest.fixture
def published(recsys_home):
    data = tiny_data()
    write_source(data)
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    publish(store, lists_for(data), "m1-aaaa", "m1")
    return data, store


def test_serve_and_load_test(published, recsys_home, monkeypatch, capsys):
    data, store = published
    server = ServerProcess({"RECSYS_API_KEY": KEY, "RECSYS_REVIEW_KEY": REVIEW_KEY})
    try:
        server.wait_ready()
        customer = data.customers["customer_id"].iloc[5]
        response = httpx.get(f"{server.url}/recommendations/{customer}", headers={"X-API-Key": KEY})
        assert response.status_code == 200
        assert [i["product_id"] for i in response.json()["items"]] == store.get(customer)["product_id"].tolist()
        assert httpx.get(f"{server.url}/recommendations/{customer}").status_code == 401
        assert httpx.get(f"{server.url}/versions", headers={"X-API-Key": KEY}).status_code == 403  # the shop's key
        assert httpx.get(f"{server.url}/versions", headers={"X-API-Key": REVIEW_KEY}).status_code == 200

        monkeypatch.setenv("RECSYS_API_KEY", KEY)
        code = main(
            ["load-test", "--url", server.url, "--duration", "2", "--concurrency", "4", "--max-requests", "300"]
        )
        out = capsys.readouterr().out
        assert code == 0, out
        assert "functional check: customer C000000 of local version m1-aaaa: ok" in out
        assert "requests:        300 in" in out  # bounded by --max-requests, well within --duration
        assert "failed requests: 0" in out and "requests/s" in out and "p99" in out

        monkeypatch.setenv("RECSYS_API_KEY", "wrong")
        assert main(["load-test", "--url", server.url, "--duration", "1", "--max-requests", "20"]) == 1
        out = capsys.readouterr().out
        assert "FAILED" in out and "answered 401" in out and "failed requests: 20" in out
    finally:
        output = server.stop()
    assert "serving key (RECSYS_API_KEY): opens /recommendations" in output
    assert "review key (RECSYS_REVIEW_KEY): opens the review page's data and /recommendations" in output
    # SIGTERM shut the server down cleanly: every served request reached the serving log; the load test and its
    # functional check went to the synthetic log, so the shop's log holds the one request of a "customer"
    entries = read_entries(recsys_home / "serving_log")
    assert entries[["customer_id", "model_version", "group", "source"]].values.tolist() == [
        [customer, "m1", "model", "model"]
    ]
    synthetic = read_entries(synthetic_dir(recsys_home / "serving_log"), traffic=None)
    assert synthetic["traffic"].value_counts().to_dict() == {"load-test": 300, "probe": 1}


def test_serve_refuses_to_start_without_key(published, monkeypatch, capsys):
    monkeypatch.delenv("RECSYS_API_KEY", raising=False)
    monkeypatch.delenv("RECSYS_REVIEW_KEY", raising=False)
    assert main(["serve", "--port", "1"]) == 2
    assert "RECSYS_API_KEY" in capsys.readouterr().err


@pytest.mark.parametrize("url", ["http://10.0.0.1:8000", "http://192.168.1.5", "http://example.com", "ftp://127.0.0.1"])
def test_load_test_refuses_non_loopback_urls(published, url, capsys):
    assert main(["load-test", "--url", url, "--duration", "1"]) == 2
    assert "loopback" in capsys.readouterr().err
