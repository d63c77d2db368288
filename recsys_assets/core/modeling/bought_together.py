"""Bought together / similar: the products related to a product, evaluated on hold-out orders.

Three rankings of the products related to a query product, simplest first:

- ``popular_related``: the most popular products (distinct training orders), the query left out: the baseline;
- ``bought_together``: products bought in the same training orders, by how much more often than chance
  (`shrunk_lift`);
- ``similar``: products whose ALS item factors point the same way (cosine similarity).

A list shorter than K (a product with few co-purchases) is completed with the popular products, as a shop would
show it. They are evaluated on the hold-out's orders: every order with at least two distinct products known to the
training part gives queries, each of its products (a deterministic sample when it has more than
`max_queries_per_order`), whose relevant products are the order's other products. A query's figures are averaged
per order and the intervals resample orders: the queries of one order share their answers, so they are not
independent evidence. The choice is noise aware, as for buy again (`verdict.choose_simplest`). The published
related lists (shop_lists.py) use these rankings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .buy_again import rank_lists
from .figures_table import rankings_table
from .metrics import bootstrap_intervals, per_user_metrics
from .models import ALSRecommender, top_items
from .training import TrainedModel
from .verdict import choose_simplest

# simplest first: the order in which the choice gives way to a ranking that leads beyond noise
SCORERS = ("popular_related", "bought_together", "similar")
RELATED_METRICS = ("map", "recall", "hit_rate")


@dataclass(frozen=True)
class RelatedSettings:
    """How related products are weighed and evaluated.

    Parameters
    ----------
    prior_orders : float
        Strength, in expected co-orders, of the prior that shrinks a pair's lift towards 1 (see `shrunk_lift`):
        larger values need more co-orders before a rare pair outranks a common one; 0 is the raw lift.
    max_queries_per_order : int
        A hold-out order with more distinct products gives this many queries (a seeded sample of its products);
        the relevant products of each query are still all the order's others.
    noise_below_orders : int
        Fewer evaluable hold-out orders than this: the figures are flagged as noise and no ranking is chosen.
    """

    prior_orders: float = 5.0
    max_queries_per_order: int = 10
    noise_below_orders: int = 100


@dataclass
class Baskets:
    """The training orders as a binary (orders x products) incidence matrix, on integer codes."""

    products: pd.Index  # product_id of each item code
    incidence: sp.csr_matrix  # 1.0 where the order holds the product (several lines of it count once)
    orders_of: np.ndarray  # distinct orders of each product (float64)

    @property
    def n_orders(self) -> int:
        return self.incidence.shape[0]


def baskets(train: pd.DataFrame) -> Baskets:
    """The distinct products of each order of `train` (interactions: order_id, product_id)."""
    order_codes, orders = pd.factorize(train["order_id"])
    item_codes, products = pd.factorize(train["product_id"])
    known = (order_codes >= 0) & (item_codes >= 0)
    incidence = sp.csr_matrix(
        (np.ones(int(known.sum())), (order_codes[known], item_codes[known])), shape=(len(orders), len(products))
    )
    incidence.sum_duplicates()
    incidence.data[:] = 1.0
    return Baskets(pd.Index(products), incidence, np.asarray(incidence.sum(axis=0), dtype=np.float64).ravel())


def co_orders(data: Baskets, queries: np.ndarray) -> sp.csr_matrix:
    """(queries x products): the training orders holding both the query product and the other one (X_q^T X on
    the incidence); the query itself is left out."""
    counts = (data.incidence.T.tocsr()[queries] @ data.incidence).tocsr()
    rows = np.repeat(np.arange(len(queries)), np.diff(counts.indptr))
    counts.data[counts.indices == queries[rows]] = 0.0
    counts.eliminate_zeros()
    return counts


def shrunk_lift(co: np.ndarray, orders_a: np.ndarray, orders_b: np.ndarray, n_orders: int, prior: float) -> np.ndarray:
    """How many times more often than chance products a and b share an order, shrunk towards 1 for thin evidence:
    (co + prior) / (expected + prior), where expected = orders_a x orders_b / n_orders (independent products).

    Why this weighting: the raw co-count ranks the best sellers first for every product (they are in every kind of
    order), and the raw lift ranks any pair of rarities seen once together first (1 co-order against an expected
    0.01 is a lift of 100). Treating the co-count as Poisson with mean lift x expected and a Gamma prior on the lift
    centred on 1 (`prior` pseudo-orders) gives this posterior mean (the shrinkage of DuMouchel's Gamma-Poisson
    co-occurrence screening): a pair must be seen together clearly more often than chance, in enough orders, to
    rank high.
    """
    expected = orders_a * orders_b / max(n_orders, 1)
    return (co + prior) / (expected + prior)


def popular_items(data: Baskets, count: int) -> np.ndarray:
    """The `count` item codes bought in the most training orders, most first (ties by first appearance)."""
    return np.argsort(-data.orders_of, kind="stable")[:count]


def fill_short(lists: np.ndarray, queries: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Complete the empty (-1) tail of each list with the first `fallback` products neither in it nor its query.

    `fallback` must hold at least 2K + 1 products (or the whole catalogue) for every list to fill."""
    lists = lists.copy()
    n, k = lists.shape
    if n == 0 or k == 0 or len(fallback) == 0:
        return lists
    taken = (fallback[None, :, None] == lists[:, None, :]).any(axis=2) | (fallback[None, :] == queries[:, None])
    free = ~taken
    slot = (lists >= 0).sum(axis=1)[:, None] + np.cumsum(free, axis=1) - 1
    place = free & (slot < k)
    lists[np.nonzero(place)[0], slot[place]] = np.broadcast_to(fallback, place.shape)[place]
    return lists


def popular_lists(queries: np.ndarray, k: int, fallback: np.ndarray) -> np.ndarray:
    """The baseline: the most popular products for every query, the query itself left out."""
    return fill_short(np.full((len(queries), k), -1, dtype=np.int64), queries, fallback)


def bought_together_lists(data: Baskets, queries: np.ndarray, k: int, prior: float, fallback: np.ndarray) -> np.ndarray:
    """(queries x k) item codes: the products sharing training orders with each query, highest `shrunk_lift` first
    (ties: more co-orders, then more orders), completed with `fallback`."""
    counts = co_orders(data, queries)
    rows = np.repeat(np.arange(len(queries)), np.diff(counts.indptr))
    cols = counts.indices.astype(np.int64)
    score = shrunk_lift(counts.data, data.orders_of[queries][rows], data.orders_of[cols], data.n_orders, prior)
    lists = rank_lists(rows, cols, [score, counts.data, data.orders_of[cols]], len(queries), k)
    return fill_short(lists, queries, fallback)


def similar_lists(factors: np.ndarray, queries: np.ndarray, k: int, fallback: np.ndarray) -> np.ndarray:
    """(queries x k) item codes: the products whose factors (rows of `factors`, one per item code) have the highest
    cosine similarity with the query's, the query left out, completed with `fallback`. A product without factors
    (a zero row) is similar to nothing: its list is `fallback`'s."""
    norms = np.linalg.norm(factors, axis=1)
    unit = np.zeros(factors.shape, dtype=np.float32)
    unit[norms > 0] = factors[norms > 0] / norms[norms > 0, None]
    lists = np.full((len(queries), k), -1, dtype=np.int64)
    width = min(k + 1, len(unit))
    if len(queries) and width > 1:
        ids, _ = top_items(unit, unit[queries], width, None, None, False, None)
        ids = np.asarray(ids, dtype=np.int64).reshape(len(queries), width)
        # the query is its own nearest product; where ties pushed it out of the list, the last product goes instead
        drop = ids == queries[:, None]
        drop[~drop.any(axis=1), -1] = True
        lists[:, : width - 1] = ids[~drop].reshape(len(queries), width - 1)
        lists[norms[queries] == 0] = -1
    return fill_short(lists, queries, fallback)


def als_item_factors(model: TrainedModel) -> tuple[pd.Index, np.ndarray] | None:
    """(product_id of each row, item factors) of a fitted ALS model; None for a model without item factors."""
    if not isinstance(model.recommender, ALSRecommender):
        return None
    return model.items.ids, np.asarray(model.recommender.model.item_factors)


def align_factors(item_factors: tuple[pd.Index, np.ndarray], products: pd.Index) -> np.ndarray:
    """The factor rows in the order of `products` (ids compared as text); zeros for a product without factors."""
    ids, factors = item_factors
    text = pd.Index(np.asarray(ids, dtype=object).astype(str))
    rows = text.get_indexer(np.asarray(products, dtype=object).astype(str))
    aligned = np.zeros((len(products), factors.shape[1]), dtype=np.float32)
    aligned[rows >= 0] = factors[rows[rows >= 0]]
    return aligned


@dataclass
class HoldoutQueries:
    """The queries of the hold-out's evaluable orders: one row per (order, query product)."""

    orders: np.ndarray  # evaluable order number (0 .. evaluable_orders - 1) of each query
    items: np.ndarray  # item code of each query product
    relevant: sp.csr_matrix  # (queries x products): the order's other products
    evaluable_orders: int  # hold-out orders with at least two distinct products known to training
    holdout_orders: int  # every order of the hold-out


def holdout_queries(products: pd.Index, held_out: pd.DataFrame, max_per_order: int, seed: int = 0) -> HoldoutQueries:
    """Each product of each hold-out order with at least two distinct products in `products` as a query, the
    others as its relevant set; an order with more than `max_per_order` products gives a seeded sample of them."""
    order_codes, orders = pd.factorize(held_out["order_id"])
    items = products.get_indexer(held_out["product_id"]) if len(products) else np.full(len(held_out), -1)
    known = (order_codes >= 0) & (items >= 0)
    width = max(1, len(products))
    pairs = np.unique(order_codes[known].astype(np.int64) * width + items[known])  # distinct, grouped by order
    order_of, item_of = pairs // width, pairs % width
    keep = np.bincount(order_of, minlength=len(orders))[order_of] >= 2
    evaluable, order_of = np.unique(order_of[keep], return_inverse=True)
    item_of = item_of[keep]
    basket = sp.csr_matrix((np.ones(len(item_of)), (order_of, item_of)), shape=(len(evaluable), len(products)))
    draw = np.random.default_rng(seed).random(len(order_of))
    order = np.lexsort((draw, order_of))
    starts = np.flatnonzero(np.r_[True, order_of[order][1:] != order_of[order][:-1]]) if len(order) else order
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    chosen = np.sort(order[rank < max_per_order])
    q_orders, q_items = order_of[chosen], item_of[chosen]
    shape = (len(chosen), len(products))
    itself = sp.csr_matrix((np.ones(len(chosen)), (np.arange(len(chosen)), q_items)), shape=shape)
    relevant = (basket[q_orders] - itself).tocsr()
    relevant.eliminate_zeros()
    return HoldoutQueries(q_orders, q_items, relevant, len(evaluable), len(orders))


def per_order_means(values: np.ndarray, orders: np.ndarray, n_orders: int) -> np.ndarray:
    """The mean of the queries' `values` per order (one value per order that has queries)."""
    counts = np.bincount(orders, minlength=n_orders)
    sums = np.bincount(orders, weights=values, minlength=n_orders)
    return sums[counts > 0] / counts[counts > 0]


def evaluate_related(
    train: pd.DataFrame,
    held_out: pd.DataFrame,
    k: int,
    item_factors: tuple[pd.Index, np.ndarray] | None = None,
    settings: RelatedSettings | None = None,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict:
    """MAP, recall and hit rate at `k` of the related-products rankings on the orders of `held_out`.

    Parameters
    ----------
    train, held_out : DataFrame
        Interactions (order_id, product_id): the orders related products are learned from, and those scored.
    item_factors : (product ids, factors) or None
        The ALS item factors for ``similar`` (`als_item_factors`); None leaves ``similar`` out.

    Returns {"scorers": {name: {metric: mean over orders}}, "intervals": {"<name>_<metric>" and
    "lead_<name>_<metric>" (name minus popular_related, paired over the same orders): {mean, low, high}},
    "evaluable_orders", "holdout_orders", "queries", "choice" ("none" when the figures are noise), "reason",
    "noise", "confidence", "k"}.
    """
    settings = settings or RelatedSettings()
    data = baskets(train)
    queries = holdout_queries(data.products, held_out, settings.max_queries_per_order, seed)
    distinct, inverse = np.unique(queries.items, return_inverse=True)
    fallback = popular_items(data, 2 * k + 1)
    lists = {
        "popular_related": popular_lists(distinct, k, fallback),
        "bought_together": bought_together_lists(data, distinct, k, settings.prior_orders, fallback),
    }
    if item_factors is not None:
        lists["similar"] = similar_lists(align_factors(item_factors, data.products), distinct, k, fallback)
    scorers = tuple(name for name in SCORERS if name in lists)
    per_order: dict[str, dict[str, np.ndarray]] = {}
    for name in scorers:
        values = per_user_metrics(lists[name][inverse], queries.relevant, k)
        hit = (values["precision"] > 0).astype(np.float64)  # at least one of the order's others in the list
        orders = queries.orders[values["users"]]
        per_query = {"map": values["map"], "recall": values["recall"], "hit_rate": hit}
        per_order[name] = {m: per_order_means(per_query[m], orders, queries.evaluable_orders) for m in RELATED_METRICS}
    samples = {f"{name}_{m}": per_order[name][m] for name in scorers for m in RELATED_METRICS}
    for name in scorers[1:]:
        for m in RELATED_METRICS:
            samples[f"lead_{name}_{m}"] = per_order[name][m] - per_order["popular_related"][m]
    intervals = {key: value.as_dict() for key, value in bootstrap_intervals(samples, confidence, seed=seed).items()}
    orders = queries.evaluable_orders
    noise = ""
    if orders < settings.noise_below_orders:
        noise = (
            f"only {orders} hold-out orders hold two or more products known to the training part (fewer than "
            f"{settings.noise_below_orders}): the related-products figures are noise, not evidence"
        )
        choice, reason = "none", f"no choice: too few hold-out orders ({orders}) to tell the rankings apart"
    else:
        choice, reason = choose_simplest(
            {name: per_order[name]["map"] for name in scorers}, scorers, k, confidence, seed, unit="orders"
        )
    return {
        "k": k,
        "scorers": {
            name: {m: float(per_order[name][m].mean()) if orders else 0.0 for m in RELATED_METRICS} for name in scorers
        },
        "intervals": intervals,
        "evaluable_orders": orders,
        "holdout_orders": queries.holdout_orders,
        "queries": len(queries.items),
        "choice": choice,
        "reason": reason,
        "noise": noise,
        "confidence": confidence,
    }


def related_markdown(results: dict) -> str:
    """The rankings' figures with their intervals, the paired leads over popular_related and the choice."""
    level = f"{results['confidence']:.0%}"
    rows = rankings_table(
        results["scorers"], results["intervals"], RELATED_METRICS, results["k"], "popular_related", results["choice"]
    )
    text = (
        "Bought together / similar, evaluated on hold-out orders (published per product): "
        f"{results['evaluable_orders']} of {results['holdout_orders']} hold-out orders hold two or more products "
        "known to training "
        f"({results['queries']} queries: one product of an order, the others to find); {level} bootstrap intervals "
        "over orders in brackets.\n\n" + "\n".join(rows) + f"\n\n**{results['reason']}**"
    )
    return text + (f"\n\n**{results['noise']}**" if results["noise"] else "")
