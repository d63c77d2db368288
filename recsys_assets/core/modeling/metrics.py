"""Offline ranking metrics on a hold-out, vectorised over all customers at once.

`recommended` is an (n_users x K) array of item indices, -1 for empty slots; `relevant` is an (n_users x
n_items) sparse matrix whose non-zeros are the items each user bought in the hold-out. Users with no relevant
item are left out of the averages (nothing to find), as implicit.evaluation does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


def hit_matrix(recommended: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Boolean (n_users x K): True where the recommended item is relevant for that user."""
    n_users, k = recommended.shape
    if n_users == 0 or k == 0:
        return np.zeros((n_users, k), dtype=bool)
    rows = np.repeat(np.arange(n_users), k)
    cols = recommended.ravel()
    valid = cols >= 0
    hits = np.zeros(n_users * k, dtype=bool)
    binary = relevant.tocsr().astype(bool)
    hits[valid] = np.asarray(binary[rows[valid], cols[valid]]).ravel()
    return hits.reshape(n_users, k)


METRICS = ("map", "precision", "recall", "ndcg", "auc")


def per_user_metrics(recommended: np.ndarray, relevant: sp.csr_matrix, k: int) -> dict[str, np.ndarray]:
    """AP@K, precision@K, recall@K, NDCG@K and AUC@K of every user with at least one relevant item.

    - precision@K = hits in the top K / K
    - recall@K = hits in the top K / number of relevant items
    - AP@K = sum over hit positions i of (hits up to i / i), divided by min(K, number of relevant items)
    - NDCG@K = DCG of the hits (1 / log2(rank + 1)) over the DCG of a perfect list of min(K, relevant) hits
    - AUC@K = implicit's limited AUC: the share of (relevant, other) product pairs ranked in the right order,
      where the products beyond the list count as tied (implicit.evaluation.ranking_metrics_at_k)
    Also returns `users`, the row indices of the users scored.
    """
    recommended = recommended[:, :k]
    relevant = relevant.tocsr()
    n_relevant = np.diff(relevant.indptr)
    users = np.flatnonzero(n_relevant > 0)
    if len(users) == 0:
        return {"users": users, **{name: np.zeros(0) for name in METRICS}}
    hits = hit_matrix(recommended[users], relevant[users]).astype(np.float64)
    if hits.shape[1] < k:  # short lists: the missing slots are misses
        hits = np.pad(hits, ((0, 0), (0, k - hits.shape[1])))
    n_rel = n_relevant[users].astype(np.float64)
    positions = np.arange(1, k + 1, dtype=np.float64)
    cumulative = np.cumsum(hits, axis=1)
    ap = (hits * cumulative / positions).sum(axis=1) / np.minimum(k, n_rel)
    discounts = 1.0 / np.log2(positions + 1.0)
    dcg = (hits * discounts).sum(axis=1)
    ideal_discounts = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))])
    idcg = ideal_discounts[np.minimum(k, n_rel).astype(int)]
    total_hits = hits.sum(axis=1)
    # AUC as implicit computes it: every miss in the list scores the hits above it; the products not listed
    # are tied with each other, each relevant one half-ranked against the unlisted others
    misses = 1.0 - hits
    n_negative = relevant.shape[1] - n_rel
    auc = (misses * cumulative).sum(axis=1) + (total_hits + n_rel) / 2.0 * (n_negative - misses.sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = np.where(n_negative > 0, auc / (n_rel * n_negative), 1.0)
    return {
        "users": users,
        "map": ap,
        "precision": total_hits / k,
        "recall": total_hits / n_rel,
        "ndcg": dcg / idcg,
        "auc": auc,
    }


def ranking_metrics(recommended: np.ndarray, relevant: sp.csr_matrix, k: int) -> dict[str, float]:
    """MAP@K, precision@K, recall@K, NDCG@K and AUC@K averaged over users with at least one relevant item
    (see `per_user_metrics`), and `evaluated_users`, how many they are."""
    values = per_user_metrics(recommended, relevant, k)
    count = len(values["users"])
    return {
        **{name: float(values[name].mean()) if count else 0.0 for name in METRICS},
        "evaluated_users": int(count),
    }


@dataclass(frozen=True)
class Interval:
    """A bootstrap confidence interval over customers: the mean and its [low, high] bounds."""

    mean: float
    low: float
    high: float
    level: float = 0.95

    def as_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "low": self.low, "high": self.high}


def bootstrap_intervals(
    samples: dict[str, np.ndarray], level: float = 0.95, resamples: int = 1000, seed: int = 0
) -> dict[str, Interval]:
    """Percentile bootstrap intervals of the mean of each array, resampling the same customers for all arrays.

    The arrays hold one value per customer, aligned (customer i is row i of each): resampling customers jointly
    keeps paired quantities paired, so the interval of a difference (model - popularity) is the paired one.
    """
    sizes = {len(values) for values in samples.values()}
    if len(sizes) > 1:
        raise ValueError(f"bootstrap: the per-customer arrays differ in length: {sorted(sizes)}")
    n = sizes.pop() if sizes else 0
    if n == 0:
        return {name: Interval(math.nan, math.nan, math.nan, level) for name in samples}
    rng = np.random.default_rng(seed)
    matrix = np.column_stack([np.asarray(values, dtype=np.float64) for values in samples.values()])
    means = np.empty((resamples, matrix.shape[1]))
    # resampled means through weights: how often each customer is drawn (n uniform draws per resample, counted
    # with one bincount: 3-6x faster than numpy's multinomial), in batches that keep the weight matrix near 32 MB
    batch = max(1, min(resamples, 4_000_000 // n))
    for first in range(0, resamples, batch):
        size = min(batch, resamples - first)
        draws = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
        weights = np.bincount(draws.ravel(), minlength=size * n).reshape(size, n) / n
        means[first : first + size] = weights @ matrix
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail], axis=0)
    return {
        name: Interval(float(matrix[:, i].mean()), float(low[i]), float(high[i]), level)
        for i, name in enumerate(samples)
    }


def catalogue_coverage(recommended: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one recommendation list."""
    if n_items == 0:
        return 0.0
    shown = np.unique(recommended[recommended >= 0])
    return float(len(shown) / n_items)
