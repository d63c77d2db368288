"""`recsys serve` in the dev deployment, reading Cosmos DB (the emulator) through the real HTTP API: answers match
the store, a live-version switch under load fails no request and never mixes two versions, and the emulator
going away gives JSON 503s while the server stays up, no answer of any route (with any key) names the endpoint, its
port, the databases, the SDK or its errors, and a SIGTERM loses no logged request."""

from __future__ import annotations

import datetime as dt
import threading
import time

import httpx
import pandas as pd
from azure.storage.blob import BlobServiceClient

from recsys_assets.core.stores.serving_log import read_entries
from recsys_assets.core.stores.serving_log_location import BlobLog
from tests.azure.test_cosmos_store import make_store
from tests.support.data import write_source
from tests.support.fault_proxy import FaultProxy
from tests.support.leaks import internal_details, scan_routes
from tests.support.serving import ServerProcess, lists_for, side_lists_for, tiny_data

KEY = "cosmos-serving-key-0123456789"
LOGS = "cosmos-serving"  # the Blob container of the API's serving log
REVIEW_KEY = "cosmos-review-key-0123456789"
EVIDENTLY_UI = "https://evidently.shop.example"  # a link for people, which /reports hands out on purpose
KEYS = {"no key": {}, "serving key": {"X-API-Key": KEY}, "review key": {"X-API-Key": REVIEW_KEY}}


def test_serving_from_cosmos_switch_under_load_and_emulator_down(recsys_home, cosmos_emulator, azurite):
    data = tiny_data()
    source = write_source(data)
    versions = {"v1": lists_for(data, shift=0), "v2": lists_for(data, shift=7)}
    expected = {
        version: {c: g.sort_values("rank")["product_id"].tolist() for c, g in frame.groupby("customer_id")}
        for version, frame in versions.items()
    }
    with FaultProxy(cosmos_emulator.port) as proxy:
        dev = make_store(proxy.endpoint, cosmos_emulator.key, batch_customers=50, concurrency=8)
        prod = make_store(proxy.endpoint, cosmos_emulator.key, batch_customers=50, concurrency=8)
        for store in (dev, prod):
            store.publish("v1", versions["v1"], {"model_version": "m1"})
        env = {
            "RECSYS_DEPLOYMENT": "dev",
            "RECSYS_SOURCE_URL": source,
            "COSMOS_ENDPOINT": proxy.endpoint,
            "COSMOS_KEY": cosmos_emulator.key,
            "COSMOS_DEV_DATABASE": dev.settings.database,
            "COSMOS_PROD_DATABASE": prod.settings.database,
            # dev keeps its serving log in Blob storage (never on the pod's disk)
            "AZURE_STORAGE_ACCOUNT_URL": azurite.account_url,
            "AZURE_STORAGE_KEY": azurite.key,
            "AZURE_STORAGE_CONTAINER": LOGS,
            "RECSYS_API_KEY": KEY,
            "RECSYS_REVIEW_KEY": REVIEW_KEY,
            "RECSYS_EVIDENTLY_UI_URL": EVIDENTLY_UI,
            "RECSYS_CONTROL_SHARE": "0",  # every customer gets the store's list (the control group is tested apart)
        }
        server = ServerProcess(env)
        try:
            server.wait_ready()
            customers = sorted(expected["v1"])
            answers, errors, stop = [], [], threading.Event()

            def load(offset: int):
                with httpx.Client(base_url=server.url, headers={"X-API-Key": KEY}, timeout=10) as client:
                    i = offset
                    while not stop.is_set():
                        customer = customers[i % len(customers)]
                        try:
                            response = client.get(f"/recommendations/{customer}")
                        except httpx.HTTPError as error:
                            errors.append(repr(error))
                            continue
                        answers.append((customer, response.status_code, response.json()))
                        i += 1

            workers = [threading.Thread(target=load, args=(n * 37,)) for n in range(4)]
            for worker in workers:
                worker.start()
            time.sleep(1.0)
            side = side_lists_for(data)  # v2 holds buy again and related lists too, v1 the "for you" lists only
            dev.publish("v2", versions["v2"], {"model_version": "m2"}, side_lists=side)  # the switch, under load
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not any(a[2].get("store_version") == "v2" for a in answers[-50:]):
                time.sleep(0.2)
            time.sleep(1.0)
            stop.set()
            for worker in workers:
                worker.join(30)

            assert errors == [] and answers and all(status == 200 for _, status, _ in answers)
            seen = {body["store_version"] for _, _, body in answers}
            assert seen == {"v1", "v2"}
            for customer, _, body in answers:  # each answer is exactly its version's list, never a mix
                assert [item["product_id"] for item in body["items"]] == expected[body["store_version"]][customer]

            # the side lists of the live version, point reads through the API; prod's v1 has none: a clear 404
            def served(path: str) -> httpx.Response:
                return httpx.get(f"{server.url}{path}", headers={"X-API-Key": KEY}, timeout=30)

            buyer = side.loc[side["list"] == "buy_again", "key"].iloc[0]
            mine = side[(side["list"] == "buy_again") & (side["key"] == buyer)]
            body = served(f"/recommendations/{buyer}?list=buy_again").json()
            assert body["store_version"] == "v2" and body["list"] == "buy_again"
            assert [(i["product_id"], i["explanation"]) for i in body["items"]] == list(
                zip(mine["product_id"], mine["explanation"], strict=True)
            )
            product = side.loc[side["list"] == "similar", "key"].iloc[0]
            similar = side[(side["list"] == "similar") & (side["key"] == product)]
            body = served(f"/products/{product}/related?kind=similar").json()
            assert [i["product_id"] for i in body["items"]] == similar["product_id"].tolist()
            assert served("/products/NOT-A-PRODUCT/related").status_code == 404
            old = served(f"/recommendations/{buyer}?list=buy_again&target=prod")
            assert old.status_code == 404 and "no buy-again list in the live version v1" in old.json()["message"]

            # the emulator goes away: JSON 503 with a stable code, the server keeps answering
            proxy.cut_after(writes=0)
            down = httpx.get(f"{server.url}/recommendations/{customers[0]}", headers={"X-API-Key": KEY}, timeout=30)
            assert down.status_code == 503 and down.json()["error"] == "store_unavailable"
            health = httpx.get(f"{server.url}/health", timeout=10)
            assert health.status_code in (200, 503)
            for answer in (down, health):  # no internal address, SDK name or error text while the store is down
                assert internal_details(answer.text, [proxy.endpoint.split("//")[1], dev.settings.database]) == []

            proxy.restore()
            # every route with every key over the real store: no endpoint, port, database or SDK name (the failing
            # store's messages are scanned in tests/serving/test_no_internals.py; through this proxy's cut, reads
            # wait for the SDK's timeouts, minutes for a whole scan)
            internals = [proxy.endpoint.split("//")[1], str(proxy.port), str(cosmos_emulator.port),
                         dev.settings.database, prod.settings.database]  # fmt: skip

            def get(path: str, headers: dict):
                return httpx.get(f"{server.url}{path}", headers=headers, timeout=60)

            assert scan_routes(get, customers[0], KEYS, internals, allowed=[EVIDENTLY_UI]) == {}
            back = httpx.get(f"{server.url}/recommendations/{customers[0]}", headers={"X-API-Key": KEY}, timeout=30)
            assert back.status_code == 200 and back.json()["store_version"] == "v2"

            # a pod stopped as Kubernetes stops it (SIGTERM) has logged every request it answered, the last ones
            # too: the log writer empties its queue into the append blobs on shutdown
            since = pd.Timestamp.now(tz="UTC").tz_localize(None)
            last = customers[-1]
            for _ in range(25):
                answer = httpx.get(f"{server.url}/recommendations/{last}", headers={"X-API-Key": KEY}, timeout=30)
                assert answer.status_code == 200
            server.stop()
            log = BlobLog(BlobServiceClient(azurite.account_url, credential=azurite.key).get_container_client(LOGS))
            entries = read_entries(log, since.date(), dt.date.today())
            assert ((entries["customer_id"] == last) & (entries["ts"] >= since)).sum() == 25
        finally:
            server.stop()
