"""Azure Cosmos DB recommendation store (SQL API, `azure-cosmos`): versioned, atomic publishing.

`publish` writes every document of the new version (idempotent upserts, streamed in batches through the
async client with bounded concurrency), then switches the pointer document that readers resolve, then
deletes the documents of versions that fell out of the kept window. A publish that fails half-way leaves
the pointer on the old version; its partial documents are removed by a later publish once they are older than
the grace period (`abandoned_after_s`), and a re-run of the same version completes them. Before switching the
pointer a publish counts its version's documents: a version missing documents is never made live, and a version
another writer is still writing is never deleted (see `cosmos_documents`).

Retries: the SDK retries 429 (throttled) itself, honouring `x-ms-retry-after-ms`, up to
`sdk_throttle_retries` times / `sdk_throttle_wait_s` seconds. On top of that every document write is
retried on 429 and 503 (and 408/449) up to `max_retries` times, again waiting what the server asks for
(`retry_delay_seconds`). Other errors fail the publish with a `StoreError` naming the store and version.

`upsert_customers` (fold-ins) writes some customers' documents into a version the pointer keeps, one document
upsert per customer with the same retries, and updates that version's counts in the pointer; it never moves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd

from ..faults import failpoint
from .cosmos_documents import (
    ABANDONED_AFTER_S,
    META_PARTITION,
    POINTER_ID,
    RELATED,
    DocumentError,
    check_version,
    customer_fold_in,
    documents_to_frame,
    empty_pointer,
    pointer_after_publish,
    pointer_after_upsert,
    pointer_with_pending,
    pointer_without_retired,
    recommendation_documents,
    retry_delay_seconds,
    side_document_count,
    side_document_id,
    side_documents_to_frame,
    side_items,
    side_list_documents,
    side_list_rows,
    side_partition,
)
from .store import (
    LISTS_METADATA,
    STORED_COLUMNS,
    StoreError,
    UpsertCounts,
    VersionInfo,
    VersionNotFoundError,
    side_list_counts,
    validate_fold_in,
    validate_recommendations,
    validate_side_lists,
)

RETRYABLE_STATUSES = frozenset({408, 429, 449, 503})
PARTITION_KEY_PATH = "/customer_id"
# Only `version` is queried (reading or deleting a whole version); point reads need no index. Not indexing
# the items roughly halves the request units of every document write on a real account.
INDEXING_POLICY = {
    "indexingMode": "consistent",
    "includedPaths": [{"path": "/version/?"}],
    "excludedPaths": [{"path": "/*"}],
}


@dataclass(frozen=True)
class CosmosSettings:
    """Where the store lives and how hard it may push the account.

    `concurrency` requests in flight at once; with documents of ~1 KB an upsert costs ~10 RU, so a
    sustained rate of `concurrency / latency` writes per second needs about 10 x that many RU/s.
    """

    endpoint: str
    key: str = field(repr=False)
    database: str
    container: str = "recommendations"
    concurrency: int = 32
    batch_customers: int = 1000
    max_retries: int = 8
    max_retry_wait_s: float = 10.0
    sdk_throttle_retries: int = 9
    sdk_throttle_wait_s: int = 30
    connection_retries: int = 2
    request_timeout_s: int = 60
    connection_verify: bool = True
    abandoned_after_s: float = ABANDONED_AFTER_S  # a version pending longer is taken for a killed publish


@dataclass
class PublishReport:
    version: str
    documents: int = 0
    retries: dict = field(default_factory=dict)
    seconds: float = 0.0
    retired: list = field(default_factory=list)
    skipped: bool = False
    cleanup_error: str | None = None

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


def client_options(settings: CosmosSettings) -> dict:
    """Keyword arguments of `CosmosClient` for these settings (shared by the sync and the async client)."""
    options = {
        "retry_throttle_total": settings.sdk_throttle_retries,
        "retry_throttle_backoff_max": settings.sdk_throttle_wait_s,
        "retry_connect": settings.connection_retries,
        "retry_read": settings.connection_retries,
        "retry_total": settings.connection_retries,
        "timeout": settings.request_timeout_s,
    }
    if not settings.connection_verify:
        options["connection_verify"] = False
    if settings.endpoint.lower().startswith("http://"):
        # a plain-HTTP endpoint is an emulator: the account it advertises is https, so never follow it
        options["enable_endpoint_discovery"] = False
    return options


def _run(coroutine: Awaitable):
    """Run a coroutine to completion from sync code, also when the caller already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    result: dict = {}

    def target():
        try:
            result["value"] = asyncio.run(coroutine)
        except BaseException as error:  # re-raised in the caller's thread
            result["error"] = error

    thread = threading.Thread(target=target, name="cosmos-publish")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


class CosmosRecommendationStore:
    """Versions of top-K lists in a Cosmos DB container partitioned by `/customer_id`."""

    def __init__(self, settings: CosmosSettings, target: str = "dev"):
        self.settings = settings
        self.target = target
        self._client = None
        self._container = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        s = self.settings
        return f"cosmos store {s.endpoint} database {s.database} container {s.container} ({self.target})"

    # ---- sync side: reads (serving) and the pointer ------------------------------------------------------
    def _sync_container(self):
        with self._lock:
            if self._container is None:
                from azure.cosmos import CosmosClient, PartitionKey

                try:
                    self._client = CosmosClient(
                        self.settings.endpoint, credential=self.settings.key, **client_options(self.settings)
                    )
                    database = self._client.create_database_if_not_exists(self.settings.database)
                    self._container = database.create_container_if_not_exists(
                        self.settings.container,
                        partition_key=PartitionKey(path=PARTITION_KEY_PATH),
                        indexing_policy=INDEXING_POLICY,
                    )
                except Exception as error:
                    self._client = None
                    raise StoreError(f"{self.describe()}: cannot open the container: {_brief(error)}") from error
            return self._container

    def _read_item(self, container, item_id: str, partition: str) -> dict | None:
        """A point read; None when the document does not exist.

        A real account answers 404 for a missing document. The emulator answers 500 instead; a 500 is
        therefore confirmed with a query before it is taken to mean "missing" (a real 500 still raises).
        """
        from azure.cosmos import exceptions

        try:
            return container.read_item(item_id, partition_key=partition)
        except exceptions.CosmosResourceNotFoundError:
            return None
        except exceptions.CosmosHttpResponseError as error:
            if error.status_code != 500:
                raise
            found = list(
                container.query_items(
                    "SELECT * FROM c WHERE c.customer_id = @pk AND c.id = @id",
                    parameters=[{"name": "@pk", "value": partition}, {"name": "@id", "value": item_id}],
                    enable_cross_partition_query=True,
                )
            )
            if found:
                raise
            return None

    def pointer(self) -> dict:
        container = self._sync_container()
        try:
            return self._read_item(container, POINTER_ID, META_PARTITION) or empty_pointer()
        except Exception as error:
            raise StoreError(f"{self.describe()}: cannot read the pointer: {_brief(error)}") from error

    def live_version(self) -> str | None:
        return self.pointer().get("live")

    def versions(self) -> list[VersionInfo]:
        return [
            VersionInfo(e["version"], e["published_at"], int(e["customers"]), int(e["rows"]), e.get("metadata", {}))
            for e in self.pointer().get("versions", [])
        ]

    def get(self, customer_id: str, version: str | None = None) -> pd.DataFrame:
        """The list of `customer_id` in `version` (default: the live one), ordered by rank; empty if none."""
        version = version or self.live_version()
        if version is None:
            return pd.DataFrame(columns=STORED_COLUMNS)
        return documents_to_frame([document] if (document := self._point_read(customer_id, version)) else [])

    def get_items(self, customer_id: str, version: str) -> list[tuple]:
        """The (rank, product_id, score, source, reason, because) items of `customer_id` in `version`, by rank
        (`because` a tuple of product ids): one point read, no DataFrame (the serving hot path)."""
        items = (self._point_read(customer_id, version) or {}).get("items", [])
        return sorted(
            (
                int(i["rank"]),
                str(i["product_id"]),
                None if i.get("score") is None else float(i["score"]),
                i["source"],
                i.get("reason"),
                tuple(str(p) for p in i.get("because") or ()),
            )
            for i in items
        )

    def _point_read(self, customer_id: str, version: str) -> dict | None:
        container = self._sync_container()
        try:
            return self._read_item(container, version, str(customer_id))
        except Exception as error:
            raise StoreError(
                f"{self.describe()}: cannot read customer {customer_id} of version {version}: {_brief(error)}"
            ) from error

    def read_version(self, version: str) -> pd.DataFrame:
        """Every list of `version` (a cross-partition query)."""
        container = self._sync_container()
        try:
            documents = _version_documents(container, version)
        except Exception as error:
            raise StoreError(f"{self.describe()}: cannot read version {version}: {_brief(error)}") from error
        return documents_to_frame(documents)

    def get_side_list(self, list_name: str, key: str, version: str) -> list[tuple]:
        """The (rank, product_id, score, source, reason, explanation) items of one side list of `version` (the
        customer's buy-again list, or a product's related list), by rank: one point read; empty when none."""
        container = self._sync_container()
        try:
            if list_name == "buy_again":  # in the customer's "for you" document, else in a document of its own
                document = self._read_item(container, version, str(key))
                if document is not None:
                    return side_items(document.get("buy_again"))
                alone = self._read_item(container, side_document_id(list_name, version), str(key))
                return side_items((alone or {}).get("items"))
            document = self._read_item(container, side_document_id(RELATED, version), side_partition(RELATED, key))
        except Exception as error:
            raise StoreError(
                f"{self.describe()}: cannot read the {list_name} list of {key} in version {version}: {_brief(error)}"
            ) from error
        return side_items(((document or {}).get("lists") or {}).get(list_name))

    def read_side_lists(self, version: str) -> pd.DataFrame:
        """Every side list of `version` (SIDE_LIST_COLUMNS; a cross-partition query, as `read_version`)."""
        container = self._sync_container()
        try:
            documents = _version_documents(container, version)
        except Exception as error:
            raise StoreError(f"{self.describe()}: cannot read version {version}: {_brief(error)}") from error
        return side_documents_to_frame(documents)

    def read_documents(self, version: str) -> list[dict]:
        """The raw documents of `version` (promotion copies them as they are)."""
        return _version_documents(self._sync_container(), version)

    # ---- publishing --------------------------------------------------------------------------------------
    def publish(
        self,
        version: str,
        recommendations: pd.DataFrame,
        metadata: dict,
        keep_versions: int = 3,
        on_progress: Callable[[int], None] | None = None,
        side_lists: pd.DataFrame | None = None,
    ) -> PublishReport:
        """Write `version` (the "for you" lists and the `side_lists`, SIDE_LIST_COLUMNS), make it live, keep the
        newest `keep_versions` versions. Re-publishing is a no-op when the version is already live, and a repair
        (upserts, then the pointer) otherwise."""
        validate_recommendations(recommendations)
        side_lists = validate_side_lists(side_lists)
        check_version(version)
        model_version = str(metadata.get("model_version", version))
        side = side_list_rows(side_lists)
        customer_ids = set(recommendations["customer_id"].astype(str))
        documents = len(customer_ids) + side_document_count(side, customer_ids)
        info = {
            "version": version,
            "published_at": pd.Timestamp.now(tz="UTC").isoformat(),
            "customers": len(customer_ids),
            "rows": len(recommendations),
            "documents": documents,
            # promotion checks a copy against `documents`
            "metadata": {**metadata, LISTS_METADATA: side_list_counts(side_lists), "documents": documents},
        }
        size = self.settings.batch_customers
        batches = itertools.chain(
            recommendation_documents(version, model_version, recommendations, size, side),
            side_list_documents(version, side, customer_ids, size),
        )
        return self.publish_batches(version, batches, info, keep_versions, on_progress)

    def upsert_customers(self, version: str, recommendations: pd.DataFrame, buy_again: pd.DataFrame) -> int:
        """Replace some customers' lists in `version`, a version the pointer keeps (a fold-in: lists refreshed after
        an order, written into the live version without publishing a new one); returns the customers written.

        `recommendations` (the columns `publish` takes) holds the new "for you" lists of a set of customers,
        `buy_again` (SIDE_LIST_COLUMNS, list "buy_again" only, `key` the customer) their new buy-again lists,
        checked as strictly as the local store checks a publish (`validate_fold_in`: both stores refuse the same
        input). Each customer given in `recommendations` gets exactly the lists given: no buy-again rows means
        their buy-again list is deleted (the caller passes a customer's full new state). A customer given in
        `buy_again` only keeps their "for you" list. Every other customer and list of the version is untouched.

        Per customer one document upsert in their partition (the "for you" document carrying the buy-again list,
        or a `buy_again@<version>` document for a customer without one, deleted once they have one): a reader
        sees a customer's old lists or the new ones. The documents carry the version's `model_version`, as on
        publish. The pointer is never moved and no version created: a version the pointer does not keep is
        refused (VersionNotFoundError) before anything is written. The version's counts in the pointer
        (customers, rows, documents, buy-again lists) are updated after the writes, to what a publish of its new
        content would record (promotion checks a version against them). A failure part-way leaves the customers
        written with their new lists (and counted); re-running the same upsert completes it.
        """
        fold_in = validate_fold_in(version, recommendations, buy_again)
        try:
            check_version(version)
            kept = self.pointer().get("versions", [])
            entry = next((e for e in kept if e["version"] == version), None)
            if entry is None:
                kept = [e["version"] for e in kept]
                raise VersionNotFoundError(
                    f"{self.describe()} does not hold version {version} (kept: {kept or 'none'}); an upsert writes "
                    "into a published version, it never creates one"
                )
            model_version = str((entry.get("metadata") or {}).get("model_version", version))
            side = side_list_rows(fold_in.buy_again)
            size = self.settings.batch_customers
            for_you = {
                doc["customer_id"]: doc
                for batch in recommendation_documents(version, model_version, fold_in.recommendations, size, side)
                for doc in batch
            }
            alone = {
                doc["key"]: doc for batch in side_list_documents(version, side, set(for_you), size) for doc in batch
            }
        except DocumentError as error:
            raise StoreError(f"upserting customers into version {version}: {error}") from error
        plans = [(customer, for_you.get(customer), alone.get(customer)) for customer in fold_in.customers]
        report = PublishReport(version=version)
        _run(self._upsert(version, plans, report))
        return len(plans)

    async def _upsert(self, version: str, plans: list[tuple], report: PublishReport) -> None:
        from azure.cosmos import exceptions

        alone_id = side_document_id("buy_again", version)
        change, written = UpsertCounts(), []
        async with self._async_client() as client:
            container = client.get_database_client(self.settings.database).get_container_client(self.settings.container)

            async def fold_in(plan: tuple) -> None:
                customer, for_you, alone = plan
                held = {doc["id"]: doc for doc in await self._customer_documents(container, version, customer, report)}
                current, alone_before = held.get(version), held.get(alone_id)
                document, delete_alone, counts = customer_fold_in(current, alone_before, for_you, alone)
                await self._with_retries(lambda: container.upsert_item(document), report)
                written.append(document)
                change.add(counts)
                if delete_alone:  # the buy-again list now lives in the "for you" document
                    with contextlib.suppress(exceptions.CosmosResourceNotFoundError):
                        await self._with_retries(
                            lambda: container.delete_item(alone_id, partition_key=customer), report
                        )
                    change.documents -= 1

            failure = None
            try:
                await self._bounded(fold_in, plans)
            except Exception as error:
                failure = error
            if change:
                try:
                    await self._update_pointer(container, lambda p: self._counted(p, version, change), report)
                except VersionNotFoundError:
                    # a publish dropped the version while this upsert wrote: its documents belong to no version
                    for document in written:
                        with contextlib.suppress(Exception):
                            await container.delete_item(document["id"], partition_key=document["customer_id"])
                    raise
                except Exception as error:  # the documents are written: a re-run finds them and counts nothing
                    raise StoreError(
                        f"{self.describe()}: {len(written)} customers were upserted into version {version} but its "
                        f"counts in the pointer were not updated ({_brief(error)}): it holds {change.customers:+d} "
                        f"customers, {change.rows:+d} rows, {change.documents:+d} documents more than recorded, "
                        "which promotion will refuse"
                    ) from error
        if failure is not None:
            raise StoreError(
                f"{self.describe()}: upserting customers into version {version} failed after {len(written)} of "
                f"{len(plans)} customers ({_brief(failure)}); those have their new lists, re-run the upsert to "
                "write the others"
            ) from failure

    async def _customer_documents(self, container, version: str, customer: str, report: PublishReport) -> list[dict]:
        """The customer's documents of `version` ("for you", buy-again alone): one query of their partition, retried
        like a write (a point read of a missing document would cost a second request on the emulator, see
        `_read_item`)."""

        async def query() -> list[dict]:
            return [
                document
                async for document in container.query_items(
                    "SELECT * FROM c WHERE c.customer_id = @pk AND c.version = @v",
                    parameters=[{"name": "@pk", "value": customer}, {"name": "@v", "value": version}],
                    partition_key=customer,
                )
            ]

        return await self._with_retries(query, report)

    def _counted(self, pointer: dict, version: str, change: UpsertCounts) -> tuple[dict, None]:
        updated = pointer_after_upsert(pointer, version, change)
        if updated is None:
            raise VersionNotFoundError(
                f"{self.describe()} dropped version {version} (a publish pruned it) while customers were upserted "
                "into it; the documents it wrote are removed"
            )
        return updated, None

    def publish_batches(
        self,
        version: str,
        batches: Iterable[list[dict]],
        info: dict,
        keep_versions: int = 3,
        on_progress: Callable[[int], None] | None = None,
    ) -> PublishReport:
        check_version(version)
        if keep_versions < 1:
            raise StoreError(f"keep_versions must be at least 1, got {keep_versions}")
        if self.live_version() == version:
            return PublishReport(version=version, skipped=True)
        report = PublishReport(version=version)
        started = time.perf_counter()
        try:
            _run(self._publish(version, batches, info, keep_versions, report, on_progress))
        except StoreError:
            raise
        except Exception as error:
            raise StoreError(
                f"{self.describe()}: publishing version {version} failed after {report.documents} documents "
                f"({_brief(error)}); the live version is still the previous one"
            ) from error
        finally:
            report.seconds = time.perf_counter() - started
        return report

    def _async_client(self):
        from azure.cosmos.aio import CosmosClient

        return CosmosClient(self.settings.endpoint, credential=self.settings.key, **client_options(self.settings))

    async def _publish(self, version, batches, info, keep_versions, report, on_progress) -> None:
        from azure.cosmos import PartitionKey

        async with self._async_client() as client:
            database = await client.create_database_if_not_exists(self.settings.database)
            container = await database.create_container_if_not_exists(
                self.settings.container,
                partition_key=PartitionKey(path=PARTITION_KEY_PATH),
                indexing_policy=INDEXING_POLICY,
            )
            await self._update_pointer(container, lambda p: (pointer_with_pending(p, version), None), report)

            every = self.settings.batch_customers

            async def upsert(document: dict) -> None:
                await self._with_retries(lambda: container.upsert_item(document), report)
                report.documents += 1  # confirmed writes only
                failpoint("cosmos.document")
                if on_progress and report.documents % every == 0:
                    on_progress(report.documents)

            def documents():
                for batch in batches:
                    yield from batch

            await self._bounded(upsert, documents())
            # never make a version live that misses documents (another writer removing it, a lost write)
            stored = await self._count_documents(container, version)
            expected = info.get("documents", info["customers"])  # side lists: one document per list and key
            if stored != expected:
                raise StoreError(
                    f"{self.describe()}: version {version} holds {stored} documents after the publish, "
                    f"{expected} expected; it is not made live (the live version is still the previous "
                    "one); re-run the publish"
                )
            grace = self.settings.abandoned_after_s
            _, retired = await self._update_pointer(
                container, lambda p: pointer_after_publish(p, info, keep_versions, grace_s=grace), report
            )
            report.retired = list(retired or [])
            if retired:
                # the new version is live: a failed clean-up only leaves documents the next publish removes
                try:
                    await self._delete_versions(container, retired, report)
                    await self._update_pointer(container, lambda p: (pointer_without_retired(p, retired), None), report)
                except Exception as error:
                    report.cleanup_error = f"removing versions {retired} failed: {_brief(error)}"

    async def _bounded(self, operation: Callable[[dict], Awaitable[None]], documents: Iterable[dict]) -> None:
        """Apply `operation` to every document with at most `concurrency` in flight; the iterator is consumed
        lazily (workers pull from it), so memory holds one batch of documents, not the whole version."""
        iterator = iter(documents)
        failure: list[BaseException] = []

        async def worker():
            while not failure:
                try:
                    document = next(iterator)
                except StopIteration:
                    return
                try:
                    await operation(document)
                except BaseException as error:
                    failure.append(error)
                    return

        await asyncio.gather(*(worker() for _ in range(max(1, self.settings.concurrency))))
        if failure:
            raise failure[0]

    async def _with_retries(self, request: Callable[[], Awaitable], report: PublishReport):
        """Retry one request on 429/503/408/449, waiting what the server asks for.

        Why not only azure-core's retry policy: it is used — the client's `retry_*` options (`client_options`)
        configure the SDK's throttling and connection retries. This loop sits on top for what those options do
        not cover for a bulk write: 503 and 449 with the server's `x-ms-retry-after-ms`, a budget per document
        (`max_retries`, `max_retry_wait_s`) so one stuck document cannot stall the stream forever, and the
        retries counted per status in the publish report. tenacity would do the same in more lines of setup.
        """
        from azure.cosmos import exceptions

        waited = 0.0
        attempt = 0
        while True:
            try:
                return await request()
            except exceptions.CosmosHttpResponseError as error:
                attempt += 1
                if error.status_code not in RETRYABLE_STATUSES or attempt > self.settings.max_retries:
                    raise
                delay = retry_delay_seconds(error.headers, attempt, cap_s=self.settings.max_retry_wait_s)
                if waited + delay > self.settings.max_retry_wait_s * self.settings.max_retries:
                    raise
                report.retries[error.status_code] = report.retries.get(error.status_code, 0) + 1
                waited += delay
                await asyncio.sleep(delay)

    async def _update_pointer(self, container, change: Callable[[dict], tuple[dict, object]], report: PublishReport):
        """Read-modify-write of the pointer, guarded by its etag (a concurrent writer makes us re-read)."""
        from azure.core import MatchConditions
        from azure.cosmos import exceptions

        for _ in range(20):
            try:
                current = await self._with_retries(
                    lambda: container.read_item(POINTER_ID, partition_key=META_PARTITION), report
                )
            except exceptions.CosmosHttpResponseError as error:
                if error.status_code not in (404, 500):  # the emulator answers 500 for a missing document
                    raise
                try:
                    await self._with_retries(lambda: container.create_item(empty_pointer()), report)
                except exceptions.CosmosResourceExistsError:
                    if error.status_code == 500:  # the pointer exists: that 500 was a real server error
                        raise error from None
                continue
            updated, result = change({k: v for k, v in current.items() if not k.startswith("_")})
            try:
                await self._with_retries(
                    lambda updated=updated, etag=current["_etag"]: container.replace_item(
                        POINTER_ID, updated, etag=etag, match_condition=MatchConditions.IfNotModified
                    ),
                    report,
                )
                return updated, result
            except exceptions.CosmosAccessConditionFailedError:
                continue
        raise StoreError(f"{self.describe()}: the pointer kept changing under concurrent publishes; retry later")

    async def _count_documents(self, container, version: str) -> int:
        counts = [
            value
            async for value in container.query_items(
                "SELECT VALUE COUNT(1) FROM c WHERE c.version = @v", parameters=[{"name": "@v", "value": version}]
            )
        ]
        return int(sum(counts))

    async def _delete_versions(self, container, versions: list[str], report: PublishReport) -> None:
        from azure.cosmos import exceptions

        async def delete(document: dict) -> None:
            with contextlib.suppress(exceptions.CosmosResourceNotFoundError):
                await self._with_retries(
                    lambda: container.delete_item(document["id"], partition_key=document["customer_id"]), report
                )

        for version in versions:
            ids = [
                doc
                async for doc in container.query_items(
                    "SELECT c.id, c.customer_id FROM c WHERE c.version = @v",
                    parameters=[{"name": "@v", "value": version}],
                )
            ]
            await self._bounded(delete, ids)


def _version_documents(container, version: str) -> list[dict]:
    """Every document of `version` in `container` (a cross-partition query)."""
    return list(
        container.query_items(
            "SELECT * FROM c WHERE c.version = @v",
            parameters=[{"name": "@v", "value": version}],
            enable_cross_partition_query=True,
        )
    )


def _brief(error: BaseException) -> str:
    """One line naming the error (the SDK's messages span several lines and repeat themselves)."""
    status = getattr(error, "status_code", None)
    text = str(getattr(error, "message", None) or error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    return f"{type(error).__name__}{f' {status}' if status else ''}: {first[:300]}"
