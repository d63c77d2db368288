"""New order lines folded into the live lists between nightly runs (core/modeling/fold_in.py builds the lists).

Where a fold-in writes: into the store version that is live when it starts, the version whose model it folds with
(never a mix of two versions). When a nightly publish makes another version live, the lines newer than that
version's training data are folded into it again (`replay`): whatever fold-ins wrote into the old version while the
new one was being built are not lost. Both order paths (the source sensor and `POST /events/orders`) fold the same
way; a fold-in recomputes a customer from their full history, so folding a customer twice is harmless.

Everything here reads the order lines from the source database: the lines are the truth, the lists a cache of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from ..data.cleaning import CleaningRules, clean_orders
from ..data.schema import conform
from ..modeling.buy_again import ProductRhythm
from ..modeling.fold_in import FoldedLists, ListSettings, buy_again_rhythm, fold_in_lists
from ..modeling.shop_lists import DAY
from ..modeling.training import TrainedModel
from ..stores.fold_in_log import Pending, pending, read_fold_ins
from ..stores.rule_tables import read_rule_tables

DEFAULT_WINDOW = pd.Timedelta(days=365)  # models registered before their window start was recorded


class NoFoldIn(LookupError):
    """Nothing can be folded in: no live version, or the live version's model is not in the model registry."""


class OrderLinesRefused(ValueError):
    """Order lines that break the contract; the message names each refused line and why."""


@dataclass
class FoldInBasis:
    """What a fold-in into one live store version needs, read once per version: its model and how its lists were
    built, and the window of order history its lists were built from (with the lines folded in since)."""

    store_version: str
    model_version: str
    model: TrainedModel
    settings: ListSettings
    window_start: pd.Timestamp
    history: pd.DataFrame  # cleaned interactions from window_start on, as loaded (folded customers re-read each time)
    rhythm: ProductRhythm  # the buy-again ranking's product figures, learned once from `history`
    newest: pd.Timestamp  # the newest order line seen: the buy-again lists are ranked for the day after it

    @property
    def trained_until(self) -> pd.Timestamp:
        return pd.Timestamp(self.model.trained_until)


@dataclass(frozen=True)
class FoldReport:
    store_version: str
    customers: int
    seconds: float
    model_version: str = ""
    newest_lines: dict = field(default_factory=dict)  # customer -> their newest order line folded in (ISO-8601)

    def describe(self) -> str:
        return f"{self.customers} customer(s) folded into {self.store_version} in {self.seconds:.2f}s"

    def log_entry(self, path: str, target: str) -> dict:
        """The fold-in log's entry of this fold-in (core/stores/fold_in_log.py)."""
        return {
            "ts": pd.Timestamp.now(tz="UTC").isoformat(),
            "path": path,
            "target": target,
            "store_version": self.store_version,
            "model_version": self.model_version,
            "customers": self.newest_lines,
            "seconds": round(self.seconds, 3),
        }


def live_model_version(store) -> tuple[str, dict]:
    """(live store version, its metadata); NoFoldIn naming the store when nothing is live."""
    live = store.live_version()
    if live is None:
        raise NoFoldIn(f"{store.describe()} has no live version: nothing to fold orders into")
    info = next((v for v in store.versions() if v.version == live), None)
    metadata = dict(info.metadata) if info is not None else {}
    if not metadata.get("model_version"):
        raise NoFoldIn(f"{store.describe()}: live version {live} names no model_version")
    return live, metadata


def load_basis(store, registry, source, now: pd.Timestamp | None = None) -> FoldInBasis:
    """The fold-in basis of the store's live version: its model from the model registry, the window's history
    from the source database, cleaned as the `interactions` asset cleans it."""
    live, metadata = live_model_version(store)
    model_version = str(metadata["model_version"])
    artifact = registry.load(model_version)
    if artifact is None:
        raise NoFoldIn(
            f"live version {live} was published from model {model_version}, which the model registry "
            f"({registry.location}) no longer holds: orders reach the lists at the next nightly run"
        )
    settings = registry.list_settings(model_version) or ListSettings(
        published_popularity=metadata.get("published_model") == "popularity",
        buy_again_ranking=metadata.get("buy_again_ranking") or ListSettings.buy_again_ranking,
    )
    model = artifact.serving
    start = getattr(artifact, "window_start", None)
    start = pd.Timestamp(start) if start is not None else pd.Timestamp(model.trained_until) - DEFAULT_WINDOW
    now = now if now is not None else _now()
    orders = source.read_orders(start.to_pydatetime(), (now + pd.Timedelta(seconds=1)).to_pydatetime())
    history = _clean(orders, source, now)
    rhythm, newest = buy_again_rhythm(history, settings), pd.Timestamp(history["order_ts"].max())
    return FoldInBasis(live, model_version, model, settings, start, history, rhythm, newest)


def publish_as_of_day(newest) -> pd.Timestamp:
    """The day lists are ranked for when the newest order line is `newest` (shop_lists.publish_as_of)."""
    return pd.Timestamp(newest).normalize() + DAY


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC").tz_localize(None)


def read_masters(source) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The source's (products, customers) master tables."""
    return source.read_master("products"), source.read_master("customers")


def _clean(orders: pd.DataFrame, source, now: pd.Timestamp) -> pd.DataFrame:
    products, customers = read_masters(source)
    return clean_orders(orders, products, customers, CleaningRules(as_of=now)).interactions


def customers_with_lines_after(source, moment: pd.Timestamp, until: pd.Timestamp | None = None) -> list[str]:
    """The customers with order lines dated after `moment` (and up to `until`)."""
    until = until if until is not None else _now()
    lines = source.read_orders(
        (moment + pd.Timedelta(microseconds=1)).to_pydatetime(), (until + pd.Timedelta(seconds=1)).to_pydatetime()
    )
    return sorted({str(c) for c in lines["customer_id"].dropna()})


def fold_customers(
    basis: FoldInBasis,
    store,
    source,
    customer_ids: list[str],
    now: pd.Timestamp | None = None,
    before_write: Callable[[], None] | None = None,
    masters: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> FoldReport:
    """Fold `customer_ids` into the basis' store version: their full history re-read from the source (window
    start on), their lists rebuilt with the basis' model and today's rules, and upserted into that version only.
    `masters` are the source's (products, customers) when the caller has just read them (read_masters).
    `before_write` runs between building and writing (tests interleave a publish there)."""
    started = time.perf_counter()
    customer_ids = sorted({str(c) for c in customer_ids})
    if not customer_ids:
        return FoldReport(basis.store_version, 0, 0.0)
    now = now if now is not None else _now()
    lines = [source.read_customer_orders(customer) for customer in customer_ids]
    lines = pd.concat(lines, ignore_index=True)
    lines = lines[lines["order_ts"] >= basis.window_start]
    products, customers = masters if masters is not None else read_masters(source)
    fresh = clean_orders(lines, products, customers, CleaningRules(as_of=now)).interactions
    if len(fresh):
        basis.newest = max(basis.newest, pd.Timestamp(fresh["order_ts"].max()))
    history = fresh  # the folded customers' own history: enough with the rhythm learned once per live version
    if basis.model.config.model == "als" and basis.model.config.weighting == "bm25":  # BM25 reads every count
        others = basis.history[~basis.history["customer_id"].astype(str).isin(customer_ids)]
        history = pd.concat([others, fresh.astype(others.dtypes.to_dict())], ignore_index=True)
    folded: FoldedLists = fold_in_lists(
        basis.model, basis.model_version, history, customer_ids, products, customers,
        read_rule_tables(source), basis.settings, now.date(), basis.rhythm, publish_as_of_day(basis.newest),
    )  # fmt: skip
    if before_write is not None:
        before_write()
    store.upsert_customers(basis.store_version, folded.for_you, folded.buy_again)
    newest = lines.groupby(lines["customer_id"].astype(str))["order_ts"].max()
    return FoldReport(
        basis.store_version,
        len(customer_ids),
        time.perf_counter() - started,
        basis.model_version,
        {c: pd.Timestamp(newest[c]).isoformat() if c in newest else None for c in customer_ids},
    )


def fold_in_status(store, registry, source, serving_log, now: pd.Timestamp | None = None) -> Pending:
    """What is not folded into the store's live version yet (fold_in_log.pending): the source's lines dated after
    the live lists' newest order, against the fold-in log. NoFoldIn when nothing is live or the live model's
    list settings are not in the registry (a model registered before fold-ins existed)."""
    live, metadata = live_model_version(store)
    settings = registry.list_settings(str(metadata["model_version"]))
    if settings is None or settings.trained_until is None:
        raise NoFoldIn(f"the model of live version {live} was registered without its list settings")
    now = now if now is not None else _now()
    since = pd.Timestamp(settings.trained_until) + pd.Timedelta(microseconds=1)
    lines = source.read_orders(since.to_pydatetime(), (now + pd.Timedelta(seconds=1)).to_pydatetime())
    return pending(lines, read_fold_ins(serving_log, since.date()), live, now)


def replay(store, registry, source, now: pd.Timestamp | None = None) -> FoldReport:
    """Fold every customer with order lines newer than the live model's training data into the live version: what
    a newly published version does not know yet (lines that came while it was built, or folded into the version
    before it)."""
    basis = load_basis(store, registry, source, now)
    customers = customers_with_lines_after(source, basis.trained_until, now)
    return fold_customers(basis, store, source, customers, now)


def checked_order_lines(
    lines: list[dict],
    source,
    now: pd.Timestamp | None = None,
    masters: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Order lines posted to the API, as the contract types them; OrderLinesRefused naming every line that breaks
    it: a missing or mistyped column, an unknown customer or product, a date in the future, a line (order_id,
    line_no) given twice or already recorded for its customer. Nothing is written when any line is refused."""
    if not lines:
        raise OrderLinesRefused("no order line given: post {'lines': [{order_id, line_no, ...}, ...]}")
    frame = pd.DataFrame(lines)
    if "order_status" not in frame:
        frame["order_status"] = "completed"
    try:
        frame = conform(frame, "orders", "order lines", first_line=0)
    except ValueError as error:
        raise OrderLinesRefused(str(error)) from error
    now = now if now is not None else _now()
    known_products, known_customers = masters if masters is not None else read_masters(source)
    customers = frame["customer_id"].astype(str)
    products = frame["product_id"].astype(str)
    unknown_customer = ~customers.isin(known_customers["customer_id"].astype(str))
    unknown_product = ~products.isin(known_products["product_id"].astype(str))
    future = frame["order_ts"] > now + pd.Timedelta(minutes=5)
    twice = frame.duplicated(["order_id", "line_no"], keep="first")
    stored = _stored_lines(source, sorted(set(customers)))
    recorded = pd.MultiIndex.from_frame(frame[["order_id", "line_no"]].astype({"order_id": str, "line_no": int}))
    recorded = recorded.isin(stored)
    problems = []
    for position in range(len(frame)):
        order, line = frame["order_id"].iloc[position], frame["line_no"].iloc[position]
        if unknown_customer.iloc[position]:
            problems.append(f"line {position}: unknown customer_id {customers.iloc[position]!r}")
        if unknown_product.iloc[position]:
            problems.append(f"line {position}: unknown product_id {products.iloc[position]!r}")
        if future.iloc[position]:
            problems.append(f"line {position}: order_ts {frame['order_ts'].iloc[position]} is in the future")
        if twice.iloc[position]:
            problems.append(f"line {position}: order {order} line_no {line} is given twice")
        if recorded[position]:
            problems.append(f"line {position}: order {order} line_no {line} is already recorded")
    if problems:
        summary = f"{len(problems)} problem(s) in the order lines, nothing recorded: "
        raise OrderLinesRefused(summary + "; ".join(problems))
    return frame


def _stored_lines(source, customer_ids: list[str]) -> pd.MultiIndex:
    """(order_id, line_no) of the lines the source holds for `customer_ids`: an order's lines are its customer's,
    and the customer_id column is indexed (order_id need not be: a lookup by order would scan the table)."""
    frames = [source.read_customer_orders(customer) for customer in customer_ids]
    stored = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["order_id", "line_no"])
    return pd.MultiIndex.from_arrays([stored["order_id"].astype(str), stored["line_no"].astype(int)])
