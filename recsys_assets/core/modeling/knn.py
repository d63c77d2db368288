"""Item-item nearest neighbours (implicit.nearest_neighbours): cosine or BM25 similarity between products.

A customer's score for a product is the sum of its similarities to the products the customer bought, so
the lists follow "customers who bought X also bought Y". Lists that the neighbourhoods cannot fill (few
purchases with few neighbours) are completed with the most popular products.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

KNN_SIMILARITIES = ("cosine", "bm25")


@dataclass(frozen=True)
class KNNParams:
    """Parameters of implicit's item-item recommenders.

    Parameters
    ----------
    similarity : str
        ``cosine`` (CosineRecommender: normalised co-purchase counts) or ``bm25`` (BM25Recommender: damps
        heavy buyers and very popular products before comparing).
    neighbours : int
        Neighbours kept per product (implicit's K): more widen the candidate set, fewer sharpen it.
    bm25_k1, bm25_b : float
        BM25 saturation and length normalisation (``bm25`` only).
    """

    similarity: str = "cosine"
    neighbours: int = 50
    bm25_k1: float = 1.2
    bm25_b: float = 0.75


class ItemKNNRecommender:
    """implicit's CosineRecommender or BM25Recommender, fitted on a customer x product count matrix."""

    def __init__(self, params: KNNParams):
        from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

        if params.similarity not in KNN_SIMILARITIES:
            raise ValueError(f"item_knn similarity must be one of {KNN_SIMILARITIES}, got {params.similarity!r}")
        self.params = params
        self.name = f"item_knn_{params.similarity}"
        if params.similarity == "cosine":
            self.model = CosineRecommender(K=params.neighbours)
        else:
            self.model = BM25Recommender(K=params.neighbours, K1=params.bm25_k1, B=params.bm25_b)
        self.popular: np.ndarray | None = None  # product indices, most bought first (fills short lists)

    def fit(self, user_items: sp.csr_matrix) -> None:
        from implicit.utils import ParameterWarning

        with threadpool_limits(1, "blas"), warnings.catch_warnings():
            # implicit's own weighting hands its kNN a COO matrix and then warns about converting it
            warnings.simplefilter("ignore", ParameterWarning)
            self.model.fit(user_items.tocsr(), show_progress=False)
        self.popular = np.argsort(-np.asarray((user_items > 0).sum(axis=0)).ravel(), kind="stable")

    def recommend(self, userids, user_items, N, filter_already_liked_items=True, filter_items=None):
        rows = user_items[userids].tocsr()  # implicit's kNN scores with the rows it is given
        with threadpool_limits(1, "blas"):
            ids, scores = self.model.recommend(
                np.asarray(userids),
                rows,
                N=N,
                filter_already_liked_items=filter_already_liked_items,
                filter_items=filter_items,
            )
        ids = np.asarray(ids, dtype=np.int64).reshape(len(userids), -1)
        scores = np.asarray(scores, dtype=np.float32).reshape(len(userids), -1)
        short = np.flatnonzero((ids < 0).any(axis=1))
        if len(short):
            self._fill_short(ids, scores, short, rows if filter_already_liked_items else None, filter_items)
        return ids, scores

    def _fill_short(self, ids, scores, short, liked, filter_items) -> None:
        """Complete rows with -1 slots by popular products not yet in the row, liked or filtered."""
        assert self.popular is not None, "fit the item_knn model first"
        popular = self.popular
        if filter_items is not None and len(filter_items):
            # the filtered products leave the popularity order once, not a set copy per row
            popular = popular[~np.isin(popular, np.asarray(filter_items))]
        popular = popular.tolist()
        for row in short:
            present = ids[row][ids[row] >= 0]
            skip = set(present.tolist())
            if liked is not None:
                skip.update(liked.indices[liked.indptr[row] : liked.indptr[row + 1]].tolist())
            free = np.flatnonzero(ids[row] < 0)
            floor = float(np.nanmin(scores[row][ids[row] >= 0])) if len(present) else 0.0
            fill = [item for item in popular[: len(skip) + len(free)] if item not in skip][: len(free)]
            ids[row, free[: len(fill)]] = fill
            # below every neighbourhood score, in popularity order
            scores[row, free[: len(fill)]] = floor - 1.0 - np.arange(len(fill), dtype=np.float32) / (len(fill) + 1)

    def describe(self) -> dict:
        return {"model": "item_knn", **asdict(self.params)}
