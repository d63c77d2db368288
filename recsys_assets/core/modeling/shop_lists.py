"""The buy-again and related-products lists a shop shows, ranked for publishing, each item explained.

`model_metrics` evaluates the rankings on the hold-out (buy_again.py, bought_together.py); the lists built here
use the same rankings and settings, fitted on all interactions as the "for you" lists are, and keep active
products only. Every item carries a reason code and a sentence a buyer understands:

- buy again (one list per customer: products they bought before, by the ranking model_metrics chose):
  ``reorder`` "you buy this every ~4 weeks; last bought 5 weeks ago", ``bought_once`` "you bought this once,
  5 weeks ago";
- related (one list per product and kind): ``bought_together`` "bought together with X in 38 % of the orders with
  X", ``similar`` "bought by the same kind of customers as X" (ALS item factors), and ``popular`` for the popular
  products that complete a short list, as a shop would show it: "one of the most bought products (in 120 orders)".

The frames have the store's side-list columns (`SIDE_LIST_COLUMNS`): `list` (buy_again, bought_together or
similar), `key` (the customer, or the product the list is for), rank, product_id, score, source (the ranking),
reason and explanation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stores.store import SIDE_LIST_COLUMNS
from .bought_together import Baskets, align_factors, baskets, co_orders, fill_short, popular_items, shrunk_lift
from .buy_again import (
    DAY,
    RANKINGS,
    BuyAgainSettings,
    ProductRhythm,
    buy_again_scores,
    own_mean_gaps,
    purchase_history,
    rank_lists,
    ranking_keys,
)

RELATED_KINDS = ("bought_together", "similar")
QUERY_CHUNK = 1000  # query products ranked at a time: bounds the co-order and similarity matrices' memory


def duration(days: float) -> str:
    """A span of days as a buyer reads it: "1 day", "9 days", "5 weeks", "4 months", "2 years"."""
    days = float(days)
    if days < 1:
        return "less than a day"
    if days < 13.5:
        count, unit = round(days), "day"
    elif days < 60:
        count, unit = round(days / 7), "week"
    elif days < 700:
        count, unit = round(days / 30.44), "month"
    else:
        count, unit = round(days / 365.25), "year"
    return f"{count} {unit}{'' if count == 1 else 's'}"


def durations(days: np.ndarray) -> np.ndarray:
    """`duration` of every value (object array), each distinct whole day formatted once."""
    distinct, inverse = np.unique(np.round(np.asarray(days, dtype=np.float64), 1), return_inverse=True)
    return np.array([duration(d) for d in distinct], dtype=object)[inverse.ravel()]


def percent(share: float) -> str:
    """A share as "38 %" ("<1 %" for a small non-zero share)."""
    value = 100.0 * share
    return "<1 %" if 0 < value < 0.5 else f"{value:.0f} %"


def publish_as_of(interactions: pd.DataFrame) -> pd.Timestamp:
    """The day the lists are ranked for: the day after the last interaction (as the model's lists are trained
    until it), so re-publishing the same data gives the same lists, whatever the clock says."""
    return pd.Timestamp(interactions["order_ts"].max()).normalize() + DAY


def buy_again_lists(
    interactions: pd.DataFrame,
    active_products: pd.Index,
    ranking: str,
    k: int,
    settings: BuyAgainSettings | None = None,
    as_of: pd.Timestamp | None = None,
    rhythm: ProductRhythm | None = None,
) -> pd.DataFrame:
    """Each customer's top-`k` active products bought before, by `ranking` (one of `RANKINGS`), explained.

    The reorder intervals and the popularity of `popular_bought` are learned from every product (from
    `interactions`, or given as the `rhythm` of a larger history: `interactions` then need only hold the customers
    to rank); only the products in `active_products` are listed. `score` is what the ranking sorts by (due-ness,
    distinct orders or distinct buyers)."""
    if ranking not in RANKINGS:
        raise ValueError(f"unknown buy-again ranking {ranking!r}; the rankings are {list(RANKINGS)}")
    if k < 1:
        raise ValueError(f"buy-again lists need k >= 1, got {k}")
    settings = settings or BuyAgainSettings()
    if interactions.empty:
        return pd.DataFrame(columns=SIDE_LIST_COLUMNS)
    as_of = as_of if as_of is not None else publish_as_of(interactions)
    history = purchase_history(interactions, as_of, rhythm.products if rhythm is not None else None)
    table = history.table
    intervals, buyers = rhythm.for_products(history) if rhythm is not None else (None, None)
    table["score"] = buy_again_scores(history, settings, intervals)
    table["own_gap"] = own_mean_gaps(table)
    keys = ranking_keys(table, len(history.products), buyers)[ranking]
    active = np.asarray(pd.Index(history.products).astype(str).isin(pd.Index(active_products).astype(str)))
    keep = active[table["item_code"].to_numpy()]
    rows = table[keep]
    lists = rank_lists(
        rows["customer_code"].to_numpy(),
        rows["item_code"].to_numpy(),
        [np.asarray(key)[keep] for key in keys],
        len(history.customers),
        k,
    )
    customer_of, rank_of = np.nonzero(lists >= 0)
    items = lists[customer_of, rank_of]
    # the table is sorted by customer then item code: find each listed pair's row
    width = max(1, len(history.products))
    pair_rows = pd.Index(table["customer_code"].to_numpy() * width + table["item_code"].to_numpy())
    at = pair_rows.get_indexer(customer_of.astype(np.int64) * width + items)
    score = np.asarray(keys[0], dtype=np.float64)[at]
    repeat = table["days"].to_numpy()[at] >= 2
    every = durations(table["own_gap"].to_numpy()[at])
    ago = durations(table["elapsed_days"].to_numpy()[at])
    reasons = np.where(repeat, "reorder", "bought_once")
    sentences = [
        f"you buy this every ~{gap}; last bought {elapsed} ago" if again else f"you bought this once, {elapsed} ago"
        for again, gap, elapsed in zip(repeat, every, ago, strict=True)
    ]
    return pd.DataFrame(
        {
            "list": "buy_again",
            "key": np.asarray(history.customers, dtype=object)[customer_of].astype(str),
            "rank": rank_of + 1,
            "product_id": np.asarray(history.products, dtype=object)[items].astype(str),
            "score": score,
            "source": ranking,
            "reason": reasons,
            "explanation": sentences,
        },
        columns=SIDE_LIST_COLUMNS,
    )


def _names(products: pd.DataFrame) -> dict[str, str]:
    """product_id -> the name a buyer reads (the id where the master data has no name)."""
    names = products["name"] if "name" in products.columns else products["product_id"]
    return {
        str(p): str(n) if isinstance(n, str) and n else str(p)
        for p, n in zip(products["product_id"], names, strict=True)
    }


def _related_frame(kind: str, data: Baskets, queries, lists, scores, sources, explanations) -> pd.DataFrame:
    rows, ranks = np.nonzero(lists >= 0)
    products = np.asarray(data.products, dtype=object).astype(str)
    return pd.DataFrame(
        {
            "list": kind,
            "key": products[queries[rows]],
            "rank": ranks + 1,
            "product_id": products[lists[rows, ranks]],
            "score": scores[rows, ranks],
            "source": sources[rows, ranks],
            "reason": np.where(sources[rows, ranks] == "popular_related", "popular", kind),
            "explanation": explanations[rows, ranks],
        },
        columns=SIDE_LIST_COLUMNS,
    )


def _popular_sentences(data: Baskets, items: np.ndarray) -> np.ndarray:
    orders = data.orders_of[np.asarray(items, dtype=np.int64)].astype(np.int64)
    distinct, inverse = np.unique(orders, return_inverse=True)
    texts = np.array([f"one of the most bought products (in {n} orders)" for n in distinct], dtype=object)
    return texts[inverse.ravel()]


def bought_together_lists(
    data: Baskets, queries: np.ndarray, active: np.ndarray, k: int, prior: float, names: dict[str, str]
) -> pd.DataFrame:
    """Per query product, the active products sharing its training orders, highest `shrunk_lift` first (the
    ranking model_metrics evaluates), completed with the most popular active products."""
    by_orders = popular_items(data, len(data.products))
    fallback = by_orders[active[by_orders]][: 2 * k + 1]  # enough for every list to fill (`fill_short`)
    frames = []
    ids = np.asarray(data.products, dtype=object).astype(str)
    for start in range(0, len(queries), QUERY_CHUNK):
        chunk = queries[start : start + QUERY_CHUNK]
        counts = co_orders(data, chunk)
        rows = np.repeat(np.arange(len(chunk)), np.diff(counts.indptr))
        cols = counts.indices.astype(np.int64)
        co = counts.data
        keep = active[cols]
        rows, cols, co = rows[keep], cols[keep], co[keep]
        lift = shrunk_lift(co, data.orders_of[chunk][rows], data.orders_of[cols], data.n_orders, prior)
        ranked = rank_lists(rows, cols, [lift, co, data.orders_of[cols]], len(chunk), k)
        filled = fill_short(ranked, chunk, fallback)
        together = ranked >= 0
        pairs = pd.Index(rows.astype(np.int64) * len(ids) + cols)
        wanted = np.arange(len(chunk))[:, None].astype(np.int64) * len(ids) + np.maximum(ranked, 0)
        at = pairs.get_indexer(wanted.ravel()).reshape(ranked.shape)
        at = np.maximum(at, 0)
        scores = np.where(together, lift[at] if len(lift) else 0.0, data.orders_of[np.maximum(filled, 0)])
        co_of = np.where(together, co[at] if len(co) else 0.0, 0.0)
        sources = np.where(together, "bought_together", "popular_related").astype(object)
        sentences = np.empty(filled.shape, dtype=object)
        rows_at, cols_at = np.nonzero(filled >= 0)
        queries_named = np.array([names.get(i, i) for i in ids[chunk]], dtype=object)[rows_at]
        shares = co_of[rows_at, cols_at] / np.maximum(data.orders_of[chunk][rows_at], 1.0)
        distinct, inverse = np.unique(np.round(shares, 3), return_inverse=True)
        share_texts = np.array([percent(v) for v in distinct], dtype=object)[inverse.ravel()]
        popular = _popular_sentences(data, filled[rows_at, cols_at])
        sentences[rows_at, cols_at] = [
            f"bought together with {query} in {share} of the orders with {query}" if with_query else fallback
            for with_query, query, share, fallback in zip(
                together[rows_at, cols_at], queries_named, share_texts, popular, strict=True
            )
        ]
        frames.append(_related_frame("bought_together", data, chunk, filled, scores, sources, sentences))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SIDE_LIST_COLUMNS)


def similar_lists(
    data: Baskets, factors: np.ndarray, queries: np.ndarray, active: np.ndarray, k: int, names: dict[str, str]
) -> pd.DataFrame:
    """Per query product with factors, the active products whose factors (rows aligned with `data.products`) have
    the highest cosine similarity with its own, the query left out (the ranking model_metrics evaluates)."""
    norms = np.linalg.norm(factors, axis=1)
    unit = np.zeros(factors.shape, dtype=np.float32)
    unit[norms > 0] = factors[norms > 0] / norms[norms > 0, None]
    candidates = active & (norms > 0)
    queries = queries[norms[queries] > 0]  # a product the model has no factors for is similar to nothing
    ids = np.asarray(data.products, dtype=object).astype(str)
    width = min(k, int(candidates.sum()))
    frames = []
    for start in range(0, len(queries) if width > 0 else 0, QUERY_CHUNK):
        chunk = queries[start : start + QUERY_CHUNK]
        similarity = unit[chunk] @ unit.T
        similarity[:, ~candidates] = -np.inf
        similarity[np.arange(len(chunk)), chunk] = -np.inf
        top = np.argpartition(-similarity, width - 1, axis=1)[:, :width] if width < similarity.shape[1] else None
        if top is None:
            top = np.tile(np.arange(similarity.shape[1]), (len(chunk), 1))
        top_scores = np.take_along_axis(similarity, top, axis=1)
        order = np.lexsort((top, -top_scores), axis=1)  # highest first, ties by item code
        lists = np.take_along_axis(top, order, axis=1)[:, :width].astype(np.int64)
        scores = np.take_along_axis(top_scores, order, axis=1)[:, :width].astype(np.float64)
        lists[~np.isfinite(scores)] = -1  # fewer candidates than k
        sources = np.full(lists.shape, "similar", dtype=object)
        sentences = np.empty(lists.shape, dtype=object)
        sentences[:] = np.array(
            [f"bought by the same kind of customers as {names.get(i, i)}" for i in ids[chunk]], dtype=object
        )[:, None]
        frames.append(_related_frame("similar", data, chunk, lists, scores, sources, sentences))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SIDE_LIST_COLUMNS)


def related_lists(
    interactions: pd.DataFrame,
    products: pd.DataFrame,
    k: int,
    prior_orders: float,
    item_factors: tuple[pd.Index, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Per active product bought in `interactions`, its `bought_together` list and, when `item_factors` (the ALS
    model's, `bought_together.als_item_factors`) are given, its `similar` list; only active products listed.

    `products` is the master data (product_id, name, active): names make the explanations, `active` filters."""
    if k < 1:
        raise ValueError(f"related lists need k >= 1, got {k}")
    if interactions.empty:
        return pd.DataFrame(columns=SIDE_LIST_COLUMNS)
    data = baskets(interactions)
    master = products.assign(product_id=products["product_id"].astype(str))
    active_ids = master.loc[master["active"].astype(bool), "product_id"] if "active" in master else master["product_id"]
    active = np.asarray(pd.Index(data.products).astype(str).isin(pd.Index(active_ids)))
    queries = np.flatnonzero(active)
    names = _names(master)
    frames = [bought_together_lists(data, queries, active, k, prior_orders, names)]
    if item_factors is not None:
        frames.append(similar_lists(data, align_factors(item_factors, data.products), queries, active, k, names))
    return pd.concat(frames, ignore_index=True)
