"""Explanations of published lists: "because you bought X, Y, Z", or why a popular product was chosen.

Every item of a list gets a `reason` and `because` (a JSON array of up to `top` product ids the customer bought):
- `because_you_bought`: the bought products that contributed most to the item's score —
  * ALS: implicit's `explain` (Hu, Koren & Volinsky, section 5): with W_u = (YᵀC_uY + λI)⁻¹ the score of item i
    splits into Σ_j c_uj · (y_iᵀ W_u y_j) over the bought products j; computed here for whole batches of
    customers at once (one batched solve per batch instead of a Python call per customer and item), with the
    confidences the model was fitted on;
  * item-kNN: the neighbourhood terms S[j, i] of the bought products j (the score is their sum);
  * BPR (its score is no sum over bought products): the bought products most similar to the item in the
    model's factor space (cosine), an approximation named as such in the docs;
- `popular_in_segment`: no bought product contributes (popularity lists, cold starts, the popular products that
  fill short kNN lists) and the product is among the `segment_top` most bought of the customer's segment;
- `popular_overall`: otherwise.
Only positive contributions count: a bought product that pulls the score down is no reason to recommend.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from .training import TrainedModel

BECAUSE_YOU_BOUGHT = "because_you_bought"
POPULAR_IN_SEGMENT = "popular_in_segment"
POPULAR_OVERALL = "popular_overall"
REASONS = (BECAUSE_YOU_BOUGHT, POPULAR_IN_SEGMENT, POPULAR_OVERALL)
EXPLANATION_COLUMNS = ["reason", "because"]
CELLS_PER_BATCH = 200_000  # customers x (longest history in the batch): bounds the batch's dense arrays
# customers x the cells each needs whatever its history (ALS: its factors x factors system): 8 M float32 = 32 MB.
# Without it a batch of 200 000 one-purchase customers held 200 000 32x32 systems (800 MB, copied by the solve)
SYSTEM_CELLS_PER_BATCH = 8_000_000


@dataclass(frozen=True)
class ExplainSettings:
    """How many bought products explain an item (`top`), and how deep "popular in your segment" reaches."""

    top: int = 3
    segment_top: int = 50

    def __post_init__(self) -> None:
        if self.top < 1 or self.segment_top < 1:
            raise ValueError(f"explanation settings must be positive, got {self}")


def _batches(lengths: np.ndarray, cells_per_customer: int = 0) -> Iterator[np.ndarray]:
    """Positions of customers grouped by similar history length (little padding), each batch bounded in cells:
    customers x longest history, and customers x `cells_per_customer` (what each needs whatever its history)."""
    order = np.argsort(lengths, kind="stable")
    most_customers = max(1, SYSTEM_CELLS_PER_BATCH // cells_per_customer) if cells_per_customer > 0 else len(order)
    start = 0
    while start < len(order):
        end = start + 1  # sorted ascending: the batch's longest history is its last customer's
        while (
            end < len(order)
            and end - start < most_customers
            and (end - start + 1) * max(1, int(lengths[order[end]])) <= CELLS_PER_BATCH
        ):
            end += 1
        yield order[start:end]
        start = end


def _padded(rows: sp.csr_matrix, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bought product indices (padded with 0), their values (0 for padding) and the validity mask of `batch`."""
    lengths = np.diff(rows.indptr)[batch]
    width = max(1, int(lengths.max(initial=0)))
    valid = np.arange(width)[None, :] < lengths[:, None]
    starts = rows.indptr[batch]
    positions = np.where(valid, starts[:, None] + np.arange(width)[None, :], 0)
    indices = np.where(valid, rows.indices[positions] if rows.nnz else 0, 0)
    values = np.where(valid, rows.data[positions] if rows.nnz else 0.0, 0.0).astype(np.float32)
    return indices, values, valid


def _als_contributions(recommender, bought: np.ndarray, values, valid, items) -> np.ndarray:
    """(batch, history, k) contributions c_uj · y_iᵀ W_u y_j of implicit's ALS explain (float32 throughout: the
    factors are float32, and W_u is well conditioned by the regularisation)."""
    model = recommender.model
    factors = np.asarray(model.item_factors, dtype=np.float32)
    base = getattr(recommender, "_explain_base", None)
    if base is None:  # YᵀY + λI, once per model
        base = (factors.T @ factors + model.regularization * np.eye(factors.shape[1])).astype(np.float32)
        recommender._explain_base = base
    liked = factors[bought]  # (b, h, f)
    weighted = liked * np.where(valid, values - 1.0, 0.0).astype(np.float32)[..., None]
    systems = base[None] + np.matmul(weighted.transpose(0, 2, 1), liked)
    solved = np.linalg.solve(systems, factors[np.maximum(items, 0)].transpose(0, 2, 1))  # (b, f, k): W_u y_i
    return np.matmul(liked, solved) * values[..., None]


def _knn_contributions(similarity: sp.csr_matrix, bought: np.ndarray, values, valid, items) -> np.ndarray:
    """(batch, history, k) neighbourhood terms values_j · S[j, i]."""
    width, k = bought.shape[1], items.shape[1]
    rows = np.broadcast_to(bought[:, :, None], (len(bought), width, k)).ravel()
    cols = np.broadcast_to(np.maximum(items, 0)[:, None, :], (len(bought), width, k)).ravel()
    terms = np.asarray(similarity[rows, cols], dtype=np.float64).reshape(len(bought), width, k)
    return terms * values[..., None]


def _cosine_contributions(factors: np.ndarray, bought: np.ndarray, values, valid, items) -> np.ndarray:
    """(batch, history, k) cosine similarity of bought and recommended products in the factor space."""
    norms = np.linalg.norm(factors, axis=1)
    unit = factors / np.where(norms > 0, norms, 1.0)[:, None]
    return np.matmul(unit[bought], unit[np.maximum(items, 0)].transpose(0, 2, 1))


def _contributor(model: TrainedModel):
    """(rows to explain with, contribution function, cells each customer's batch entry needs beside its history) for
    the model's family, or None when it explains nothing."""
    recommender, family = model.recommender, model.config.model
    if family == "als":
        confidence = getattr(recommender, "confidence", None)  # models pickled before it was kept: purchases
        rows = (confidence if confidence is not None else model.purchased).tocsr()
        factors = recommender.model.item_factors.shape[1]
        return rows, lambda b, v, m, i: _als_contributions(recommender, b, v, m, i), factors * factors
    if family == "item_knn":
        similarity = recommender.model.similarity.tocsr()
        return model.purchased, lambda b, v, m, i: _knn_contributions(similarity, b, v, m, i), 0
    if family == "bpr":
        factors = np.asarray(recommender.model.item_factors, dtype=np.float64)
        return model.purchased, lambda b, v, m, i: _cosine_contributions(factors, b, v, m, i), 0
    return None


def bought_contributions(model: TrainedModel, users: np.ndarray, items: np.ndarray, top: int = 3) -> np.ndarray:
    """For each (user, recommended item): the indices of the `top` bought products contributing most (-1: none).

    `users`: model user indices (n,); `items`: recommended item indices (n, k), -1 for empty slots.
    Returns an (n, k, top) array of item indices, strongest first; only positive contributions are kept.
    """
    result = np.full((len(users), items.shape[1], top), -1, dtype=np.int64)
    contributor = _contributor(model)
    if contributor is None or len(users) == 0:
        return result
    rows, contribute, cells_per_customer = contributor
    rows = rows[users].tocsr()
    rows.sort_indices()

    def explain_batch(batch: np.ndarray) -> None:
        bought, values, valid = _padded(rows, batch)
        batch_items = items[batch]
        scores = contribute(bought, values, valid, batch_items)
        scores = np.where(valid[..., None] & (batch_items[:, None, :] >= 0) & (scores > 0), scores, -np.inf)
        depth = min(top, scores.shape[1])
        if scores.shape[1] > depth:  # only the strongest `depth` matter: partition first, then order those
            scores_top = np.argpartition(-scores, depth - 1, axis=1)[:, :depth, :]
            order = np.argsort(-np.take_along_axis(scores, scores_top, axis=1), axis=1, kind="stable")
            best = np.take_along_axis(scores_top, order, axis=1)
        else:
            best = np.argsort(-scores, axis=1, kind="stable")[:, :depth, :]  # (b, depth, k) positions in the history
        best_scores = np.take_along_axis(scores, best, axis=1)
        chosen = np.where(np.isfinite(best_scores), np.take_along_axis(bought[..., None], best, axis=1), -1)
        result[batch, :, :depth] = chosen.transpose(0, 2, 1)

    # batches hold distinct customers and numpy's solves and matmuls release the GIL: one thread per core, each
    # with a single-threaded BLAS
    with threadpool_limits(1, "blas"), ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(explain_batch, _batches(np.diff(rows.indptr), cells_per_customer)))
    return result


def segment_favourites(model: TrainedModel, customers: pd.DataFrame, segment_top: int) -> tuple[list, np.ndarray]:
    """The segments and a (segments x items) mask of each segment's `segment_top` products bought by most of its
    customers."""
    segments = customers.set_index(customers["customer_id"].astype(str))["segment"]
    user_segment = segments.reindex(model.users.ids).to_numpy(dtype=object)
    names = [str(s) for s in pd.unique(user_segment[pd.notna(user_segment)])]
    mask = np.zeros((len(names), len(model.items)), dtype=bool)
    for n, segment in enumerate(names):
        members = np.flatnonzero(user_segment == segment)
        buyers = np.asarray((model.purchased[members] > 0).sum(axis=0)).ravel()
        ranked = np.argsort(-buyers, kind="stable")[:segment_top]
        mask[n, ranked[buyers[ranked] > 0]] = True
    return names, mask


def because_texts(ids: np.ndarray, because: np.ndarray) -> pa.Array:
    """JSON arrays of the product ids in `because` (rows of item indices, -1 = none; the -1s trail), as one Arrow
    string array built column by column in Arrow (no Python string per row)."""
    none = len(ids)  # index of the empty string
    first = pa.array([json.dumps(str(p)) for p in ids] + [""], type=pa.large_string())
    rest = pa.array(["," + json.dumps(str(p)) for p in ids] + [""], type=pa.large_string())
    parts = [
        (first if column == 0 else rest).take(pa.array(np.where(because[:, column] >= 0, because[:, column], none)))
        for column in range(because.shape[1])
    ]
    text = pa.large_string()
    return pc.binary_join_element_wise(pa.scalar("[", text), *parts, pa.scalar("]", text), pa.scalar("", text))


def explain_lists(
    model: TrainedModel, lists: pd.DataFrame, customers: pd.DataFrame, settings: ExplainSettings | None = None
) -> pd.DataFrame:
    """`lists` (customer_id, rank, product_id, ...) with `reason` and `because` added (see the module docstring).

    `because` is a JSON array of product ids (stored as is by every store); `customers` gives each customer's
    segment. Rows are grouped by integer customer codes, never by Python strings: at 5 M rows those cost GBs.
    """
    settings = settings or ExplainSettings()
    out = lists.reset_index(drop=True).copy()
    if out.empty:
        out["reason"], out["because"] = pd.Series(dtype=object), pd.Series(dtype=object)
        return out
    codes, uniques = pd.factorize(out["customer_id"])
    order = np.lexsort((out["rank"].to_numpy(), codes))
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    counts = np.diff(np.r_[starts, len(order)])
    row_customer = np.repeat(np.arange(len(starts)), counts)
    slot = np.arange(len(order)) - np.repeat(starts, counts)
    row_items = model.items.index_of(out["product_id"].to_numpy()[order])
    items = np.full((len(starts), int(counts.max())), -1, dtype=np.int64)
    items[row_customer, slot] = row_items
    customer_ids = pd.Index(np.asarray(uniques, dtype=object)[sorted_codes[starts]]).astype(str)  # one per customer
    users = model.users.index_of(customer_ids.to_numpy())
    known = users >= 0
    because = np.full((len(starts), items.shape[1], settings.top), -1, dtype=np.int64)
    because[known] = bought_contributions(model, users[known], items[known], settings.top)
    flat = because[row_customer, slot]  # (rows, top), in sorted order

    names, favourites = segment_favourites(model, customers, settings.segment_top)
    segment_of = customers.set_index(customers["customer_id"].astype(str))["segment"].astype(str)
    segment_number = pd.Series(segment_of.reindex(customer_ids).to_numpy()).map({n: i for i, n in enumerate(names)})
    segment_index = np.repeat(segment_number.fillna(-1).to_numpy(dtype=np.int64), counts)
    in_segment = np.zeros(len(row_items), dtype=bool)
    usable = (segment_index >= 0) & (row_items >= 0)
    in_segment[usable] = favourites[segment_index[usable], row_items[usable]]
    reason_codes = np.where((flat >= 0).any(axis=1), 0, np.where(in_segment, 1, 2)).astype(np.int8)  # REASONS
    position = np.empty_like(order)
    position[order] = np.arange(len(order))  # row of `out` -> its place in the sorted order
    out["reason"] = pd.Categorical.from_codes(reason_codes[position], categories=REASONS)  # cheap to store and check
    out["because"] = pd.arrays.ArrowStringArray(because_texts(model.items.ids, flat).take(pa.array(position)))
    return out
