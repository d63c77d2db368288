"""Pure functions of the Cosmos DB store: document layout, pointer bookkeeping, retry waits, the target rule."""

import datetime as dt

import pandas as pd
import pytest

from recsys_assets.core.stores.cosmos_documents import (
    DocumentError,
    customer_fold_in,
    documents_to_frame,
    empty_pointer,
    pointer_after_publish,
    pointer_after_upsert,
    pointer_with_pending,
    pointer_without_retired,
    recommendation_documents,
    retry_delay_seconds,
)


def lists() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["b", "a", "a", "c", "b"],
            "rank": [1, 2, 1, 1, 2],
            "product_id": ["p1", "p2", "p3", "p4", "p5"],
            "score": [0.9, 0.4, 0.8, 0.7, 0.3],
            "source": ["als", "als", "als", "popularity_fallback", "als"],
            "reason": ["because_you_bought"] * 3 + ["popular_overall", "because_you_bought"],
            "because": ['["p9"]', '["p8", "p9"]', '["p7"]', "[]", '["p\\"1"]'],
        }
    )


def test_documents_one_per_customer_in_batches_and_back():
    batches = list(recommendation_documents("v1", "m1", lists(), batch_customers=2))
    assert [[d["customer_id"] for d in batch] for batch in batches] == [["a", "b"], ["c"]]
    first = batches[0][0]
    assert first["id"] == "v1" and first["version"] == "v1" and first["model_version"] == "m1"
    assert [item["product_id"] for item in first["items"]] == ["p3", "p2"]  # ordered by rank
    assert first["items"][1] | {"score": 0} == {
        "product_id": "p2", "rank": 2, "score": 0, "source": "als", "reason": "because_you_bought",
        "because": ["p8", "p9"],
    }  # fmt: skip
    back = documents_to_frame([d for batch in batches for d in batch])
    expected = lists().sort_values(["customer_id", "rank"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)


def test_documents_written_before_explanations_read_without_them():
    old = {"customer_id": "a", "items": [{"product_id": "p1", "rank": 1, "score": 0.5, "source": "als"}]}
    [row] = documents_to_frame([old]).to_dict("records")
    assert row["reason"] is None and row["because"] is None


def test_documents_refuse_bad_versions_and_the_reserved_customer():
    with pytest.raises(DocumentError, match="'v/1' cannot be a Cosmos DB document id"):
        recommendation_documents("v/1", "m", lists())
    with pytest.raises(DocumentError, match="'__meta__' is reserved"):
        recommendation_documents("v1", "m", lists().assign(customer_id="__meta__"))
    assert list(recommendation_documents("v1", "m", lists().iloc[:0])) == []


def info(version: str) -> dict:
    return {"version": version, "published_at": "t", "customers": 1, "rows": 1, "metadata": {}}


def test_pointer_keeps_the_newest_versions_and_retires_the_rest_and_abandoned_publishes():
    pointer = empty_pointer()
    for version in ("v1", "v2", "v3"):
        pointer = pointer_with_pending(pointer, version)
        pointer, retired = pointer_after_publish(pointer, info(version), keep_versions=2)
        pointer = pointer_without_retired(pointer, retired)
    assert pointer["live"] == "v3" and [v["version"] for v in pointer["versions"]] == ["v3", "v2"]
    # v4 is being written by another run when v5 is published: it stays pending, its documents untouched
    now = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
    pointer = pointer_with_pending(pointer, "v4", now=now)
    assert pointer["live"] == "v3"
    pointer = pointer_with_pending(pointer, "v5", now=now)
    pointer, retired = pointer_after_publish(pointer, info("v5"), keep_versions=2, now=now)
    assert retired == ["v2"] and [e["version"] for e in pointer["pending"]] == ["v4"]
    # hours later v4 never finished: it was abandoned, and the next publish retires its partial documents
    later = now + dt.timedelta(hours=7)
    pointer = pointer_with_pending(pointer_without_retired(pointer, retired), "v6", now=later)
    pointer, retired = pointer_after_publish(pointer, info("v6"), keep_versions=2, now=later)
    assert retired == ["v3", "v4"] and pointer["pending"] == []
    # re-publishing a kept version makes it live and newest without duplicating it
    pointer, retired = pointer_after_publish(pointer_without_retired(pointer, retired), info("v5"), keep_versions=2)
    assert [v["version"] for v in pointer["versions"]] == ["v5", "v6"] and retired == []
    # a version being written again is taken off the retired list (its re-run completes it)
    assert "v9" not in pointer_with_pending({**pointer, "retired": ["v9"]}, "v9")["retired"]
    with pytest.raises(DocumentError, match="keep_versions must be at least 1"):
        pointer_after_publish(pointer, info("v7"), keep_versions=0)


def test_retry_delay_honours_the_server_then_backs_off():
    assert retry_delay_seconds({"x-ms-retry-after-ms": "250"}, attempt=1) == 0.25
    assert retry_delay_seconds({"Retry-After": "2"}, attempt=1) == 2.0
    assert retry_delay_seconds({"x-ms-retry-after-ms": "999999"}, attempt=1, cap_s=5) == 5
    assert [retry_delay_seconds({}, attempt=n, base_s=0.1) for n in (1, 2, 3)] == [0.1, 0.2, 0.4]
    assert retry_delay_seconds({"x-ms-retry-after-ms": "soon"}, attempt=2, base_s=0.1) == 0.2


def test_side_lists_ride_in_the_customers_documents_and_one_document_per_product():
    import pandas as pd

    from recsys_assets.core.stores.cosmos_documents import (
        documents_to_frame,
        recommendation_documents,
        side_document_count,
        side_documents_to_frame,
        side_list_documents,
        side_list_rows,
    )

    lists = pd.DataFrame(
        {"customer_id": ["C1", "C1", "C2"], "rank": [1, 2, 1], "product_id": ["P1", "P2", "P3"],
         "score": [0.9, 0.8, 0.7], "source": "als"}
    )  # fmt: skip
    side = pd.DataFrame(
        [("buy_again", "C1", 1, "P9", 3.0, "top_frequency", "reorder", "you buy this every ~2 weeks"),
         ("buy_again", "C9", 1, "P8", 1.0, "top_frequency", "bought_once", "you bought this once, 3 weeks ago"),
         ("bought_together", "P1", 1, "P2", 2.5, "bought_together", "bought_together", "bought together with A"),
         ("bought_together", "P1", 2, "P3", 1.5, "popular_related", "popular", None),
         ("similar", "P1", 1, "P3", 0.9, "similar", "similar", "bought by the same kind of customers as A"),
         ("similar", "P2", 1, "P1", 0.8, "similar", "similar", "bought by the same kind of customers as B")],
        columns=["list", "key", "rank", "product_id", "score", "source", "reason", "explanation"],
    )  # fmt: skip
    rows = side_list_rows(side)
    customers = {"C1", "C2"}
    documents = [d for batch in recommendation_documents("v1", "m1", lists, 1, rows) for d in batch]
    documents += [d for batch in side_list_documents("v1", rows, customers, 2) for d in batch]
    # C1's buy-again list is in its document; C9 has no "for you" list: a document of its own; P1 and P2 one each
    assert [d["id"] for d in documents] == ["v1", "v1", "buy_again@v1", "related@v1", "related@v1"]
    assert [d["customer_id"] for d in documents[2:]] == ["C9", "product:P1", "product:P2"]
    assert len(documents) == 2 + side_document_count(rows, customers)
    assert set(documents[3]["lists"]) == {"bought_together", "similar"} and "buy_again" not in documents[1]
    pd.testing.assert_frame_equal(
        side_documents_to_frame(documents), side.sort_values(["list", "key", "rank"]).reset_index(drop=True)
    )
    assert documents_to_frame(documents)["customer_id"].tolist() == ["C1", "C1", "C2"]  # "for you" rows only


def test_an_upserted_customer_document_and_the_counts_it_changes():
    def item(rank):
        return {"rank": rank, "product_id": f"p{rank}"}

    current = {"id": "v1", "customer_id": "a", "items": [item(1), item(2)], "buy_again": [item(1)], "_etag": "e"}
    alone_doc = {"id": "buy_again@v1", "customer_id": "a", "list": "buy_again", "key": "a", "items": [item(3)]}
    new = {"id": "v1", "customer_id": "a", "items": [item(1), item(2), item(3)]}  # no buy-again rows: list goes
    # a buy-again list only: into the customer's document (their "for you" list and its fields kept, not Cosmos')
    document, delete_alone, counts = customer_fold_in(current, None, None, alone_doc)
    stored = {k: v for k, v in current.items() if k != "_etag"}
    assert document == {**stored, "buy_again": [item(3)]} and not delete_alone
    assert (counts.customers, counts.rows, counts.buy_again, counts.documents) == (0, 0, 0, 0)
    document, delete_alone, counts = customer_fold_in(current, None, new, None)
    assert document is new and (counts.customers, counts.rows, counts.buy_again, counts.documents) == (0, 1, -1, 0)
    # a customer with a buy-again document alone: a new "for you" document, that document to delete
    document, delete_alone, counts = customer_fold_in(None, alone_doc, new, None)
    assert document is new and delete_alone
    assert (counts.customers, counts.rows, counts.buy_again, counts.documents) == (1, 3, -1, 1)  # -1 once deleted
    # both documents there (an earlier upsert failed before its delete): the stray one is deleted again
    assert customer_fold_in(current, alone_doc, new, None)[1]
    # a new customer with a buy-again list only
    document, delete_alone, counts = customer_fold_in(None, None, None, alone_doc)
    assert document is alone_doc and (counts.customers, counts.buy_again, counts.documents) == (0, 1, 1)


def test_an_upsert_changes_the_counts_of_its_version_only():
    from recsys_assets.core.stores.store import UpsertCounts

    info = {"version": "v1", "published_at": "t", "customers": 4, "rows": 20, "documents": 6,
            "metadata": {"model_version": "m1", "lists": {"buy_again": 1, "similar": 2}, "documents": 6}}  # fmt: skip
    other = {**info, "version": "v0"}
    pointer = {**empty_pointer(), "live": "v1", "versions": [info, other]}
    updated = pointer_after_upsert(pointer, "v1", UpsertCounts(customers=1, rows=3, buy_again=-1, documents=1))
    assert updated["live"] == "v1" and updated["versions"][1] == other and pointer["versions"][0] == info
    metadata = {"model_version": "m1", "lists": {"similar": 2}, "documents": 7}  # no buy-again list left
    assert updated["versions"][0] == {**info, "customers": 5, "rows": 23, "documents": 7, "metadata": metadata}
    assert pointer_after_upsert(pointer, "v9", UpsertCounts(rows=1)) is None
