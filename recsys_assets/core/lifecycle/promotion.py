"""Promotion: make a version tested in one store (dev) live in another (prod), unchanged.

Between document stores (Cosmos DB) the documents are copied as they are — every field of every item, the
explanations included, minus the fields the database adds itself (`_rid`, `_etag`, `_ts`, ...) — and published
like any version (documents first, pointer last). Between other stores the stored rows (explanations included)
are copied. Either way the copy is counted against what the source version was published with before anything
is written, so an incomplete version is never promoted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from ..stores.store import RecommendationStore, StoreError

COPY_BATCH = 1000  # documents handed to the writer at a time


@dataclass(frozen=True)
class Promotion:
    version: str
    source: str
    target: str
    previous: str | None
    customers: int
    rows: int
    copied: str = "rows"  # "documents" when the documents were copied as they are


def clean_document(document: dict) -> dict:
    """The document without the fields Cosmos DB adds (`_rid`, `_self`, `_etag`, `_attachments`, `_ts`)."""
    return {key: value for key, value in document.items() if not key.startswith("_")}


def _batches(documents: list[dict]) -> Iterator[list[dict]]:
    for start in range(0, len(documents), COPY_BATCH):
        yield documents[start : start + COPY_BATCH]


def promote_version(
    source: RecommendationStore, target: RecommendationStore, version: str, keep_versions: int = 3
) -> Promotion:
    """Copy `version` from `source` to `target` and make it live there (atomically, like any publish).

    The version keeps its name, documents (or rows) and metadata, plus `promoted_from`. Promoting the version
    already live in `target` is a no-op.
    """
    infos = {info.version: info for info in source.versions()}
    if version not in infos:
        raise StoreError(
            f"{source.describe()}: version {version!r} cannot be promoted, it is not kept there "
            f"(kept: {sorted(infos) or 'none'})"
        )
    info = infos[version]
    previous = target.live_version()
    metadata = {**info.metadata, "promoted_from": source.describe()}
    if hasattr(source, "read_documents") and hasattr(target, "publish_batches"):
        documents = [clean_document(d) for d in source.read_documents(version)]
        for_you = [d for d in documents if not d.get("list")]  # the others are side lists (buy again, related)
        rows = sum(len(d.get("items", [])) for d in for_you)
        _check_complete(source, version, len(for_you), rows, info.customers, info.rows)
        expected = info.metadata.get("documents")  # versions with side lists (buy again, related) record it
        if expected is not None and len(documents) != int(expected):
            raise StoreError(
                f"{source.describe()}: version {version} holds {len(documents)} documents but was published with "
                f"{expected}; not promoting an incomplete version"
            )
        published = {
            "version": version,
            "published_at": pd.Timestamp.now(tz="UTC").isoformat(),
            "customers": len(for_you),
            "rows": rows,
            "documents": len(documents),
            "metadata": metadata,
        }
        target.publish_batches(version, _batches(documents), published, keep_versions=keep_versions)
        return Promotion(version, source.describe(), target.describe(), previous, len(for_you), rows, "documents")
    lists = source.read_version(version)
    _check_complete(source, version, int(lists["customer_id"].nunique()), len(lists), info.customers, info.rows)
    side_lists = source.read_side_lists(version) if hasattr(source, "read_side_lists") else None
    target.publish(version, lists, metadata, keep_versions=keep_versions, side_lists=side_lists)
    return Promotion(version, source.describe(), target.describe(), previous, info.customers, len(lists))


def _check_complete(source, version: str, customers: int, rows: int, expected_customers: int, expected_rows: int):
    if (customers, rows) != (expected_customers, expected_rows):
        raise StoreError(
            f"{source.describe()}: version {version} holds {customers} customers / {rows} rows but was published "
            f"with {expected_customers} / {expected_rows}; not promoting an incomplete version"
        )
