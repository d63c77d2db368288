"""Model candidates: one spec (`TrainingConfig`) per candidate, and the factory that builds its recommender.

Each family lives in its own module (models.py: ALS and popularity, knn.py, bpr.py), all with the same
`fit` / `recommend` / `describe` interface; `make_candidate` picks the implementation and `candidate_input`
the matrix the family learns from, so training and model selection never branch on the family themselves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import scipy.sparse as sp

from .bpr import BPRParams, BPRRecommender
from .knn import KNN_SIMILARITIES, ItemKNNRecommender, KNNParams
from .matrix import WEIGHTINGS, confidence
from .models import ALSParams, ALSRecommender, PopularityRecommender, Recommender

MODEL_FAMILIES = ("popularity", "item_knn", "als", "bpr")  # simplest first: ties go to the earlier family


@dataclass(frozen=True)
class TrainingConfig:
    """How interactions become one model candidate.

    Parameters
    ----------
    model : str
        Family: ``als`` (default), ``item_knn``, ``bpr`` or ``popularity`` (see `MODEL_FAMILIES`).
    weighting : str
        ALS confidence from distinct-order counts: ``log`` (default), ``bm25`` or ``linear``
        (see matrix.confidence).
    alpha : float
        ALS: scale of the confidence values; larger trusts repeat purchases more against non-purchases.
    bm25_k1, bm25_b : float
        ALS: BM25 saturation and length normalisation (only for ``bm25``).
    half_life_days : float or None
        Age decay of orders (ALS and item_knn); None weighs old and new orders alike.
    als, knn, bpr : ALSParams, KNNParams, BPRParams
        Parameters of the family's model; only the one of `model` is used.
    """

    weighting: str = "log"
    alpha: float = 1.0
    bm25_k1: float = 100.0
    bm25_b: float = 0.8
    half_life_days: float | None = None
    als: ALSParams = field(default_factory=ALSParams)
    model: str = "als"
    knn: KNNParams = field(default_factory=KNNParams)
    bpr: BPRParams = field(default_factory=BPRParams)

    def __post_init__(self) -> None:
        if self.model not in MODEL_FAMILIES:
            raise ValueError(f"model family must be one of {MODEL_FAMILIES}, got {self.model!r}")

    def as_dict(self) -> dict:
        """The settings that shape this candidate (those of other families are left out)."""
        if self.model == "popularity":
            return {"model": "popularity"}
        if self.model == "item_knn":
            return {"model": "item_knn", "half_life_days": self.half_life_days, "knn": asdict(self.knn)}
        if self.model == "bpr":
            return {"model": "bpr", "bpr": asdict(self.bpr)}
        full = asdict(self)
        del full["knn"], full["bpr"]
        return full

    @property
    def label(self) -> str:
        """A short, unique name of the candidate within a grid, e.g. ``als_f32_r1_i15_log``."""
        if self.model == "popularity":
            return "popularity"
        if self.model == "item_knn":
            return f"item_knn_{self.knn.similarity}_k{self.knn.neighbours}"
        if self.model == "bpr":
            p = self.bpr
            return f"bpr_f{p.factors}_lr{p.learning_rate:g}_r{p.regularization:g}_i{p.iterations}"
        p = self.als
        weighting = self.weighting if self.alpha == 1.0 else f"{self.weighting}_a{self.alpha:g}"
        return f"als_f{p.factors}_r{p.regularization:g}_i{p.iterations}_{weighting}"

    @property
    def complexity(self) -> int:
        """Rank of the family from simplest (popularity) to most complex: ties in selection go to the simpler."""
        return MODEL_FAMILIES.index(self.model)


CandidateSpec = TrainingConfig  # one candidate of the model-selection grid


def make_candidate(config: TrainingConfig) -> Recommender:
    """A fresh, unfitted recommender of `config`'s family."""
    if config.model == "als":
        return ALSRecommender(config.als)
    if config.model == "item_knn":
        return ItemKNNRecommender(config.knn)
    if config.model == "bpr":
        return BPRRecommender(config.bpr)
    return PopularityRecommender()


def candidate_input(config: TrainingConfig, counts: sp.csr_matrix, purchased: sp.csr_matrix) -> sp.csr_matrix:
    """The matrix `config`'s family is fitted on.

    ALS: confidence values from the (decayed) order counts; item_knn: the order counts (its similarity does
    the weighting); BPR and popularity: the binary purchases.
    """
    if config.model == "als":
        return confidence(counts, config.weighting, config.alpha, config.bm25_k1, config.bm25_b)
    if config.model == "item_knn":
        return counts.astype("float32")
    return purchased


@dataclass(frozen=True)
class GridSpec:
    """The candidate grid: every combination of the ALS lists, every kNN similarity x K, every BPR size.

    Popularity is always added by model selection. The defaults run in bounded time (see benchmarks/
    RESULTS.md): two ALS weightings, cosine and BM25 item-kNN, one BPR.

    Parameters
    ----------
    als_factors : tuple of int
        ALS grid: latent factors.
    als_regularization : tuple of float
        ALS grid: L2 regularisation.
    als_iterations : tuple of int
        ALS grid: iterations.
    als_weighting : tuple of str
        ALS grid: confidence weighting (``bm25``, or alpha-scaled ``log`` / ``linear``).
    als_alpha : tuple of float
        ALS grid: confidence scale alpha.
    knn_similarities : tuple of str
        Item-kNN grid: ``cosine`` and/or ``bm25``.
    knn_neighbours : tuple of int
        Item-kNN grid: neighbours per product (K).
    bpr_factors : tuple of int
        BPR grid: latent factors (empty: no BPR).
    bpr_learning_rate, bpr_regularization : float
        BPR: SGD learning rate and L2 regularisation.
    bpr_iterations : int
        BPR epochs.
    bm25_k1, bm25_b : float
        ALS BM25 saturation and length normalisation of every ``bm25`` candidate.
    half_life_days : float or None
        Age decay of orders of every ALS and item-kNN candidate; None for no decay.
    random_state : int
        Seed of every ALS and BPR candidate.
    """

    als_factors: tuple[int, ...] = (ALSParams.factors,)
    als_regularization: tuple[float, ...] = (ALSParams.regularization,)
    als_iterations: tuple[int, ...] = (ALSParams.iterations,)
    als_weighting: tuple[str, ...] = ("log", "bm25")
    als_alpha: tuple[float, ...] = (TrainingConfig.alpha,)
    knn_similarities: tuple[str, ...] = ("cosine", "bm25")
    knn_neighbours: tuple[int, ...] = (KNNParams.neighbours,)
    bpr_factors: tuple[int, ...] = (BPRParams.factors,)
    bpr_learning_rate: float = BPRParams.learning_rate
    bpr_regularization: float = BPRParams.regularization
    bpr_iterations: int = BPRParams.iterations
    bm25_k1: float = TrainingConfig.bm25_k1
    bm25_b: float = TrainingConfig.bm25_b
    half_life_days: float | None = TrainingConfig.half_life_days
    random_state: int = ALSParams.random_state


def check_grid(spec: GridSpec) -> None:
    """Raise ValueError naming the grid setting and its offending values (a typo must not drop candidates)."""
    problems = []
    if bad := [w for w in spec.als_weighting if w not in WEIGHTINGS]:
        problems.append(f"als_weighting {bad} (allowed: {list(WEIGHTINGS)})")
    if bad := [s for s in spec.knn_similarities if s not in KNN_SIMILARITIES]:
        problems.append(f"knn_similarities {bad} (allowed: {list(KNN_SIMILARITIES)})")
    for name in ("als_factors", "als_iterations", "knn_neighbours", "bpr_factors"):
        if bad := [v for v in getattr(spec, name) if v < 1]:
            problems.append(f"{name} {bad} (must be >= 1)")
    if bad := [v for v in spec.als_regularization if v < 0]:
        problems.append(f"als_regularization {bad} (must be >= 0)")
    if bad := [v for v in spec.als_alpha if v <= 0]:
        problems.append(f"als_alpha {bad} (must be > 0)")
    if spec.bpr_factors and (spec.bpr_iterations < 1 or spec.bpr_learning_rate <= 0):
        problems.append(f"bpr_iterations {spec.bpr_iterations} / bpr_learning_rate {spec.bpr_learning_rate}")
    if problems:
        raise ValueError("candidate grid: invalid " + "; ".join(problems))


def candidate_grid(spec: GridSpec) -> list[TrainingConfig]:
    """The candidates of `spec`, in a stable order (ALS, item-kNN, BPR); popularity is added by selection."""
    check_grid(spec)
    als = [
        TrainingConfig(
            model="als",
            weighting=weighting,
            alpha=alpha,
            bm25_k1=spec.bm25_k1,
            bm25_b=spec.bm25_b,
            half_life_days=spec.half_life_days,
            als=ALSParams(factors, regularization, iterations, spec.random_state),
        )
        for factors in spec.als_factors
        for regularization in spec.als_regularization
        for iterations in spec.als_iterations
        for weighting in spec.als_weighting
        for alpha in spec.als_alpha
    ]
    knn = [
        TrainingConfig(
            model="item_knn",
            half_life_days=spec.half_life_days,
            knn=KNNParams(similarity=similarity, neighbours=neighbours),
        )
        for similarity in spec.knn_similarities
        for neighbours in spec.knn_neighbours
    ]
    bpr = [
        TrainingConfig(
            model="bpr",
            bpr=BPRParams(
                factors=factors,
                learning_rate=spec.bpr_learning_rate,
                regularization=spec.bpr_regularization,
                iterations=spec.bpr_iterations,
                random_state=spec.random_state,
            ),
        )
        for factors in spec.bpr_factors
    ]
    return als + knn + bpr
