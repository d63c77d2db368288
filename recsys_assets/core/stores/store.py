"""Recommendation stores: where published versions live and which one is live.

Every store keeps versions side by side and one pointer naming the live version; `publish` writes the whole
new version first and switches the pointer last, so readers see the old or the new set, never a mix.
`upsert_customers` (fold-ins) replaces some customers' lists inside a version the store holds, never moving the
pointer: a reader sees each customer's old lists or new ones.
`LocalRecommendationStore` is the embedded default (one SQLite file); the Cosmos DB store implements the
same interface.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd

from ..faults import failpoint
from .packed_lists import SEPARATOR, ListLayoutError, pack_lists, unpack_items
from .popularity import POPULAR_COLUMNS, POPULAR_K, popularity_frame

RECOMMENDATION_COLUMNS = ["customer_id", "rank", "product_id", "score", "source"]
# each item's explanation (core/modeling/explain.py): a reason code and a JSON array of bought product ids;
# optional on publish (NULL when absent), always returned by get / read_version
EXPLANATION_COLUMNS = ["reason", "because"]
STORED_COLUMNS = RECOMMENDATION_COLUMNS + EXPLANATION_COLUMNS
# the lists published next to the "for you" lists, in the same version (core/modeling/shop_lists.py): `list` names
# the list, `key` is the customer (buy_again) or the product the list is for (bought_together, similar)
FOR_YOU = "for_you"
SIDE_LISTS = ("buy_again", "bought_together", "similar")
SIDE_LIST_COLUMNS = ["list", "key", "rank", "product_id", "score", "source", "reason", "explanation"]
# version metadata key the stores write on publish: {list name: number of keys} of the side lists it holds (a
# version published before side lists existed has none: it holds the "for you" lists only)
LISTS_METADATA = "lists"


class StoreError(RuntimeError):
    """The store could not be read or written; the message names the store and the version."""


class VersionNotFoundError(StoreError):
    """A point read named a version the store no longer holds (dropped by a newer publish): a reader that still
    holds the old version name refreshes its live version and reads again."""


@dataclass(frozen=True)
class VersionInfo:
    version: str
    published_at: str
    customers: int
    rows: int
    metadata: dict


class RecommendationStore(Protocol):
    def publish(self, version: str, recommendations: pd.DataFrame, metadata: dict, keep_versions: int) -> None: ...

    def upsert_customers(self, version: str, recommendations: pd.DataFrame, buy_again: pd.DataFrame) -> int: ...

    def live_version(self) -> str | None: ...

    def versions(self) -> list[VersionInfo]: ...

    def get(self, customer_id: str, version: str | None = None) -> pd.DataFrame: ...

    def read_version(self, version: str) -> pd.DataFrame: ...

    def get_side_list(self, list_name: str, key: str, version: str) -> list[tuple]: ...

    def read_side_lists(self, version: str) -> pd.DataFrame: ...

    def describe(self) -> str: ...


def validate_recommendations(recommendations: pd.DataFrame) -> None:
    missing = [c for c in RECOMMENDATION_COLUMNS if c not in recommendations.columns]
    if missing:
        raise StoreError(f"recommendations are missing column(s) {missing}; expected {RECOMMENDATION_COLUMNS}")


def validate_side_lists(side_lists: pd.DataFrame | None) -> pd.DataFrame:
    """The side lists to publish (an empty frame for None), or StoreError naming the missing columns or lists."""
    if side_lists is None:
        return pd.DataFrame(columns=SIDE_LIST_COLUMNS)
    missing = [c for c in SIDE_LIST_COLUMNS if c not in side_lists.columns]
    if missing:
        raise StoreError(f"side lists are missing column(s) {missing}; expected {SIDE_LIST_COLUMNS}")
    unknown = sorted(set(side_lists["list"].astype(str)) - set(SIDE_LISTS))
    if unknown:
        raise StoreError(f"side lists hold unknown list name(s) {unknown}; the lists are {list(SIDE_LISTS)}")
    return side_lists


@dataclass(frozen=True)
class FoldIn:
    """The validated input of an upsert (`upsert_customers`): each customer's new lists, packed as the local store
    keeps them (packing is also the check both stores share: a rank twice, a separator in a text)."""

    recommendations: pd.DataFrame
    buy_again: pd.DataFrame
    for_you_rows: list[tuple]  # (version, customer_id, *packed item fields)
    buy_again_rows: list[tuple]  # (version, "buy_again", customer_id, *packed item fields)

    @property
    def customers(self) -> list[str]:
        """Every customer written: those given a "for you" list and those given a buy-again list, sorted."""
        return sorted({row[1] for row in self.for_you_rows} | {row[2] for row in self.buy_again_rows})


def validate_fold_in(version: str, recommendations: pd.DataFrame, buy_again: pd.DataFrame | None) -> FoldIn:
    """The lists of an upsert into `version`, checked as strictly as a publish checks them (the same functions),
    or StoreError naming the version and the problem: a missing column, a list other than buy_again, a list
    holding a rank twice, a text holding a separator character."""
    try:
        validate_recommendations(recommendations)
        buy_again = validate_side_lists(buy_again)
        others = sorted(set(buy_again["list"].astype(str)) - {"buy_again"})
        if others:
            raise StoreError(f"an upsert writes customers' buy_again lists only; the side lists hold {others}")
        for_you_rows = list(packed_rows(version, recommendations))
        buy_again_rows = list(packed_side_rows(version, buy_again))
    except (StoreError, ListLayoutError) as error:
        raise StoreError(f"upserting customers into version {version}: {error}") from error
    return FoldIn(recommendations, buy_again, for_you_rows, buy_again_rows)


@dataclass
class UpsertCounts:
    """How an upsert changed a version's counts: customers holding a "for you" list, their items (`rows`),
    customers holding a buy-again list, documents (Cosmos DB)."""

    customers: int = 0
    rows: int = 0
    buy_again: int = 0
    documents: int = 0

    def __bool__(self) -> bool:
        return any((self.customers, self.rows, self.buy_again, self.documents))

    def add(self, other: UpsertCounts) -> None:
        self.customers += other.customers
        self.rows += other.rows
        self.buy_again += other.buy_again
        self.documents += other.documents


def metadata_after_upsert(metadata: dict, change: UpsertCounts) -> dict:
    """A version's metadata after an upsert: the buy-again count of its lists (`LISTS_METADATA`) and its document
    count (when it records one) as a publish of the version's new content would record them."""
    lists = dict(metadata.get(LISTS_METADATA) or {})
    buy_again = int(lists.get("buy_again", 0)) + change.buy_again
    lists = {name: buy_again if name == "buy_again" else lists.get(name, 0) for name in SIDE_LISTS}
    updated = {**metadata, LISTS_METADATA: {name: count for name, count in lists.items() if count > 0}}
    if "documents" in metadata:
        updated["documents"] = int(metadata["documents"]) + change.documents
    return updated


def packed_length(ranks: str) -> int:
    """How many items a packed list holds (its `ranks` field)."""
    return ranks.count(SEPARATOR) + 1


def side_list_counts(side_lists: pd.DataFrame) -> dict[str, int]:
    """{list name: number of keys (customers or products) holding a list} of side lists, in SIDE_LISTS order."""
    if side_lists.empty:
        return {}
    counts = side_lists.groupby("list", observed=True)["key"].nunique()
    return {name: int(counts[name]) for name in SIDE_LISTS if name in counts.index}


def because_text(value) -> str | None:
    """A `because` value as stored: the JSON array text (lists and tuples are encoded; None stays None)."""
    if value is None or isinstance(value, str):
        return value
    if value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return json.dumps([str(v) for v in value])


def because_texts(column: pd.Series) -> pd.Series:
    """A `because` column as stored: JSON array texts (the list builders write them so; lists and tuples given by
    other callers are encoded one by one)."""
    if pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
        return column
    return column.map(because_text).astype(object)


def packed_rows(version: str, recommendations: pd.DataFrame) -> Iterator[tuple]:
    """(version, customer_id, *packed item fields) rows of the "for you" lists (core/stores/packed_lists.py)."""
    rows = recommendations.reindex(columns=STORED_COLUMNS)
    rows["because"] = because_texts(rows["because"])
    return ((version, *row) for row in pack_lists(rows, ["customer_id"], "because"))


def packed_side_rows(version: str, side_lists: pd.DataFrame) -> Iterator[tuple]:
    """(version, list, key, *packed item fields) rows of the side lists."""
    return ((version, *row) for row in pack_lists(side_lists, ["list", "key"], "explanation"))


def popular_rows(popular: pd.DataFrame) -> list[tuple]:
    """(*POPULAR_COLUMNS) tuples of a popularity list (popularity_frame), `because` as stored (JSON text or None)."""
    return list(
        zip(
            popular["rank"].astype(int).tolist(),
            popular["product_id"].astype(str).tolist(),
            [None if v is None or v != v else float(v) for v in popular["score"]],
            popular["source"].astype(str).tolist(),
            [None if v is None or v != v else str(v) for v in popular["reason"]],
            [because_text(v) for v in popular["because"]],
            strict=True,
        )
    )


def popular_tuples(version: str, recommendations: pd.DataFrame) -> Iterator[tuple]:
    """(version, *POPULAR_COLUMNS) tuples of the popularity list of `recommendations` (written on publish)."""
    return ((version, *row) for row in popular_rows(popularity_frame(recommendations)))


# the packed item fields of a stored list, in packed_lists' order
PACKED_FIELDS = "ranks TEXT NOT NULL, product_ids TEXT NOT NULL, sources TEXT NOT NULL, reasons TEXT NOT NULL, "
LIST_FIELDS = "ranks, product_ids, sources, reasons, becauses, scores"  # customer_lists' item fields
SIDE_ITEM_FIELDS = "ranks, product_ids, sources, reasons, explanations, scores"  # side_list_items' item fields


def _with_because(rows: list[tuple]) -> list[tuple]:
    """Item rows whose last column (`because`, JSON text or NULL) is a tuple of product ids; one JSON decode for
    the whole list (a decode per item was most of a point read's cost)."""
    if not rows:
        return rows
    decoded = json.loads("[" + ",".join(row[-1] or "[]" for row in rows) + "]")
    return [(*row[:-1], tuple(str(v) for v in because)) for row, because in zip(rows, decoded, strict=True)]


_READERS_OPENED = itertools.count(1)  # serial numbers of the reading connections (change_token)


class LocalRecommendationStore:
    """Versions of top-K lists in one SQLite file (WAL mode, so readers never block the publisher).

    Serving reads it like Cosmos DB: one customer's (or one product's) list per request, an indexed point read (the
    primary keys lead with the version) on a read-only connection kept open per thread; the popularity list of each
    version is written next to it on publish (table `popular`), so a reader never loads a whole version.
    """

    kind = "local SQLite store"  # what /health calls it (never its path)
    serving_strategy = "point"  # store_reader: read one list per request, never the whole version
    # a point read is an indexed read of a local file (~0.15 ms of CPU): cheap enough to run on the event loop
    # (store_reader.LiveRecommendations.blocking), also where a lookup would otherwise not read at all (lookup_control)
    local_point_reads = True

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._layout_checked = False
        self._readers = threading.local()  # per thread: (file identity, read-only connection)

    def describe(self) -> str:
        return f"local store {self.path}"

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(
            f"""
            CREATE TABLE IF NOT EXISTS customer_lists (
                version TEXT NOT NULL, customer_id TEXT NOT NULL, {PACKED_FIELDS} becauses TEXT NOT NULL,
                scores BLOB NOT NULL, PRIMARY KEY (version, customer_id));
            CREATE TABLE IF NOT EXISTS versions (
                version TEXT PRIMARY KEY, published_at TEXT NOT NULL, customers INTEGER NOT NULL,
                rows INTEGER NOT NULL, metadata TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS live (id INTEGER PRIMARY KEY CHECK (id = 1), version TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS side_list_items (
                version TEXT NOT NULL, list TEXT NOT NULL, key TEXT NOT NULL, {PACKED_FIELDS}
                explanations TEXT NOT NULL, scores BLOB NOT NULL, PRIMARY KEY (version, list, key));
            CREATE TABLE IF NOT EXISTS popular (
                version TEXT NOT NULL, rank INTEGER NOT NULL, product_id TEXT NOT NULL, score REAL,
                source TEXT NOT NULL, reason TEXT, because TEXT, PRIMARY KEY (version, rank));
            """
        )
        if not self._layout_checked:
            _move_item_rows(connection)
            self._layout_checked = True
        return connection

    def publish(
        self,
        version: str,
        recommendations: pd.DataFrame,
        metadata: dict,
        keep_versions: int = 3,
        side_lists: pd.DataFrame | None = None,
    ) -> None:
        """Write `version` (the "for you" lists and the `side_lists`, SIDE_LIST_COLUMNS) and make it live in one
        transaction; keep the newest `keep_versions` versions.

        Re-publishing an existing version replaces its rows (idempotent).
        """
        validate_recommendations(recommendations)
        side_lists = validate_side_lists(side_lists)
        metadata = {**metadata, LISTS_METADATA: side_list_counts(side_lists)}
        if keep_versions < 1:
            raise StoreError(f"keep_versions must be at least 1, got {keep_versions}")
        published_at = pd.Timestamp.now(tz="UTC").isoformat()
        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("DELETE FROM customer_lists WHERE version = ?", (version,))
            connection.executemany(
                "INSERT INTO customer_lists VALUES (?, ?, ?, ?, ?, ?, ?, ?)", packed_rows(version, recommendations)
            )
            connection.execute("DELETE FROM popular WHERE version = ?", (version,))
            connection.executemany(
                f"INSERT INTO popular (version, {', '.join(POPULAR_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                popular_tuples(version, recommendations),
            )
            connection.execute("DELETE FROM side_list_items WHERE version = ?", (version,))
            connection.executemany(
                "INSERT INTO side_list_items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", packed_side_rows(version, side_lists)
            )
            connection.execute(
                "INSERT OR REPLACE INTO versions VALUES (?, ?, ?, ?, ?)",
                (
                    version,
                    published_at,
                    int(recommendations["customer_id"].nunique()),
                    len(recommendations),
                    json.dumps(metadata),
                ),
            )
            failpoint("store.publish")  # the new rows written, the pointer not switched, nothing committed
            connection.execute("INSERT OR REPLACE INTO live VALUES (1, ?)", (version,))
            stale = [
                v
                for (v,) in connection.execute(
                    "SELECT version FROM versions WHERE version != ? ORDER BY published_at DESC", (version,)
                ).fetchall()[keep_versions - 1 :]
            ]
            for old in stale:
                connection.execute("DELETE FROM customer_lists WHERE version = ?", (old,))
                connection.execute("DELETE FROM side_list_items WHERE version = ?", (old,))
                connection.execute("DELETE FROM popular WHERE version = ?", (old,))
                connection.execute("DELETE FROM versions WHERE version = ?", (old,))
            connection.execute("COMMIT")
        except Exception as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise StoreError(f"{self.describe()}: publishing version {version} failed: {error}") from error
        finally:
            connection.close()

    def upsert_customers(self, version: str, recommendations: pd.DataFrame, buy_again: pd.DataFrame) -> int:
        """Replace some customers' lists in `version`, a version the store holds (a fold-in: lists refreshed after
        an order, written into the live version without publishing a new one); returns the customers written.

        `recommendations` (the columns `publish` takes) holds the new "for you" lists of a set of customers,
        `buy_again` (SIDE_LIST_COLUMNS, list "buy_again" only, `key` the customer) their new buy-again lists.
        Each customer given in `recommendations` gets exactly the lists given: no buy-again rows means their
        buy-again list is deleted (the caller passes a customer's full new state). A customer given in
        `buy_again` only keeps their "for you" list. Every other customer and list of the version is untouched.

        One transaction: a reader sees a customer's old lists or the new ones, never a mix. The version's
        existence is checked inside it, so an upsert racing a publish that prunes the version fails with
        VersionNotFoundError and writes nothing; an upsert never creates a version and never moves the live
        pointer. The version's counts (customers, rows, buy-again lists in its metadata) are updated in the same
        transaction, to what a publish of its new content would record: promotion checks a version against
        them. Its popularity list (computed on publish from all lists) is left as published.
        """
        fold_in = validate_fold_in(version, recommendations, buy_again)
        for_you = {row[1] for row in fold_in.for_you_rows}
        change = UpsertCounts(rows=sum(packed_length(row[2]) for row in fold_in.for_you_rows))
        change.buy_again = len(fold_in.buy_again_rows)
        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE")
            held = connection.execute(
                "SELECT customers, rows, metadata FROM versions WHERE version = ?", (version,)
            ).fetchone()
            if held is None:
                kept = [v for (v,) in connection.execute("SELECT version FROM versions ORDER BY published_at DESC")]
                raise VersionNotFoundError(
                    f"{self.describe()} does not hold version {version} (kept: {kept or 'none'}); an upsert writes "
                    "into a published version, it never creates one"
                )
            for customer in for_you:
                old = connection.execute(
                    "DELETE FROM customer_lists WHERE version = ? AND customer_id = ? RETURNING ranks",
                    (version, customer),
                ).fetchone()
                change.customers += old is None
                change.rows -= packed_length(old[0]) if old else 0
            for customer in fold_in.customers:  # one given a "for you" list and no buy-again rows loses the list
                removed = connection.execute(
                    "DELETE FROM side_list_items WHERE version = ? AND list = 'buy_again' AND key = ? RETURNING key",
                    (version, customer),
                ).fetchone()
                change.buy_again -= removed is not None
            connection.executemany("INSERT INTO customer_lists VALUES (?, ?, ?, ?, ?, ?, ?, ?)", fold_in.for_you_rows)
            connection.executemany(
                "INSERT INTO side_list_items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", fold_in.buy_again_rows
            )
            customers, rows, metadata = held
            connection.execute(
                "UPDATE versions SET customers = ?, rows = ?, metadata = ? WHERE version = ?",
                (
                    customers + change.customers,
                    rows + change.rows,
                    json.dumps(metadata_after_upsert(json.loads(metadata), change)),
                    version,
                ),
            )
            connection.execute("COMMIT")
        except Exception as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            if isinstance(error, StoreError):
                raise
            raise StoreError(
                f"{self.describe()}: upserting customers into version {version} failed: {error}"
            ) from error
        finally:
            connection.close()
        return len(fold_in.customers)

    def _check_present(self) -> None:
        """A reader never re-creates a store it has opened before: a file that is gone (deleted, its disk
        unmounted) is an error to report, not an empty store (which would say "nothing published")."""
        if self._layout_checked and not self.path.exists():
            raise self._missing()

    def _missing(self) -> StoreError:
        return StoreError(f"{self.describe()}: the store file is missing")

    def live_version(self) -> str | None:
        self._check_present()
        connection = self._connect()
        try:
            row = connection.execute("SELECT version FROM live WHERE id = 1").fetchone()
            return row[0] if row else None
        finally:
            connection.close()

    def versions(self) -> list[VersionInfo]:
        self._check_present()
        connection = self._connect()
        try:
            rows = connection.execute(
                "SELECT version, published_at, customers, rows, metadata FROM versions ORDER BY published_at DESC"
            ).fetchall()
        finally:
            connection.close()
        return [VersionInfo(v, p, c, r, json.loads(m)) for v, p, c, r, m in rows]

    def get(self, customer_id: str, version: str | None = None) -> pd.DataFrame:
        """The list of `customer_id` in `version` (default: the live one), ordered by rank."""
        version = version or self.live_version()
        if version is None:
            return pd.DataFrame(columns=STORED_COLUMNS)
        self._check_present()
        connection = self._connect()
        try:
            rows = connection.execute(
                f"SELECT customer_id, {LIST_FIELDS} FROM customer_lists WHERE version = ? AND customer_id = ?",
                (version, customer_id),
            ).fetchall()
        finally:
            connection.close()
        return _items_frame(rows, STORED_COLUMNS)

    def read_version(self, version: str) -> pd.DataFrame:
        self._check_present()
        connection = self._connect()
        try:
            rows = connection.execute(
                f"SELECT customer_id, {LIST_FIELDS} FROM customer_lists WHERE version = ? ORDER BY customer_id",
                (version,),
            ).fetchall()
        finally:
            connection.close()
        return _items_frame(rows, STORED_COLUMNS)

    def get_side_list(self, list_name: str, key: str, version: str) -> list[tuple]:
        """The (rank, product_id, score, source, reason, explanation) items of one side list of `version` (the
        customer's buy-again list, or a product's related list), by rank: one indexed point read of the list's row;
        empty when the version holds none for `key`, VersionNotFoundError when the store no longer holds `version`."""
        rows = self._point_read(
            f"SELECT {SIDE_ITEM_FIELDS} FROM side_list_items WHERE version = ? AND list = ? AND key = ?",
            (version, list_name, key),
            version,
        )
        return unpack_items(*rows[0]) if rows else []

    def get_items(self, customer_id: str, version: str) -> list[tuple]:
        """The (rank, product_id, score, source, reason, because) items of `customer_id` in `version`, by rank
        (`because` a tuple of product ids): one indexed point read of the customer's row, no DataFrame (the serving
        hot path). Empty when the version does not hold the customer; VersionNotFoundError when the store no longer
        holds `version`."""
        rows = self._point_read(
            f"SELECT {LIST_FIELDS} FROM customer_lists WHERE version = ? AND customer_id = ?",
            (version, customer_id),
            version,
        )
        return _with_because(unpack_items(*rows[0])) if rows else []

    def popular_items(self, version: str, k: int = POPULAR_K) -> list[tuple]:
        """The popularity list of `version` as (rank, product_id, score, source, reason, because) items (see
        core/stores/popularity.py): written on publish; computed from the version's lists for a version published
        before that (or moved from the one-row-per-item layout)."""
        connection = self._reader()
        rows = connection.execute(
            "SELECT rank, product_id, score, source, reason, because FROM popular WHERE version = ? ORDER BY rank "
            "LIMIT ?",
            (version, k),
        ).fetchall()
        if not rows:
            rows = self._popular_by_query(connection, version, k)
        return _with_because(rows)

    def _popular_by_query(self, connection: sqlite3.Connection, version: str, k: int) -> list[tuple]:
        """popularity_frame's rule over the version's lists, read once (a rare path: a version without `popular`
        rows; the store reader computes it once per version it goes live with)."""
        lists = connection.execute(
            f"SELECT customer_id, {LIST_FIELDS} FROM customer_lists WHERE version = ?", (version,)
        ).fetchall()
        return popular_rows(popularity_frame(_items_frame(lists, STORED_COLUMNS), k))

    def _point_read(self, sql: str, params: tuple, version: str) -> list[tuple]:
        """Rows of one indexed read; an empty answer is checked against the versions table, so a reader holding a
        dropped version learns it (VersionNotFoundError) instead of serving "not found" from it."""
        try:
            connection = self._reader()
            rows = connection.execute(sql, params).fetchall()
            if rows or connection.execute("SELECT 1 FROM versions WHERE version = ?", (version,)).fetchone():
                return rows
        except (sqlite3.Error, OSError) as error:
            raise StoreError(f"{self.describe()}: reading version {version} failed: {error}") from error
        raise VersionNotFoundError(f"{self.describe()} no longer holds version {version}")

    def _reader(self) -> sqlite3.Connection:
        """This thread's read-only connection, opened once (and again when the file was replaced)."""
        if not self._layout_checked:
            self._connect().close()  # creates the file and its tables, upgrades an older layout
        try:  # one stat per read: is the file there, and is it still the one this thread's connection opened?
            identity = os.stat(self.path).st_ino
        except FileNotFoundError:
            raise self._missing() from None
        held = getattr(self._readers, "held", None)
        if held is not None and held[0] == identity:
            return held[1]
        if held is not None:
            held[1].close()
            self._readers.held = None  # not kept if the new open fails: the file may come back under that identity
        connection = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        self._readers.held = (identity, connection, next(_READERS_OPENED))
        return connection

    def change_token(self) -> tuple[int, int]:
        """A value that differs whenever the rows this thread reads may have changed since it was last taken: the
        reading connection's serial number and its `PRAGMA data_version`, which SQLite changes whenever another
        connection (this process's publish, another process's write) commits to the file. Values taken on
        different connections never compare equal. For caches of decoded lists (core/stores/list_cache.py): take
        it before reading the rows."""
        try:
            connection = self._reader()
            version = connection.execute("PRAGMA data_version").fetchone()[0]
        except (sqlite3.Error, OSError) as error:
            raise StoreError(f"{self.describe()}: reading the store's state failed: {error}") from error
        return self._readers.held[2], version

    def read_side_lists(self, version: str) -> pd.DataFrame:
        """Every side list of `version` (SIDE_LIST_COLUMNS), by list, key and rank; empty for older versions."""
        self._check_present()
        connection = self._connect()
        try:
            lists = connection.execute(
                f"SELECT list, key, {SIDE_ITEM_FIELDS} FROM side_list_items WHERE version = ? ORDER BY list, key",
                (version,),
            ).fetchall()
        finally:
            connection.close()
        return _items_frame(lists, SIDE_LIST_COLUMNS)


def _items_frame(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    """The items of stored lists ((*keys, *packed item fields) rows) as a frame of `columns` (keys, then the item
    fields), by key and rank."""
    keys = len(columns) - 6
    items = [(*row[:keys], *item) for row in rows for item in unpack_items(*row[keys:])]
    return pd.DataFrame(items, columns=columns)


def _move_item_rows(connection: sqlite3.Connection) -> None:
    """A store written when lists were kept one row per item (tables `recommendations` and `side_lists`) has them
    moved into the packed tables, in one transaction, so the versions it holds keep their lists."""
    moves = {
        "recommendations": ("customer_lists", ["customer_id"], STORED_COLUMNS, "because"),
        "side_lists": ("side_list_items", ["list", "key"], SIDE_LIST_COLUMNS, "explanation"),
    }
    listed = "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('recommendations', 'side_lists')"
    if not connection.execute(listed).fetchall():
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        for old in [name for (name,) in connection.execute(listed).fetchall()]:  # again: another process may have
            table, keys, columns, explanation = moves[old]  # moved them while this one waited for the lock
            present = {row[1] for row in connection.execute(f"PRAGMA table_info({old})")}
            selected = ", ".join(c if c in present else f"NULL AS {c}" for c in columns)  # older: no explanations
            marks = ", ".join("?" * (len(keys) + 7))
            versions = [v for (v,) in connection.execute(f"SELECT DISTINCT version FROM {old}").fetchall()]
            for version in versions:  # one version's rows in memory at a time
                lists = pd.read_sql_query(
                    f"SELECT {selected} FROM {old} WHERE version = ?", connection, params=(version,)
                )
                packed = pack_lists(lists, keys, explanation)
                connection.executemany(f"INSERT OR REPLACE INTO {table} VALUES ({marks})",
                                       ((str(version), *row) for row in packed))  # fmt: skip
            connection.execute(f"DROP TABLE {old}")
        connection.execute("COMMIT")
    except Exception:
        connection.execute("ROLLBACK")
        raise
