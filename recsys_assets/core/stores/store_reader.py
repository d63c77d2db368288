"""Serving-side reader of a recommendation store: the live version resolved once, refreshed when it changes.

`LiveRecommendations` wraps any `RecommendationStore` (`live_version()`, `read_version()`, `get()`) and answers
lookups without resolving the live version (or, with the memory strategy, touching the store) on the request path:

- The live version is resolved once at start; a background thread checks the store's live pointer at most every
  `refresh_seconds` and, when it names another version, loads that version and swaps one immutable snapshot
  reference (readers see the old snapshot or the new one, never a mix).
- Reader strategy (the seam between stores): `"point"` (both stores) keeps only the version name and reads one
  customer per request (`store.get_items(customer_id, version)`, else `store.get`): an indexed read on a
  per-thread read-only connection for the local SQLite store, a point read for Cosmos DB. A new version is
  therefore live as soon as its name and popularity list are read (the local store keeps the popularity list
  next to the version; other stores compute it from one full read per new version, in the refresh thread), and
  memory does not grow with the version. The API runs a remote store's point lookups off the event loop, the
  local store's on it (`blocking`). A point read answering VersionNotFoundError (a publish dropped the version the
  snapshot names) refreshes the snapshot and reads again, so no request is answered from a version that is gone.
  `"memory"` (explicit only) loads the whole live version into a dict customer_id -> list. A store picks its
  strategy with a `serving_strategy` attribute; without one, `"point"` (see `strategy_for`).
- Customers absent from the live version get a popularity list, flagged: the list the model gave its cold-start
  customers (`source == "popularity_fallback"`, present whenever the master data has customers without history),
  or, when the version has none, the products that appear in most lists (ties broken by mean score).
- Customers of the control group (see core/lifecycle/control_group.py) get that same popularity list with source
  `control` (`lookup_control`); `lookup_version` reads one customer of any kept version (the review page).
- Each item carries its explanation when the version has one: `reason` (`because_you_bought`,
  `popular_in_segment`, `popular_overall`) and `because` (up to three product ids the customer bought).
- The side lists published in the same version (core/modeling/shop_lists.py) are read the same way:
  `lookup_buy_again` (a customer's buy-again list) and `lookup_related` (a product's bought-together or similar
  list), from the snapshot with the memory strategy, by a point read with the point strategy. A version holds the
  lists its metadata names (`LISTS_METADATA`); asking a version for a list it does not hold (one published before
  side lists existed) raises `ListNotPublishedError`, which the API answers with a 404 saying so.
- A store that cannot be read (file deleted, disk unmounted) while a version is live: with point reads nothing of
  the version is in memory but its popularity list, so a reader of a store that `degrades` (the local store: its
  failures show in microseconds, so every request can try it) answers from that list, flagged
  `fallback == STORE_UNAVAILABLE` (for you: the popularity list; related: the popularity list without the
  product; buy again: empty), records the failure in `status.read_error` (the `/health` problem) and answers
  normally again on the first read that succeeds. Other stores raise, and the API answers 503.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from .list_cache import ListCache
from .popularity import POPULARITY_SOURCE, popularity_frame
from .store import FOR_YOU, LISTS_METADATA, RecommendationStore, VersionNotFoundError

CONTROL_SOURCE = "control"
# Lookup.fallback when the store cannot be read and the version's popularity list (kept in memory) stands in
STORE_UNAVAILABLE = "store_unavailable"
READ_ATTEMPTS = 3  # reads of a list before the live version counts as lost (each after a refresh)
STRATEGIES = ("memory", "point")

logger = logging.getLogger(__name__)


class NoLiveVersionError(RuntimeError):
    """The store has no live version yet (nothing published): nothing can be served."""


class ListNotPublishedError(LookupError):
    """The live version holds no list of that name (published before the list existed, or without it)."""

    def __init__(self, list_name: str, version: str):
        super().__init__(f"no {list_name.replace('_', '-')} list in the live version {version}")
        self.list_name, self.version = list_name, version


@dataclass(frozen=True, slots=True)
class Recommendation:
    rank: int
    product_id: str
    score: float | None
    source: str
    reason: str | None = None
    because: tuple[str, ...] = ()
    explanation: str | None = None  # the side lists' sentence ("you buy this every ~4 weeks; ...")


@dataclass(frozen=True)
class RelatedLookup:
    """A product's related list of one kind in the live version (`items` empty: the product has none)."""

    product_id: str
    kind: str
    version: str
    model_version: str
    items: tuple[Recommendation, ...]
    fallback: str | None = None  # STORE_UNAVAILABLE: the store cannot be read, `items` is the popularity list


@dataclass(frozen=True)
class Lookup:
    """The answer to one request: the customer's list, or the popularity fallback when `fallback` is set."""

    customer_id: str
    version: str
    model_version: str
    items: tuple[Recommendation, ...]
    fallback: str | None  # "popularity": the customer is not in the live version; STORE_UNAVAILABLE: unreadable
    group: str = "model"  # "control": the customer is in the control group and gets the popularity list
    known: bool = True  # False: the customer is not personalised by the model (cold start or absent)
    list_name: str = FOR_YOU  # which list: for_you, or buy_again

    @property
    def cold_start(self) -> bool:
        if not self.known:
            return True
        return self.fallback is not None or any(item.source == POPULARITY_SOURCE for item in self.items)

    @property
    def log_source(self) -> str:
        """What the served list came from, as the serving log records it: model, popularity_fallback or control."""
        if self.group == CONTROL_SOURCE:
            return CONTROL_SOURCE
        return POPULARITY_SOURCE if self.cold_start else "model"


@dataclass(frozen=True)
class Snapshot:
    version: str
    model_version: str  # from the version's metadata (the store version is the model version + a content hash)
    loaded_at: float
    popular: tuple[Recommendation, ...]
    lists: dict[str, tuple[Recommendation, ...]] | None  # None with the "point" strategy
    customers: int
    control: tuple[Recommendation, ...] = ()  # `popular` with source "control"
    held: frozenset[str] = frozenset({FOR_YOU})  # the lists the version holds
    side: dict[tuple[str, str], tuple[Recommendation, ...]] | None = None  # (list, key) -> items; memory only


@dataclass
class ReaderStatus:
    version: str | None = None
    loaded_at: float | None = None
    checked_at: float | None = None
    customers: int | None = None
    error: str | None = None  # the last check for a new version failed
    reloads: int = 0
    # point reads failing (the store cannot be read): `store_kind: error` without the store's address, since when,
    # and how many answers came from memory instead (cleared by the next read that succeeds)
    read_error: str | None = None
    read_failing_since: float | None = None
    fallback_answers: int = 0
    extra: dict = field(default_factory=dict)


def strategy_for(store: RecommendationStore) -> str:
    """The reader strategy of `store`: its `serving_strategy` attribute, else point reads."""
    declared = getattr(store, "serving_strategy", None)
    if declared is not None:
        if declared not in STRATEGIES:
            raise ValueError(f"{store.describe()}: serving_strategy must be one of {STRATEGIES}, got {declared!r}")
        return declared
    return "point"


def store_kind(store) -> str:
    """What kind of store `store` is, without its address (for /health): its `kind`, else its class name."""
    return str(getattr(store, "kind", None) or type(store).__name__)


def error_brief(error: BaseException, store) -> str:
    """`Type: message` of the root cause of `error` with the store's description and path taken out (the server
    log has them): what an operator needs to tell a missing file from a locked or corrupt one."""
    root = error
    while root.__cause__ is not None:
        root = root.__cause__
    text = f"{type(root).__name__}: {root}"
    path = getattr(store, "path", None)
    for secret in (store.describe(), str(path) if path else "", str(Path(path).resolve()) if path else ""):
        if secret:
            text = text.replace(secret, "<store>")
    return text[:200]


def _because(value) -> tuple[str, ...]:
    """A `because` cell as a tuple of product ids: a list/tuple/array, a JSON list, or empty."""
    if value is None or (isinstance(value, float) and value != value):
        return ()
    if isinstance(value, str):
        value = json.loads(value) if value else []
    return tuple(sys.intern(str(v)) for v in value)


def _reason(value) -> str | None:
    return None if value is None or (isinstance(value, float) and value != value) else sys.intern(str(value))


def _explanations(frame: pd.DataFrame) -> tuple[list, list]:
    """The reason and because columns of `frame` (None / () for versions published without explanations)."""
    reasons = [_reason(v) for v in frame["reason"]] if "reason" in frame.columns else [None] * len(frame)
    because = [_because(v) for v in frame["because"]] if "because" in frame.columns else [()] * len(frame)
    return reasons, because


def _rows(frame: pd.DataFrame) -> tuple[Recommendation, ...]:
    reasons, because = _explanations(frame)
    return tuple(
        Recommendation(
            int(rank), sys.intern(str(product)), None if pd.isna(score) else float(score), str(source), reason, why
        )
        for (rank, product, score, source), reason, why in zip(
            frame[["rank", "product_id", "score", "source"]].itertuples(index=False, name=None),
            reasons,
            because,
            strict=True,
        )
    )


def lists_by_customer(frame: pd.DataFrame) -> dict[str, tuple[Recommendation, ...]]:
    """customer_id -> that customer's recommendations ordered by rank."""
    if frame.empty:
        return {}
    ordered = frame.sort_values(["customer_id", "rank"], kind="stable")
    customers = ordered["customer_id"].astype(str).to_numpy()
    ranks = ordered["rank"].astype(int).to_numpy()
    products = [sys.intern(str(p)) for p in ordered["product_id"]]
    scores = ordered["score"].astype(float).to_numpy()
    sources = [sys.intern(str(s)) for s in ordered["source"]]
    reasons, because = _explanations(ordered)
    lists: dict[str, list[Recommendation]] = {}
    for i, customer in enumerate(customers):
        score = scores[i]
        lists.setdefault(customer, []).append(
            Recommendation(
                int(ranks[i]), products[i], None if score != score else float(score), sources[i], reasons[i], because[i]
            )
        )
    return {customer: tuple(items) for customer, items in lists.items()}


def side_lists_by_key(frame: pd.DataFrame) -> dict[tuple[str, str], tuple[Recommendation, ...]]:
    """(list, key) -> that side list's items ordered by rank (frame: SIDE_LIST_COLUMNS)."""
    lists: dict[tuple[str, str], list[Recommendation]] = {}
    ordered = frame.sort_values(["list", "key", "rank"], kind="stable")
    for name, key, rank, product, score, source, reason, explanation in ordered.itertuples(index=False, name=None):
        lists.setdefault((sys.intern(str(name)), str(key)), []).append(
            _side_item(rank, product, score, source, reason, explanation)
        )
    return {key: tuple(items) for key, items in lists.items()}


def _side_item(rank, product, score, source, reason, explanation) -> Recommendation:
    score = None if score is None or score != score else float(score)
    # interned: the same sentences repeat across lists ("you bought this once, 2 weeks ago")
    text = None if explanation is None or explanation != explanation else sys.intern(str(explanation))
    return Recommendation(
        int(rank), sys.intern(str(product)), score, sys.intern(str(source)), _reason(reason), (), text
    )


def popularity_list(frame: pd.DataFrame, k: int = 100) -> tuple[Recommendation, ...]:
    """The fallback for customers absent from a version (the rule: core/stores/popularity.py)."""
    popular = popularity_frame(frame, k)
    return _rows(popular) if len(popular) else ()


def _item(rank, product, score, source, reason, because) -> Recommendation:
    """A Recommendation from a store's item tuple (get_items, popular_items)."""
    return Recommendation(int(rank), sys.intern(str(product)), score, sys.intern(str(source)), reason, because)


def as_control(popular: tuple[Recommendation, ...]) -> tuple[Recommendation, ...]:
    """The popularity list as served to the control group: overall popularity, whatever the customer bought."""
    return tuple(
        Recommendation(item.rank, item.product_id, item.score, CONTROL_SOURCE, "popular_overall") for item in popular
    )


class LiveRecommendations:
    """The live version of one store, kept in a snapshot that a background thread refreshes on change.

    Parameters
    ----------
    store:
        Any `RecommendationStore`.
    refresh_seconds:
        How often the background thread asks the store for its live pointer (never on the request path).
    strategy:
        "memory" or "point"; default `strategy_for(store)`.
    on_reload:
        Called (in the refresh thread) with the new version after each load, e.g. to reload product names.
    cached_lists:
        With point reads of a store that tells when its rows changed (`change_token`: the local store), how many
        decoded lists to keep for repeated requests (core/stores/list_cache.py); 0 (the default): none, every
        lookup reads the store.
    """

    def __init__(
        self,
        store: RecommendationStore,
        refresh_seconds: float = 10.0,
        strategy: str | None = None,
        on_reload: Callable[[str], None] | None = None,
        cached_lists: int = 0,
    ):
        self.store = store
        self.refresh_seconds = refresh_seconds
        self.strategy = strategy or strategy_for(store)
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        self.on_reload = on_reload
        self.status = ReaderStatus()
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()  # one load at a time (background refresh vs an explicit refresh())
        self._read_lock = threading.Lock()  # the read failure state: logged once when it starts and when it ends
        # answer from memory when a point read fails (see the module docstring); other stores' errors reach the API
        self.degrades = self.strategy == "point" and bool(getattr(store, "local_point_reads", False))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        cacheable = self.strategy == "point" and hasattr(store, "change_token") and cached_lists > 0
        self.cache = ListCache(cached_lists) if cacheable else None

    @property
    def snapshot(self) -> Snapshot | None:
        return self._snapshot

    @property
    def version(self) -> str | None:
        snapshot = self._snapshot
        return snapshot.version if snapshot else None

    def refresh(self, reload_in_background: bool = False) -> bool:
        """Ask the store for its live version and load it if it changed; returns whether a new version was loaded.

        Errors are recorded in `status.error` and re-raised; the previous snapshot keeps serving.
        `reload_in_background`: call `on_reload` in a thread of its own (a request that found its version dropped
        refreshes on the event loop; reloading the catalogue there would hold every other request for seconds).
        """
        with self._lock:
            self.status.checked_at = time.time()
            try:
                live = self.store.live_version()
                if live is None or (self._snapshot is not None and live == self._snapshot.version):
                    self.status.error = None if live else "no live version published"
                    if live is not None:
                        self._read_recovered()  # the live pointer was read: the store is reachable again
                    return False
                snapshot = self._load(live)
            except Exception as error:
                self.status.error = f"{type(error).__name__}: {error}"
                raise
            self._snapshot = snapshot
            self.status.version, self.status.loaded_at = snapshot.version, snapshot.loaded_at
            self.status.customers, self.status.error = snapshot.customers, None
            self.status.reloads += 1
        self._read_recovered()  # the live pointer was read: the store is reachable again
        logger.info("serving %s version %s (%d customers)", self.store.describe(), live, snapshot.customers)
        if self.on_reload is not None and reload_in_background:
            threading.Thread(target=self._notify, args=(live,), name="live-recommendations-reload", daemon=True).start()
        elif self.on_reload is not None:
            self.on_reload(live)
        return True

    def _notify(self, version: str) -> None:
        try:
            self.on_reload(version)
        except Exception:
            logger.exception("reloading after version %s of %s went live failed", version, self.store.describe())

    def _load(self, version: str) -> Snapshot:
        info = next((info for info in self.store.versions() if info.version == version), None)
        metadata = info.metadata if info is not None else {}
        lists = None
        if self.strategy == "point" and info is not None and hasattr(self.store, "popular_items"):
            # nothing of the version is loaded: its popularity list and the customer count from the metadata
            popular = tuple(_item(*row) for row in self.store.popular_items(version))
            customers = info.customers
        else:
            frame = self.store.read_version(version)
            popular = popularity_list(frame)
            customers = int(frame["customer_id"].nunique()) if len(frame) else 0
            lists = lists_by_customer(frame) if self.strategy == "memory" else None
        model_version = str(metadata.get("model_version") or version)
        held = frozenset({FOR_YOU, *(metadata.get(LISTS_METADATA) or {})})
        side = None
        if self.strategy == "memory":
            side = side_lists_by_key(self.store.read_side_lists(version)) if len(held) > 1 else {}
        return Snapshot(version, model_version, time.time(), popular, lists, customers, as_control(popular), held, side)

    def start(self) -> None:
        """Load the live version now (a failure is recorded, not raised) and start the refresh thread."""
        try:
            self.refresh()
        except Exception:
            logger.exception("loading the live version of %s failed", self.store.describe())
        if self._thread is None and self.refresh_seconds > 0:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="live-recommendations", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.refresh_seconds):
            try:
                self.refresh()
            except Exception:
                logger.exception("refreshing the live version of %s failed", self.store.describe())

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def blocking(self) -> bool:
        """True when a lookup reads a remote store (the "point" strategy over the network, e.g. Cosmos DB): run it
        off the event loop. A store whose point reads are local (`local_point_reads`: an indexed read of a file)
        is read on the event loop: the hop to the thread pool cost more than the read, and the pool's threads and
        the loop contended for the GIL around every SQLite call (p99 at concurrency 4 went past 10 ms)."""
        return self.strategy == "point" and not getattr(self.store, "local_point_reads", False)

    def _read(self, read: Callable[[Snapshot], tuple]) -> tuple[Snapshot, tuple | None]:
        """`read(snapshot)` on the live snapshot; when the store no longer holds that version (a publish dropped
        it after this snapshot was taken), refresh and read the new live version (up to READ_ATTEMPTS reads:
        publishes in quick succession can drop the refreshed version too).

        None instead of the items when the store cannot be read and this reader `degrades` (the caller answers
        from memory); the failure is recorded in `status` and logged when it starts.
        """
        snapshot = self._live()
        try:
            for attempt in range(1, READ_ATTEMPTS + 1):
                try:
                    found = read(snapshot)
                    break
                except VersionNotFoundError:
                    if attempt == READ_ATTEMPTS:
                        raise  # the store lost the live version
                    self.refresh(reload_in_background=True)
                    snapshot = self._live()
        except ListNotPublishedError:
            raise
        except Exception as error:  # any failure of the store's client: a file gone, a disk unmounted, I/O errors
            if not self.degrades:
                raise
            self._read_failed(error)
            return snapshot, None
        if self.status.read_error is not None:
            self._read_recovered()
        return snapshot, found

    def _read_failed(self, error: Exception) -> None:
        with self._read_lock:
            starts = self.status.read_error is None
            self.status.read_error = f"{store_kind(self.store)}: {error_brief(error, self.store)}"
            if starts:
                self.status.read_failing_since = time.time()
            self.status.fallback_answers += 1
        if starts:  # once per outage, not once per request
            logger.error(
                "reading %s failed; answering with the popularity list of the live version until it can be read "
                "again: %s",
                self.store.describe(),
                error,
            )

    def _read_recovered(self) -> None:
        with self._read_lock:
            since = self.status.read_failing_since
            if self.status.read_error is None:
                return
            self.status.read_error = self.status.read_failing_since = None
        logger.warning(
            "%s can be read again after %.1f s: normal answers are back", self.store.describe(), time.time() - since
        )

    def _customer_items(self, snapshot: Snapshot, customer_id: str) -> tuple[Recommendation, ...]:
        """The customer's items in the snapshot's version (empty when the version does not hold the customer)."""
        if snapshot.lists is not None:
            return snapshot.lists.get(customer_id, ())
        if hasattr(self.store, "get_items"):  # a point read straight to tuples: no DataFrame per request
            return self._cached(
                (snapshot.version, FOR_YOU, customer_id),
                lambda: tuple(_item(*row) for row in self.store.get_items(customer_id, snapshot.version)),
            )
        frame = self.store.get(customer_id, snapshot.version)
        return _rows(frame) if len(frame) else ()

    def _cached(self, key: tuple, read: Callable[[], tuple]) -> tuple:
        """`read()` (a point read and its decode), or the list the cache kept for `key` while the store's rows
        have not changed since (`store.change_token`, taken before the read)."""
        if self.cache is None:
            return read()
        token = self.store.change_token()
        items = self.cache.get(token, key)
        if items is None:
            items = read()
            self.cache.put(token, key, items)
        return items

    def _live(self) -> Snapshot:
        snapshot = self._snapshot
        if snapshot is None:
            raise NoLiveVersionError(
                f"{self.store.describe()} has no live version"
                + (f" ({self.status.error})" if self.status.error else "")
            )
        return snapshot

    def lookup_control(self, customer_id: str) -> Lookup:
        """The control group's list (the version's popularity list, source "control").

        Whether the model knows the customer is looked up in memory, or by a point read of a store whose reads are
        local (`local_point_reads`: an indexed read of a file, cheap on the event loop); a remote store is not read
        for it (the customer counts as known).
        """
        if self.strategy == "point" and not getattr(self.store, "local_point_reads", False):
            snapshot, known = self._live(), True
        else:
            snapshot, items = self._read(lambda live: self._customer_items(live, customer_id))
            # a store that cannot be read: counted as known, as with a remote store (the answer is the same list)
            known = items is None or (bool(items) and items[0].source != POPULARITY_SOURCE)
        return Lookup(customer_id, snapshot.version, snapshot.model_version, snapshot.control, None, "control", known)

    def lookup_version(self, customer_id: str, version: str) -> Lookup:
        """The list of `customer_id` in a kept `version` of the store (empty when the version does not hold it).

        Reads the store: run it off the event loop. Raises KeyError naming the kept versions for any other version.
        """
        infos = {info.version: info for info in self.store.versions()}
        if version not in infos:
            raise KeyError(f"version {version!r} is not kept in {self.store.describe()} (kept: {sorted(infos)})")
        model_version = str(infos[version].metadata.get("model_version") or version)
        frame = self.store.get(customer_id, version)
        return Lookup(customer_id, version, model_version, _rows(frame) if len(frame) else (), None)

    def lookup(self, customer_id: str) -> Lookup:
        """The live list of `customer_id`, or the popularity fallback when the live version does not hold it."""
        snapshot, items = self._read(lambda live: self._customer_items(live, customer_id))
        if items:
            return Lookup(customer_id, snapshot.version, snapshot.model_version, items, None)
        fallback = STORE_UNAVAILABLE if items is None else "popularity"
        return Lookup(customer_id, snapshot.version, snapshot.model_version, snapshot.popular, fallback)

    def _side(self, list_name: str, key: str) -> tuple[Snapshot, tuple[Recommendation, ...] | None]:
        """The live snapshot and one of its side lists (empty when the key has none; None when the store cannot be
        read, see `_read`); ListNotPublishedError when the version holds no such list. With the point strategy this
        reads the store: run it off the event loop."""

        def read(snapshot: Snapshot) -> tuple[Recommendation, ...]:
            if list_name not in snapshot.held:
                raise ListNotPublishedError(list_name, snapshot.version)
            if snapshot.side is not None:
                return snapshot.side.get((list_name, key), ())
            return self._cached(
                (snapshot.version, list_name, key),
                lambda: tuple(_side_item(*row) for row in self.store.get_side_list(list_name, key, snapshot.version)),
            )

        return self._read(read)

    def lookup_buy_again(self, customer_id: str) -> Lookup:
        """The customer's buy-again list in the live version; empty (and `known` False) for a customer who bought
        nothing the list could hold."""
        snapshot, items = self._side("buy_again", customer_id)
        # the store cannot be read: an empty list, flagged (popular products are no "buy again" list)
        fallback = STORE_UNAVAILABLE if items is None else None
        return Lookup(
            customer_id, snapshot.version, snapshot.model_version, items or (), fallback, known=bool(items),
            list_name="buy_again",
        )  # fmt: skip

    def lookup_related(self, product_id: str, kind: str) -> RelatedLookup:
        """The product's `kind` list (bought_together, similar) in the live version; empty when it has none."""
        snapshot, items = self._side(kind, product_id)
        if items is not None:
            return RelatedLookup(product_id, kind, snapshot.version, snapshot.model_version, items)
        # the store cannot be read: the popularity list without the product itself, flagged
        others = (item for item in snapshot.popular if item.product_id != product_id)
        popular = tuple(replace(item, rank=rank) for rank, item in enumerate(others, start=1))
        return RelatedLookup(product_id, kind, snapshot.version, snapshot.model_version, popular, STORE_UNAVAILABLE)

    def related_kinds(self) -> tuple[str, ...]:
        """The related lists the live version holds (none before a version is loaded)."""
        snapshot = self._snapshot
        held = snapshot.held if snapshot else frozenset()
        return tuple(kind for kind in ("bought_together", "similar") if kind in held)
