"""The Cosmos DB store on the real protocol: the SDK against the Cosmos emulator, faults injected by a proxy."""

import itertools

import numpy as np
import pandas as pd
import pytest
from azure.cosmos import CosmosClient

from recsys_assets.core.stores.cosmos_documents import recommendation_documents
from recsys_assets.core.stores.cosmos_store import CosmosRecommendationStore, CosmosSettings
from recsys_assets.core.stores.store import StoreError
from tests.support.emulators import start_cosmos, stop
from tests.support.fault_proxy import FaultProxy

# starts the Cosmos DB emulator (some tests without the session fixture)
pytestmark = pytest.mark.emulator

_names = itertools.count()


def lists(customers: int, seed: int, k: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": np.repeat([f"C{i:05d}" for i in range(customers)], k),
            "rank": np.tile(np.arange(1, k + 1), customers),
            "product_id": [f"P{x}" for x in rng.integers(0, 500, customers * k)],
            "score": rng.random(customers * k),
            "source": "als",
            "model_version": f"m{seed}",
        }
    )


def make_store(endpoint: str, key: str, database: str | None = None, **settings) -> CosmosRecommendationStore:
    database = database or f"test-{next(_names)}"
    return CosmosRecommendationStore(CosmosSettings(endpoint, key, database=database, **settings), target="dev")


def raw_documents(endpoint: str, key: str, database: str) -> list[dict]:
    """Everything in the container, read with the bare SDK (not through the store)."""
    client = CosmosClient(endpoint, credential=key, enable_endpoint_discovery=False)
    container = client.get_database_client(database).get_container_client("recommendations")
    return list(container.read_all_items())


def test_publish_get_versions_and_cleanup(cosmos_emulator):
    store = make_store(cosmos_emulator.endpoint, cosmos_emulator.key, batch_customers=7, concurrency=8)
    assert store.live_version() is None
    assert store.get("C00001").empty
    for seed, version in enumerate(["v1", "v2", "v3"]):
        report = store.publish(version, lists(40, seed), {"model_version": f"m{seed}"}, keep_versions=2)
        assert report.documents == 40 and not report.skipped
    assert store.live_version() == "v3"
    assert [info.version for info in store.versions()] == ["v3", "v2"]
    assert store.versions()[0].customers == 40 and store.versions()[0].rows == 200
    # v1 fell out of the window: its documents are gone from the container, v2 and v3 are complete
    documents = raw_documents(cosmos_emulator.endpoint, cosmos_emulator.key, store.settings.database)
    by_version = pd.Series([d["id"] for d in documents if d["customer_id"] != "__meta__"]).value_counts().to_dict()
    assert by_version == {"v2": 40, "v3": 40}
    assert {d["model_version"] for d in documents if d.get("version") == "v3"} == {"m2"}

    expected = lists(40, 2)
    served = store.get("C00007")
    want = expected[expected["customer_id"] == "C00007"]
    assert served["product_id"].tolist() == want["product_id"].tolist()
    assert served["rank"].tolist() == [1, 2, 3, 4, 5]
    assert store.get("C00007", version="v2")["product_id"].tolist() == (
        lists(40, 1).query("customer_id == 'C00007'")["product_id"].tolist()
    )
    assert store.get("unknown-customer").empty  # the emulator's 500 for a missing item is confirmed, not trusted
    frame = store.read_version("v2")
    assert len(frame) == 200 and frame["customer_id"].nunique() == 40

    # idempotent: the live version again is a no-op, a kept older version again becomes live again
    assert store.publish("v3", expected, {"model_version": "m2"}, keep_versions=2).skipped
    again = store.publish("v2", lists(40, 1), {"model_version": "m1"}, keep_versions=2)
    assert again.documents == 40 and store.live_version() == "v2"
    assert [info.version for info in store.versions()] == ["v2", "v3"]


def side_lists(customers: int, products: int, seed: int, k: int = 3) -> pd.DataFrame:
    """Buy-again lists for `customers` customers and bought-together / similar lists for `products` products."""
    rng = np.random.default_rng(seed)
    frames = []
    for name, keys in (("buy_again", [f"C{i:05d}" for i in range(customers)]),
                       ("bought_together", [f"P{i}" for i in range(products)]),
                       ("similar", [f"P{i}" for i in range(products)])):  # fmt: skip
        frames.append(
            pd.DataFrame(
                {
                    "list": name,
                    "key": np.repeat(keys, k),
                    "rank": np.tile(np.arange(1, k + 1), len(keys)),
                    "product_id": [f"P{x}" for x in rng.integers(0, 500, len(keys) * k)],
                    "score": rng.random(len(keys) * k),
                    "source": name,
                    "reason": name,
                    "explanation": [f"because {seed}-{i}" for i in range(len(keys) * k)],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_side_lists_share_the_version_its_pointer_and_its_pruning(cosmos_emulator):
    store = make_store(cosmos_emulator.endpoint, cosmos_emulator.key, batch_customers=9, concurrency=8)
    store.publish("v0", lists(20, 0), {"model_version": "m0"}, keep_versions=2)  # before side lists existed
    assert store.versions()[0].metadata["lists"] == {} and store.read_side_lists("v0").empty
    published = {}
    for seed, version in ((1, "v1"), (2, "v2"), (3, "v3")):
        published[version] = side_lists(20, 8, seed)
        report = store.publish(
            version, lists(20, seed), {"model_version": f"m{seed}"}, keep_versions=2, side_lists=published[version]
        )
        assert report.documents == 20 + 8 and not report.skipped  # buy again inside the customers' documents
    assert store.live_version() == "v3" and [info.version for info in store.versions()] == ["v3", "v2"]
    info = store.versions()[0]
    assert info.metadata["lists"] == {"buy_again": 20, "bought_together": 8, "similar": 8}
    assert info.customers == 20 and info.rows == 100  # the "for you" lists, as before
    # every list is a point read of the version; the "for you" reads are unchanged
    expected = published["v3"]
    mine = expected[(expected["list"] == "buy_again") & (expected["key"] == "C00004")]
    found = store.get_side_list("buy_again", "C00004", "v3")
    assert [(r[0], r[1], r[5]) for r in found] == list(
        zip(mine["rank"], mine["product_id"], mine["explanation"], strict=True)
    )
    together = expected[(expected["list"] == "bought_together") & (expected["key"] == "P3")]
    assert [r[1] for r in store.get_side_list("bought_together", "P3", "v3")] == together["product_id"].tolist()
    assert store.get_side_list("similar", "P-none", "v3") == []
    assert len(store.read_version("v3")) == 100 and store.get("C00004", "v3")["product_id"].tolist()
    whole = store.read_side_lists("v3")
    pd.testing.assert_frame_equal(
        whole.reset_index(drop=True),
        expected.sort_values(["list", "key", "rank"]).reset_index(drop=True)[whole.columns],
        check_dtype=False,
    )
    # v0 and v1 fell out of the window with all their documents; re-publishing the live version is a no-op
    documents = raw_documents(cosmos_emulator.endpoint, cosmos_emulator.key, store.settings.database)
    assert {d["version"] for d in documents if d["customer_id"] != "__meta__"} == {"v2", "v3"}
    assert store.publish("v3", lists(20, 3), {"model_version": "m3"}, side_lists=published["v3"]).skipped
    # the serving reader (point reads): side lists of the live version; a version without them says so
    from recsys_assets.core.stores.store_reader import ListNotPublishedError, LiveRecommendations

    reader = LiveRecommendations(store, refresh_seconds=0)
    reader.refresh()
    assert [i.product_id for i in reader.lookup_buy_again("C00004").items] == mine["product_id"].tolist()
    assert reader.lookup_related("P3", "bought_together").items[0].explanation == together["explanation"].iloc[0]
    store.publish("v4", lists(20, 4), {"model_version": "m4"}, keep_versions=2)
    reader.refresh()
    with pytest.raises(ListNotPublishedError, match="no buy-again list in the live version v4"):
        reader.lookup_buy_again("C00004")
    # a customer with a buy-again list but no "for you" list gets a document of its own
    alone = pd.DataFrame([("buy_again", "C-ALONE", 1, "P1", 1.0, "top_frequency", "reorder", "every ~1 week")],
                         columns=whole.columns)  # fmt: skip
    store.publish("v3b", lists(20, 3), {"model_version": "m3"}, keep_versions=3, side_lists=alone)
    assert [r[5] for r in store.get_side_list("buy_again", "C-ALONE", "v3b")] == ["every ~1 week"]
    assert store.get_side_list("buy_again", "C00004", "v3b") == []


def test_bad_input_is_refused_with_names(cosmos_emulator):
    store = make_store(cosmos_emulator.endpoint, cosmos_emulator.key)
    with pytest.raises(ValueError, match=r"version 'a/b' cannot be a Cosmos DB document id"):
        store.publish("a/b", lists(3, 0), {}, keep_versions=2)
    reserved = lists(3, 0).assign(customer_id="__meta__")
    with pytest.raises(ValueError, match="customer id '__meta__' is reserved"):
        store.publish("v1", reserved, {}, keep_versions=2)
    with pytest.raises(StoreError, match=r"missing column\(s\) \['score'\]"):
        store.publish("v1", lists(3, 0).drop(columns="score"), {}, keep_versions=2)


def test_throttling_and_unavailable_answers_are_retried_honouring_retry_after(cosmos_emulator):
    with FaultProxy(cosmos_emulator.port) as proxy:
        store = make_store(proxy.endpoint, cosmos_emulator.key, concurrency=4)
        store.live_version()  # creates database, container and pointer before the faults start
        proxy.throttle(429, count=12, retry_after_ms=50)
        first = store.publish("v1", lists(30, 1), {}, keep_versions=3)
        proxy.throttle(503, count=6, retry_after_ms=300)
        second = store.publish("v2", lists(30, 2), {}, keep_versions=3)
        statuses = proxy.statuses()
        log = list(proxy.log)
        assert store.live_version() == "v2"
        assert len(store.read_version("v1")) == 150 and len(store.read_version("v2")) == 150
    assert statuses.count(429) == 12 and statuses.count(503) == 6
    assert first.documents == 30 and second.documents == 30
    assert second.retries.get(503) == 6  # the SDK does not retry 503 writes here: the store did
    # every 503 was followed by the retry of the same document no sooner than the server asked
    for index, (when, method, path, status) in enumerate(log):
        if status == 503:
            retry = next(t for t, m, p, s in log[index + 1 :] if m == method and p == path and s != 503)
            assert retry - when >= 0.29, (path, retry - when)


def test_connection_lost_mid_publish_keeps_the_old_version_live(cosmos_emulator):
    with FaultProxy(cosmos_emulator.port) as proxy:
        store = make_store(proxy.endpoint, cosmos_emulator.key, concurrency=4, batch_customers=10)
        store.publish("v1", lists(30, 1), {"model_version": "m1"}, keep_versions=2)
        proxy.cut_after(writes=25)  # the pending-mark write, then 24 documents of v2, then nothing answers
        with pytest.raises(StoreError) as failure:
            store.publish("v2", lists(60, 2), {"model_version": "m2"}, keep_versions=2)
        message = str(failure.value)
        assert "publishing version v2 failed after" in message
        assert store.settings.database in message and "the live version is still the previous one" in message
        # behind the cut, straight to the emulator: the pointer still names v1, v2 is partial and pending
        direct = make_store(cosmos_emulator.endpoint, cosmos_emulator.key, database=store.settings.database)
        assert direct.live_version() == "v1"
        assert [entry["version"] for entry in direct.pointer()["pending"]] == ["v2"]
        assert 0 < len(direct.read_version("v2")) < 300
        assert (
            direct.get("C00001")["product_id"].tolist()
            == lists(30, 1).query("customer_id == 'C00001'")["product_id"].tolist()
        )
        proxy.restore()
        report = store.publish("v2", lists(60, 2), {"model_version": "m2"}, keep_versions=2)
    assert report.documents == 60 and direct.live_version() == "v2"
    assert len(direct.read_version("v2")) == 300
    assert direct.pointer()["pending"] == [] and direct.pointer()["retired"] == []


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_https_endpoint_with_verification_off_for_that_endpoint_only(tmp_path):
    # the SDK itself skips certificate checks for 127.0.0.1 / localhost, so only the protocol is proven here
    emulator = start_cosmos(tmp_path, ssl=True)
    try:
        store = make_store(emulator.endpoint, emulator.key, connection_verify=False)
        store.publish("v1", lists(10, 1), {}, keep_versions=2)
        assert store.live_version() == "v1" and len(store.get("C00003")) == 5
    finally:
        stop(emulator.process)


def test_emulator_killed_mid_publish_fails_the_publish_clearly(tmp_path):
    emulator = start_cosmos(tmp_path, ssl=False)
    try:
        store = make_store(emulator.endpoint, emulator.key, concurrency=2, batch_customers=10)
        store.publish("v1", lists(20, 1), {}, keep_versions=2)

        def kill_after_first_batch(written: int) -> None:
            if written >= 10:
                stop(emulator.process, timeout=5)

        with pytest.raises(StoreError) as failure:
            store.publish("v2", lists(60, 2), {}, keep_versions=2, on_progress=kill_after_first_batch)
        message = str(failure.value)
        assert f"cosmos store {emulator.endpoint} database {store.settings.database}" in message
        assert "publishing version v2 failed after" in message
        assert "the live version is still the previous one" in message
    finally:
        stop(emulator.process)


def test_interleaved_publishes_never_thin_the_live_version(cosmos_emulator):
    """A publishes half its documents and pauses; B publishes completely (before, B retired A's in-flight version
    and deleted its documents); A finishes. Whatever is live at any moment is complete."""
    import threading

    store_a = make_store(cosmos_emulator.endpoint, cosmos_emulator.key, batch_customers=10, concurrency=2)
    store_b = make_store(cosmos_emulator.endpoint, cosmos_emulator.key, database=store_a.settings.database)
    store_a.publish("v0", lists(40, 0), {"model_version": "m0"}, keep_versions=2)
    halfway, resume = threading.Event(), threading.Event()

    def pause(documents: int) -> None:
        if documents == 20:
            halfway.set()
            resume.wait(60)

    def complete(store) -> bool:
        live = store.live_version()
        info = next(v for v in store.versions() if v.version == live)
        return len(store.read_version(live)) == info.rows

    errors = []
    writer_a = threading.Thread(
        target=lambda: errors.extend(
            [store_a.publish("vA", lists(40, 1), {"model_version": "mA"}, keep_versions=2, on_progress=pause)]
        )
    )
    writer_a.start()
    assert halfway.wait(60)
    report_b = store_b.publish("vB", lists(40, 2), {"model_version": "mB"}, keep_versions=2)
    assert "vA" not in report_b.retired and store_b.live_version() == "vB" and complete(store_b)
    assert [entry["version"] for entry in store_b.pointer()["pending"]] == ["vA"]  # still A's, untouched
    resume.set()
    writer_a.join(120)
    assert store_a.live_version() == "vA" and complete(store_a)
    assert len(store_a.read_version("vA")) == 200 and store_a.pointer()["pending"] == []
    assert [v.version for v in store_a.versions()] == ["vA", "vB"]


def test_a_version_missing_documents_is_not_made_live(cosmos_emulator):
    """The count before the switch: a version whose documents do not add up stays invisible."""
    store = make_store(cosmos_emulator.endpoint, cosmos_emulator.key, batch_customers=10)
    store.publish("v1", lists(20, 1), {"model_version": "m1"})
    batches = recommendation_documents("v2", "m2", lists(20, 2), 10)
    claims_more = {"version": "v2", "published_at": "t", "customers": 21, "rows": 105, "metadata": {}}
    with pytest.raises(StoreError, match="holds 20 documents after the publish, 21 expected"):
        store.publish_batches("v2", batches, claims_more)
    assert store.live_version() == "v1"


def test_an_upsert_replaces_some_customers_lists_in_a_kept_version(cosmos_emulator):
    """Fold-ins: the customers' documents replaced in their partitions, the rest of the version and the pointer kept."""
    from recsys_assets.core.lifecycle.promotion import promote_version
    from recsys_assets.core.stores.store import VersionNotFoundError

    store = make_store(cosmos_emulator.endpoint, cosmos_emulator.key, batch_customers=4, concurrency=4)
    alone = side_lists(1, 0, 9).assign(key="C-ALONE")  # a buy-again list, no "for you" list
    published = pd.concat([side_lists(6, 2, 1), alone], ignore_index=True)
    store.publish("v1", lists(8, 1), {"model_version": "m1"}, side_lists=published)
    before, before_side, pointer = store.read_version("v1"), store.read_side_lists("v1"), store.pointer()

    # C00001: a new "for you" list, no buy-again rows (its list goes); C00002: a new buy-again list only; C-ALONE:
    # a "for you" list (its buy-again document goes); C-NEW, not in the version: both lists
    recommendations = lists(3, 7, k=3).replace({"C00000": "C00001", "C00001": "C-ALONE", "C00002": "C-NEW"})
    buy_again = side_lists(3, 0, 8, k=2).replace({"C00000": "C00002", "C00001": "C-NEW", "C00002": "C-ALONE"})
    assert store.upsert_customers("v1", recommendations, buy_again) == 4

    def products(frame, column, key):
        return frame[frame[column] == key]["product_id"].tolist()

    for customer in ("C00001", "C-ALONE", "C-NEW"):
        assert [i[1] for i in store.get_items(customer, "v1")] == products(recommendations, "customer_id", customer)
    assert store.get_side_list("buy_again", "C00001", "v1") == []
    for customer in ("C00002", "C-ALONE", "C-NEW"):
        assert [i[1] for i in store.get_side_list("buy_again", customer, "v1")] == products(buy_again, "key", customer)
    # the other customers, C00002's "for you" list and the related lists as published
    after, after_side = store.read_version("v1"), store.read_side_lists("v1")
    others = ~before["customer_id"].isin(["C00001"])
    pd.testing.assert_frame_equal(
        after[~after["customer_id"].isin(["C00001", "C-ALONE", "C-NEW"])].reset_index(drop=True),
        before[others].reset_index(drop=True),
    )
    kept = ~before_side["key"].isin(["C00001", "C00002", "C-ALONE"])
    pd.testing.assert_frame_equal(
        after_side[~after_side["key"].isin(["C00002", "C-ALONE", "C-NEW"])].reset_index(drop=True),
        before_side[kept].reset_index(drop=True),
    )
    documents = [d for d in raw_documents(cosmos_emulator.endpoint, cosmos_emulator.key, store.settings.database)
                 if d["customer_id"] != "__meta__"]  # fmt: skip
    assert sorted(d["id"] for d in documents if d["customer_id"] == "C-ALONE") == ["v1"]  # buy_again@v1 deleted
    assert {d["model_version"] for d in documents if not d.get("list")} == {"m1"}
    # the pointer: same live version and versions, the counts of the version's new content
    info = store.versions()[0]
    assert store.live_version() == "v1" and info.published_at == pointer["versions"][0]["published_at"]
    assert (info.customers, info.rows) == (10, 8 * 5 - 5 + 3 * 3) and len(after) == info.rows
    assert info.metadata["lists"] == {"buy_again": 7, "bought_together": 2, "similar": 2}
    assert info.metadata["documents"] == store.pointer()["versions"][0]["documents"] == len(documents) == 12
    promoted = promote_version(store, make_store(cosmos_emulator.endpoint, cosmos_emulator.key), "v1")
    assert (promoted.customers, promoted.rows) == (10, 44)

    # refused, nothing written: a version the pointer does not keep, invalid rows (named)
    with pytest.raises(VersionNotFoundError, match=r"does not hold version v9 \(kept: \['v1'\]\)"):
        store.upsert_customers("v9", recommendations, buy_again)
    twice = lists(2, 3).replace({"C00000": "C00003"})
    twice.loc[(twice["customer_id"] == "C00001") & (twice["rank"] == 2), "rank"] = 1
    with pytest.raises(StoreError, match=r"version v1: the list with customer_id='C00001' holds rank 1 twice"):
        store.upsert_customers("v1", twice, buy_again)
    with pytest.raises(
        StoreError, match=r"version v1: .* buy_again lists only; the side lists hold \['bought_together', 'similar'\]"
    ):
        store.upsert_customers("v1", recommendations, side_lists(0, 1, 3))
    with pytest.raises(StoreError, match=r"version v1: product_id 'P\\x1f' holds the separator U\+001F"):
        store.upsert_customers("v1", recommendations.assign(product_id="P\x1f"), buy_again)
    again = [d for d in raw_documents(cosmos_emulator.endpoint, cosmos_emulator.key, store.settings.database)
             if d["customer_id"] != "__meta__"]  # fmt: skip
    assert sorted(map(str, again)) == sorted(map(str, documents)) and store.versions()[0] == info


def test_an_upsert_retries_throttled_writes_and_a_rerun_completes_a_failed_one(cosmos_emulator):
    with FaultProxy(cosmos_emulator.port) as proxy:
        store = make_store(proxy.endpoint, cosmos_emulator.key, concurrency=1, max_retries=2)
        store.publish("v1", lists(6, 1), {"model_version": "m1"})
        proxy.throttle(503, count=2, retry_after_ms=50)  # the SDK does not retry 503 writes: the store does
        assert store.upsert_customers("v1", lists(2, 2, k=3), side_lists(0, 0, 2)) == 2
        assert proxy.statuses().count(503) == 2
        proxy.throttle(503, count=3, retry_after_ms=10)  # more than max_retries: that customer fails
        fold_in = lists(4, 3, k=2).replace({"C00003": "C-NEW"})
        with pytest.raises(StoreError, match=r"upserting customers into version v1 failed after \d of 4 customers"):
            store.upsert_customers("v1", fold_in, side_lists(0, 0, 3))
        assert store.upsert_customers("v1", fold_in, side_lists(0, 0, 3)) == 4  # the same upsert again
        info, lists_now = store.versions()[0], store.read_version("v1")
    assert (info.customers, info.rows) == (lists_now["customer_id"].nunique(), len(lists_now)) == (7, 4 * 2 + 3 * 5)
    assert lists_now[lists_now["customer_id"] == "C-NEW"]["product_id"].tolist() == (
        fold_in[fold_in["customer_id"] == "C-NEW"]["product_id"].tolist()
    )
