"""Bayesian Personalised Ranking (implicit.cpu.bpr): a factor model trained to rank bought above unbought."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits


@dataclass(frozen=True)
class BPRParams:
    """Parameters of implicit's BayesianPersonalizedRanking (CPU).

    Parameters
    ----------
    factors : int
        Latent dimensions (implicit adds one for an item bias).
    learning_rate : float
        SGD step: larger learns faster but can diverge.
    regularization : float
        L2 penalty on the factors.
    iterations : int
        Epochs over the purchases; each samples one unbought product per purchase.
    random_state : int
        Seed of the initialisation and of the sampling.
    """

    factors: int = 32
    learning_rate: float = 0.01
    regularization: float = 0.01
    iterations: int = 20
    random_state: int = 42


class BPRRecommender:
    """implicit's CPU BPR on the binary purchase matrix (repeat counts do not matter to a pairwise ranking)."""

    name = "bpr"

    def __init__(self, params: BPRParams):
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        self.params = params
        with threadpool_limits(1, "blas"):
            self.model = BayesianPersonalizedRanking(
                factors=params.factors,
                learning_rate=params.learning_rate,
                regularization=params.regularization,
                iterations=params.iterations,
                random_state=params.random_state,
                dtype=np.float32,
            )

    def fit(self, user_items: sp.csr_matrix) -> None:
        with threadpool_limits(1, "blas"):
            self.model.fit(user_items.tocsr(), show_progress=False)

    def recommend(self, userids, user_items, N, filter_already_liked_items=True, filter_items=None):
        with threadpool_limits(1, "blas"):
            return self.model.recommend(
                userids,
                user_items[userids],
                N=N,
                filter_already_liked_items=filter_already_liked_items,
                filter_items=filter_items,
            )

    def describe(self) -> dict:
        return {"model": self.name, **asdict(self.params)}
