"""Bayesian Personalised Ranking (implicit.cpu.bpr): a factor model trained to rank bought above unbought."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .models import ImplicitFactorModel


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


class BPRRecommender(ImplicitFactorModel):
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
