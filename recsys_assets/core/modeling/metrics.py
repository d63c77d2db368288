"""Offline ranking metrics on a hold-out, vectorised over all customers at once.

`recommended` is an (n_users x K) array of item indices, -1 for empty slots; `relevant` is an (n_users x
n_items) sparse matrix whose non-zeros are the items each user bought in the hold-out. Users with no relevant
item are left out of the averages (nothing to find), as implicit.evaluation does.
"""

from __future__ import annotations

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


def ranking_metrics(recommended: np.ndarray, relevant: sp.csr_matrix, k: int) -> dict[str, float]:
    """MAP@K, precision@K, recall@K and NDCG@K averaged over users with at least one relevant item.

    - precision@K = hits in the top K / K
    - recall@K = hits in the top K / number of relevant items
    - AP@K = sum over hit positions i of (hits up to i / i), divided by min(K, number of relevant items)
    - NDCG@K = DCG of the hits (1 / log2(rank + 1)) over the DCG of a perfect list of min(K, relevant) hits
    """
    recommended = recommended[:, :k]
    n_relevant = np.diff(relevant.tocsr().indptr)
    users = n_relevant > 0
    empty = {"map": 0.0, "precision": 0.0, "recall": 0.0, "ndcg": 0.0, "evaluated_users": 0}
    if not users.any():
        return empty
    hits = hit_matrix(recommended[users], relevant.tocsr()[users]).astype(np.float64)
    n_rel = n_relevant[users].astype(np.float64)
    width = hits.shape[1]
    positions = np.arange(1, width + 1, dtype=np.float64)
    cumulative = np.cumsum(hits, axis=1)
    ap = (hits * cumulative / positions).sum(axis=1) / np.minimum(k, n_rel)
    discounts = 1.0 / np.log2(positions + 1.0)
    dcg = (hits * discounts).sum(axis=1)
    ideal_discounts = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))])
    idcg = ideal_discounts[np.minimum(k, n_rel).astype(int)]
    total_hits = hits.sum(axis=1)
    return {
        "map": float(ap.mean()),
        "precision": float((total_hits / k).mean()),
        "recall": float((total_hits / n_rel).mean()),
        "ndcg": float((dcg / idcg).mean()),
        "evaluated_users": int(users.sum()),
    }


def catalogue_coverage(recommended: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one recommendation list."""
    if n_items == 0:
        return 0.0
    shown = np.unique(recommended[recommended >= 0])
    return float(len(shown) / n_items)
