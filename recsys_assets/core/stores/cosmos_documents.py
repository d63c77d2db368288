"""The Cosmos DB document layout of published recommendations, and the pointer bookkeeping (pure functions).

One document per customer per version, in the customer's partition (`/customer_id`):
`{"id": <version>, "customer_id", "version", "model_version", "items": [{product_id, rank, score, source,
reason, because}]}`, where `reason` explains the item and `because` lists the bought products behind it
(core/modeling/explain.py; `reason` null and `because` empty for lists published without explanations).
The id is the version, so a customer's list of any version is a point read `(id=version, pk=customer_id)`.

One pointer document in the reserved partition `__meta__` names the live version and the kept versions:
`{"id": "pointer", "customer_id": "__meta__", "live": <version>|None, "versions": [info, ...],
"pending": [{"version", "started_at"}, ...], "retired": [<version whose documents are being deleted>]}`.
Readers resolve `live` and read that version only, so switching the pointer (one document write) is the
atomic step of a publish.

The side lists of a version live in the same container under the same version, so the pointer switches them
together with the "for you" lists and pruning a version removes them too; every list is one point read. A
customer's buy-again list is a `buy_again` field of their "for you" document (items `{product_id, rank, score,
source, reason, explanation}`): no extra document to write for it. A customer with a buy-again list but no "for
you" document gets `{"id": "buy_again@<version>", "customer_id", "version", "list": "buy_again", "key", "items"}`.
A product's related lists are one document, `{"id": "related@<version>", "customer_id": "product:<product_id>",
"version", "list": "related", "key": <product_id>, "lists": {"bought_together": [items], "similar": [items]}}`.
"For you" documents have no `list` field. Why this packing: at scale M a document per list and key would be 2.8
times the documents of the "for you" lists alone; packed, about 1.4 times.

Several writers may publish at once (two retrainings, a retry of a failed run). A version another writer is
still writing (`pending`, younger than the grace period) is never retired; only pending entries older than the
grace period are taken for abandoned (a killed publish) and their partial documents removed. And a writer only
switches the pointer to its version after counting its documents (`cosmos_store`): a version missing documents
is never made live.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .store import SIDE_LIST_COLUMNS, STORED_COLUMNS, UpsertCounts, because_text, metadata_after_upsert

META_PARTITION = "__meta__"
POINTER_ID = "pointer"
# characters Cosmos DB does not accept in a document id
FORBIDDEN_ID_CHARACTERS = frozenset("/\\?#")
# a version pending longer than this is taken for an abandoned (killed) publish whose documents may be removed
ABANDONED_AFTER_S = 6 * 3600


class DocumentError(ValueError):
    """The recommendations or the version cannot be stored as documents; the message names the values."""


def check_version(version: str) -> None:
    if not version or len(version) > 255 or FORBIDDEN_ID_CHARACTERS & set(version):
        raise DocumentError(
            f"version {version!r} cannot be a Cosmos DB document id (1-255 characters, none of '/', '\\', '?', '#')"
        )


def empty_pointer() -> dict:
    return {"id": POINTER_ID, "customer_id": META_PARTITION, "live": None, "versions": [], "pending": [], "retired": []}


def recommendation_documents(
    version: str,
    model_version: str,
    recommendations: pd.DataFrame,
    batch_customers: int = 1000,
    side: SideListRows | None = None,
) -> Iterator[list[dict]]:
    """Yield the documents of `version` in batches of `batch_customers` customers, ordered by customer and rank;
    a customer's buy-again list in `side` goes into their document (`buy_again`).

    Only one batch of documents exists at a time: the caller writes it before asking for the next. The
    input is checked here, before the first batch is asked for.
    """
    check_version(version)
    if batch_customers < 1:
        raise DocumentError(f"batch_customers must be at least 1, got {batch_customers}")
    if (recommendations["customer_id"].astype(str) == META_PARTITION).any():
        raise DocumentError(f"customer id {META_PARTITION!r} is reserved for the store's pointer document")
    frame = recommendations.sort_values(["customer_id", "rank"], kind="stable")
    customers = frame["customer_id"].astype(str).to_numpy()
    products = frame["product_id"].astype(str).to_numpy()
    ranks = frame["rank"].astype(int).to_numpy()
    scores = frame["score"].astype(float).to_numpy()
    sources = frame["source"].astype(str).to_numpy()
    reasons = frame["reason"].to_numpy(dtype=object) if "reason" in frame.columns else np.full(len(frame), None)
    because = frame["because"].to_numpy(dtype=object) if "because" in frame.columns else np.full(len(frame), None)
    if len(customers) == 0:
        return iter(())
    starts = np.flatnonzero(np.r_[True, customers[1:] != customers[:-1]])
    ends = np.r_[starts[1:], len(customers)]
    columns = (customers, products, ranks, scores, sources, reasons, because)
    return _document_batches(version, model_version, columns, starts, ends, batch_customers, side)


RELATED = "related"  # the `list` of a product's document, which holds every related kind
RELATED_KINDS = ("bought_together", "similar")


def side_document_id(list_name: str, version: str) -> str:
    """The id of a side-list document (`buy_again` or `related`), unique within its partition."""
    return f"{list_name}@{version}"


def side_partition(list_name: str, key: str) -> str:
    """The partition of a side list: the customer's for buy again, `product:<id>` for a product's lists."""
    return str(key) if list_name == "buy_again" else f"product:{key}"


def _text_or_none(value) -> str | None:
    return None if value is None or value != value else str(value)


@dataclass
class SideListRows:
    """The side lists to publish, sorted, with the row span of each (list, key): item dicts are built per document
    as the batches are written, never for the whole version at once."""

    columns: list[np.ndarray]  # SIDE_LIST_COLUMNS[2:] (rank ... explanation), sorted by list, key, rank
    spans: dict[tuple[str, str], tuple[int, int]]

    def items(self, list_name: str, key: str) -> list[dict] | None:
        span = self.spans.get((list_name, key))
        if span is None:
            return None
        rank, product, score, source, reason, explanation = self.columns
        return [
            {"rank": int(rank[i]), "product_id": str(product[i]), "score": float(score[i]), "source": str(source[i]),
             "reason": _text_or_none(reason[i]), "explanation": _text_or_none(explanation[i])}
            for i in range(*span)
        ]  # fmt: skip


def side_list_rows(side_lists: pd.DataFrame) -> SideListRows:
    """Index `side_lists` (SIDE_LIST_COLUMNS) by (list, key)."""
    frame = side_lists.sort_values(["list", "key", "rank"], kind="stable")
    names, keys = frame["list"].astype(str).to_numpy(), frame["key"].astype(str).to_numpy()
    if ((names == "buy_again") & (keys == META_PARTITION)).any():
        raise DocumentError(f"customer id {META_PARTITION!r} is reserved for the store's pointer document")
    columns = [frame[c].to_numpy(dtype=object) for c in SIDE_LIST_COLUMNS[2:]]
    starts = np.flatnonzero(np.r_[True, (names[1:] != names[:-1]) | (keys[1:] != keys[:-1])]) if len(frame) else []
    ends = np.r_[starts[1:], len(frame)] if len(frame) else []
    spans = {(names[a], keys[a]): (int(a), int(b)) for a, b in zip(starts, ends, strict=True)}
    return SideListRows(columns, spans)


def side_list_documents(
    version: str, side: SideListRows, customers: set[str], batch_keys: int = 1000
) -> Iterator[list[dict]]:
    """The side-list documents of `version` that are not part of a "for you" document (see the module docstring):
    the buy-again lists of customers outside `customers` (those with a "for you" document carry theirs in it), and
    one document per product with each of its related lists. In batches of `batch_keys` documents."""
    check_version(version)
    if batch_keys < 1:
        raise DocumentError(f"batch_keys must be at least 1, got {batch_keys}")
    alone = sorted(key for name, key in side.spans if name == "buy_again" and key not in customers)
    products = sorted({key for name, key in side.spans if name != "buy_again"})

    def documents():
        for key in alone:
            yield {"id": side_document_id("buy_again", version), "customer_id": key, "version": version,
                   "list": "buy_again", "key": key, "items": side.items("buy_again", key)}  # fmt: skip
        for key in products:
            lists = {kind: side.items(kind, key) for kind in RELATED_KINDS if (kind, key) in side.spans}
            yield {"id": side_document_id(RELATED, version), "customer_id": side_partition(RELATED, key),
                   "version": version, "list": RELATED, "key": key, "lists": lists}  # fmt: skip

    batch: list[dict] = []
    for document in documents():
        batch.append(document)
        if len(batch) >= batch_keys:
            yield batch
            batch = []
    if batch:
        yield batch


def side_document_count(side: SideListRows, customers: set[str]) -> int:
    """How many documents `side_list_documents` writes for these side lists and "for you" customers."""
    alone = sum(1 for name, key in side.spans if name == "buy_again" and key not in customers)
    return alone + len({key for name, key in side.spans if name != "buy_again"})


def side_items(items: list[dict] | None) -> list[tuple]:
    """(rank, product_id, score, source, reason, explanation) of a side list's stored items, by rank."""
    return sorted(
        (int(i["rank"]), str(i["product_id"]), None if i.get("score") is None else float(i["score"]), i["source"],
         i.get("reason"), i.get("explanation"))
        for i in items or []
    )  # fmt: skip


def side_documents_to_frame(documents: list[dict]) -> pd.DataFrame:
    """The side-list rows (SIDE_LIST_COLUMNS) held by `documents` (a version's documents), by list, key, rank."""
    rows = []
    for doc in documents:
        if not doc.get("list"):  # a "for you" document, with the customer's buy-again list when there is one
            rows += [("buy_again", doc["customer_id"], *item) for item in side_items(doc.get("buy_again"))]
        elif doc["list"] == "buy_again":
            rows += [("buy_again", doc["key"], *item) for item in side_items(doc.get("items"))]
        elif doc["list"] == RELATED:
            for kind, items in (doc.get("lists") or {}).items():
                rows += [(kind, doc["key"], *item) for item in side_items(items)]
    frame = pd.DataFrame(rows, columns=SIDE_LIST_COLUMNS)
    return frame.sort_values(["list", "key", "rank"], kind="stable").reset_index(drop=True)


def stored_fields(document: dict) -> dict:
    """A document as written (without the fields Cosmos DB adds: `_rid`, `_etag`, `_ts` ...)."""
    return {key: value for key, value in document.items() if not key.startswith("_")}


def customer_fold_in(
    current: dict | None, alone_before: dict | None, for_you: dict | None, alone: dict | None
) -> tuple[dict, bool, UpsertCounts]:
    """One customer of an upsert (`upsert_customers`): the document to write, whether their `buy_again@<version>`
    document is then to be deleted, and how writing the document changes the version's counts (deleting that
    document takes one more off `documents`).

    `current` and `alone_before` are the customer's "for you" and buy-again-only documents in the version (None
    when absent); `for_you` the "for you" document built from the new rows (None when only a buy-again list is
    given; without a `buy_again` field when none is given: the list is then deleted), `alone` the buy-again-only
    document built from the new buy-again rows. A customer given only a buy-again list keeps their "for you" list:
    the new list goes into `current`, or into a document of its own when they have none.
    """
    if for_you is not None:
        document = for_you
    elif current is not None:
        document = {**stored_fields(current), "buy_again": alone["items"]}
    else:
        document = alone
    is_for_you = not document.get("list")
    had_buy_again = bool(current.get("buy_again")) if current is not None else alone_before is not None
    counts = UpsertCounts(
        customers=int(is_for_you) - int(current is not None),
        rows=(len(document["items"]) if is_for_you else 0) - (len(current["items"]) if current is not None else 0),
        buy_again=int(bool(document.get("buy_again")) if is_for_you else True) - int(had_buy_again),
        # the written document replaces `current`, or `alone_before` when it is the buy-again-only document
        documents=1 - int(current is not None) - int(alone_before is not None and not is_for_you),
    )
    return document, is_for_you and alone_before is not None, counts


def pointer_after_upsert(pointer: dict, version: str, change: UpsertCounts) -> dict | None:
    """The pointer with the counts of `version` changed by an upsert (customers, rows, documents, the buy-again
    count of its lists), as a publish of the version's new content would record them; None when the pointer no
    longer keeps `version`."""
    updated = {**empty_pointer(), **pointer}
    entries = []
    for entry in updated["versions"]:
        if entry["version"] == version:
            entry = {
                **entry,
                "customers": int(entry["customers"]) + change.customers,
                "rows": int(entry["rows"]) + change.rows,
                "metadata": metadata_after_upsert(entry.get("metadata") or {}, change),
            }
            if "documents" in entry:
                entry["documents"] = int(entry["documents"]) + change.documents
        entries.append(entry)
    if not any(entry["version"] == version for entry in entries):
        return None
    updated["versions"] = entries
    return updated


def _because_list(value) -> list[str]:
    text = because_text(value)
    return json.loads(text) if text else []


def _document_batches(version, model_version, columns, starts, ends, batch_customers, side) -> Iterator[list[dict]]:
    customers, products, ranks, scores, sources, reasons, because = columns
    for first in range(0, len(starts), batch_customers):
        batch = []
        window = slice(first, first + batch_customers)
        for start, end in zip(starts[window], ends[window], strict=True):
            items = [
                {
                    "product_id": products[i],
                    "rank": int(ranks[i]),
                    "score": float(scores[i]),
                    "source": sources[i],
                    "reason": None if reasons[i] is None or reasons[i] != reasons[i] else str(reasons[i]),
                    "because": _because_list(because[i]),
                }
                for i in range(start, end)
            ]
            document = {
                "id": version,
                "customer_id": customers[start],
                "version": version,
                "model_version": model_version,
                "items": items,
            }
            buy_again = side.items("buy_again", customers[start]) if side is not None else None
            if buy_again is not None:
                document["buy_again"] = buy_again
            batch.append(document)
        yield batch


def documents_to_frame(documents: list[dict]) -> pd.DataFrame:
    """Recommendation rows (STORED_COLUMNS, `because` as JSON text like the SQLite store) of documents, by customer
    and rank; documents written before explanations existed give reason None and because None."""
    rows = [
        (
            doc["customer_id"],
            item["rank"],
            item["product_id"],
            item["score"],
            item["source"],
            item.get("reason"),
            because_text(item["because"]) if "because" in item else None,
        )
        for doc in documents
        if not doc.get("list")  # side-list documents are read by side_documents_to_frame
        for item in doc.get("items", [])
    ]
    frame = pd.DataFrame(rows, columns=STORED_COLUMNS)
    frame["rank"] = frame["rank"].astype(int)
    frame["score"] = frame["score"].astype(float)
    return frame.sort_values(["customer_id", "rank"], kind="stable").reset_index(drop=True)


def _pending_entries(pointer: dict) -> list[dict]:
    """The pending list as {"version", "started_at"} entries (old pointers held bare version strings)."""
    return [
        entry if isinstance(entry, dict) else {"version": entry, "started_at": None} for entry in pointer["pending"]
    ]


def pointer_with_pending(pointer: dict, version: str, now: dt.datetime | None = None) -> dict:
    """The pointer once `version` is being written (it stays invisible to readers until it is live).

    A version being written again (a re-run) is taken off the retired list, and its start time renewed.
    """
    updated = {**empty_pointer(), **pointer}
    started = (now or dt.datetime.now(dt.UTC)).isoformat()
    others = [entry for entry in _pending_entries(updated) if entry["version"] != version]
    updated["pending"] = [*others, {"version": version, "started_at": started}]
    updated["retired"] = [v for v in updated["retired"] if v != version]
    return updated


def abandoned(entry: dict, now: dt.datetime, grace_s: float) -> bool:
    """A pending entry older than `grace_s` (or of unknown age) belongs to a publish that will not finish."""
    if not entry.get("started_at"):
        return True
    started = dt.datetime.fromisoformat(entry["started_at"])
    return (now - started).total_seconds() > grace_s


def pointer_after_publish(
    pointer: dict,
    info: dict,
    keep_versions: int,
    now: dt.datetime | None = None,
    grace_s: float = ABANDONED_AFTER_S,
) -> tuple[dict, list[str]]:
    """The pointer with `info["version"]` live, the newest `keep_versions` versions kept, the rest retired.

    Returns (new pointer, versions to delete). Pending versions of other writers stay pending while they are
    younger than `grace_s`: their documents are being written and must not be touched. Older ones are
    abandoned publishes: retired, so their partial documents are removed.
    """
    if keep_versions < 1:
        raise DocumentError(f"keep_versions must be at least 1, got {keep_versions}")
    now = now or dt.datetime.now(dt.UTC)
    version = info["version"]
    updated = {**empty_pointer(), **pointer}
    others = [entry for entry in updated["versions"] if entry["version"] != version]
    kept = [info, *others][:keep_versions]
    kept_names = {entry["version"] for entry in kept}
    dropped = [entry["version"] for entry in others if entry["version"] not in kept_names]
    pending = [entry for entry in _pending_entries(updated) if entry["version"] != version]
    in_flight = [entry for entry in pending if not abandoned(entry, now, grace_s)]
    orphans = [entry["version"] for entry in pending if entry not in in_flight and entry["version"] not in kept_names]
    busy = {entry["version"] for entry in in_flight}
    retired = [
        v for v in dict.fromkeys([*updated["retired"], *dropped, *orphans]) if v not in kept_names and v not in busy
    ]
    updated.update(live=version, versions=kept, pending=in_flight, retired=retired)
    return updated, retired


def pointer_without_retired(pointer: dict, deleted: list[str]) -> dict:
    updated = {**empty_pointer(), **pointer}
    updated["retired"] = [v for v in updated["retired"] if v not in set(deleted)]
    return updated


def retry_delay_seconds(headers: dict | None, attempt: int, base_s: float = 0.1, cap_s: float = 10.0) -> float:
    """How long to wait before retry number `attempt` (1, 2, ...) of a throttled or unavailable request.

    The server's `x-ms-retry-after-ms` (Cosmos DB) or `Retry-After` (seconds, HTTP) wins; without one the
    wait doubles from `base_s`. Never more than `cap_s`.
    """
    headers = {str(k).lower(): v for k, v in (headers or {}).items()}
    try:
        if "x-ms-retry-after-ms" in headers:
            return min(cap_s, max(0.0, float(headers["x-ms-retry-after-ms"]) / 1000.0))
        if "retry-after" in headers:
            return min(cap_s, max(0.0, float(headers["retry-after"])))
    except (TypeError, ValueError):
        pass
    return min(cap_s, base_s * 2 ** (attempt - 1))
