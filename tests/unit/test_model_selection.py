"""Model selection (issue 7): candidates compared on a leak-free validation split, popularity as the floor."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recsys_assets.core.data.cleaning import CleaningRules, clean_orders
from recsys_assets.core.data.split import global_time_validation, per_customer_recent_validation, temporal_split
from recsys_assets.core.modeling.candidates import GridSpec, TrainingConfig, candidate_grid
from recsys_assets.core.modeling.metrics import ranking_metrics
from recsys_assets.core.modeling.models import recommend_all
from recsys_assets.core.modeling.selection import POPULARITY, CandidateResult, SelectionSettings, choose, select_model
from recsys_assets.core.modeling.training import fit_prepared, holdout_relevance, prepare
from tests.support.random_purchases import random_purchases

SMALL_GRID = GridSpec(als_weighting=("log",), bpr_iterations=10)


def interactions_of(data) -> pd.DataFrame:
    return clean_orders(data.orders, data.products, data.customers, CleaningRules(as_of=None)).interactions


@pytest.fixture(scope="module")
def structured(small_data):
    return temporal_split(interactions_of(small_data), 14)


@pytest.fixture(scope="module")
def unstructured():
    return temporal_split(interactions_of(random_purchases()), 14)


@pytest.mark.parametrize("strategy", ["global_time", "per_customer_recent"])
def test_structure_is_found_by_als_or_item_knn(structured, strategy):
    result = select_model(structured.train, candidate_grid(SMALL_GRID), SelectionSettings(strategy=strategy))
    assert result.winner_config.model in ("als", "item_knn"), result.to_markdown()
    popularity = next(r for r in result.candidates if r.config.model == "popularity")
    assert result.winner_result.metrics["map"] > 1.5 * popularity.metrics["map"]
    # every candidate of the grid, popularity included, was fitted and scored on the same customers
    labels = [r.label for r in result.candidates]
    assert labels[0] == "popularity" and len(labels) == len(set(labels)) == len(candidate_grid(SMALL_GRID)) + 1
    assert {r.metrics["evaluated_users"] for r in result.candidates} == {result.validation_customers}
    assert all(r.error is None and r.fit_seconds >= 0 for r in result.candidates)


@pytest.mark.parametrize("strategy", ["global_time", "per_customer_recent"])
def test_no_structure_means_popularity_wins(unstructured, strategy):
    result = select_model(unstructured.train, candidate_grid(GridSpec()), SelectionSettings(strategy=strategy))
    assert result.winner_is_popularity, result.to_markdown()
    assert "popularity wins" in result.reason


@pytest.mark.parametrize("strategy", ["global_time", "per_customer_recent"])
def test_validation_split_never_holds_test_period_orders(structured, strategy):
    train = structured.train
    if strategy == "global_time":
        split = global_time_validation(train, 7)
        assert split.validation["order_ts"].min() > split.train["order_ts"].max()
    else:
        split = per_customer_recent_validation(train, 0.25)
        # per customer: every validated order is at least as recent as every order kept for training
        last_train = split.train.groupby("customer_id")["order_ts"].max()
        first_valid = split.validation.groupby("customer_id")["order_ts"].min()
        assert (first_valid >= last_train.reindex(first_valid.index)).all()
        assert not set(split.validation["order_id"]) & set(split.train["order_id"])  # orders stay whole
    assert split.validation["order_ts"].max() < structured.cutoff <= structured.test["order_ts"].min()
    assert len(split.train) + len(split.validation) == len(train)
    assert len(split.validation) > 0 and len(split.train) > len(split.validation)


def test_per_customer_fraction_keeps_one_order_for_training():
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "c", "c"],
            "order_id": ["1", "2", "3", "3", "4", "5", "6"],
            "product_id": ["x", "y", "z", "w", "x", "y", "z"],
            "order_ts": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-03"] + ["2026-01-01"] * 3),
            "quantity": 1.0,
        }
    )
    orders.loc[6, "order_ts"] = pd.Timestamp("2026-01-05")
    split = per_customer_recent_validation(orders, 0.5)
    # a: 3 orders -> round(1.5)=2 newest validate; b: one order stays in training; c: its newer order validates
    assert sorted(split.validation["order_id"]) == ["2", "3", "3", "6"]
    assert sorted(split.train["order_id"]) == ["1", "4", "5"]
    with pytest.raises(ValueError, match="validation fraction must be in"):
        per_customer_recent_validation(orders, 1.0)


def test_grid_typos_are_errors_not_missing_candidates():
    with pytest.raises(ValueError, match=r"knn_similarities \['jaccard'\].*als_factors \[0\]"):
        candidate_grid(GridSpec(knn_similarities=("cosine", "jaccard"), als_factors=(0,)))
    assert [c.model for c in candidate_grid(GridSpec(bpr_factors=()))] == ["als", "als", "item_knn", "item_knn"]


def result(model: str, map_value: float, **params) -> CandidateResult:
    return CandidateResult(TrainingConfig(model=model, **params), {"map": map_value}, 1.0, 1.0)


def test_choose_prefers_simpler_on_ties_and_popularity_unless_beaten():
    from recsys_assets.core.modeling.knn import KNNParams

    knn = result("item_knn", 0.2, knn=KNNParams(similarity="bm25"))
    als = result("als", 0.2)
    assert choose([result("popularity", 0.1), als, knn], 0.0)[0] == knn.label  # tie: kNN is simpler than ALS
    assert choose([result("popularity", 0.2), als, knn], 0.0)[0] == "popularity"  # equal is not better
    assert choose([result("popularity", 0.19), als], 0.1)[0] == "popularity"  # needs a 10 % margin
    assert choose([result("popularity", 0.1), result("als", 0.3), knn], 0.0)[0] == "als_f32_r1_i15_log"
    failed = CandidateResult(TrainingConfig(model="bpr"), {}, math.nan, math.nan, error="boom")
    assert choose([result("popularity", 0.1), failed], 0.0)[0] == "popularity"


def test_metrics_agree_with_implicit_evaluation(structured):
    """MAP@K, NDCG@K and AUC@K match implicit.evaluation on the same train/test matrices and the same fitted models.

    (implicit's "precision" divides the hits by min(K, relevant) summed over users, ours by K per user: no match
    is expected there.)
    """
    from implicit.evaluation import ranking_metrics_at_k

    data = prepare(structured.train)
    for config in (TrainingConfig(model="als", weighting="log"), TrainingConfig(model="bpr")):
        model = fit_prepared(data, config)
        relevant = holdout_relevance(model, structured.test, exclude_purchased=True)
        users = np.flatnonzero(np.diff(relevant.indptr) > 0)
        ids, _ = recommend_all(model.recommender, model.purchased, users, 10, exclude_purchased=True)
        ours = ranking_metrics(ids, relevant[users], 10)
        theirs = ranking_metrics_at_k(model.recommender.model, model.purchased, relevant, K=10, show_progress=False)
        assert ours["map"] == pytest.approx(theirs["map"], abs=1e-6), config.label
        assert ours["ndcg"] == pytest.approx(theirs["ndcg"], abs=1e-6), config.label
        assert ours["auc"] == pytest.approx(theirs["auc"], abs=1e-6), config.label
        assert ours["map"] > 0


def test_item_knn_metrics_agree_with_implicit_evaluation(structured):
    """The raw implicit kNN model (our wrapper also fills short lists with popular products, implicit does not)."""
    from implicit.evaluation import ranking_metrics_at_k

    data = prepare(structured.train)
    model = fit_prepared(data, TrainingConfig(model="item_knn"))
    knn = model.recommender.model
    relevant = holdout_relevance(model, structured.test, exclude_purchased=True)
    users = np.flatnonzero(np.diff(relevant.indptr) > 0)
    ids, _ = knn.recommend(users, model.purchased[users], N=10)
    ours = ranking_metrics(np.asarray(ids, dtype=np.int64), relevant[users], 10)
    theirs = ranking_metrics_at_k(knn, model.purchased, relevant, K=10, show_progress=False)
    assert ours["map"] == pytest.approx(theirs["map"], abs=1e-6)
    assert ours["ndcg"] == pytest.approx(theirs["ndcg"], abs=1e-6)
    assert ours["auc"] == pytest.approx(theirs["auc"], abs=1e-6)


def test_fits_side_by_side_in_worker_processes_give_the_models_fitted_here(structured):
    from recsys_assets.core.modeling.training import train, train_each

    als, bpr = TrainingConfig(), candidate_grid(SMALL_GRID)[-1]
    assert bpr.model == "bpr"
    jobs = [(structured.train, als), (structured.test, als), (structured.train, bpr), (structured.train, POPULARITY)]
    side_by_side = train_each(jobs, min_nnz=0)  # the second and third fit in worker processes
    for (interactions, config), model in zip(jobs, side_by_side, strict=True):
        alone = train(interactions, config)
        assert model.config == config and list(model.users.ids) == list(alone.users.ids)
        if config.model == "als":  # deterministic; BPR's parallel SGD is not, on any process
            np.testing.assert_array_equal(model.recommender.model.item_factors, alone.recommender.model.item_factors)
        if config.model != "popularity":
            factors = model.recommender.model.item_factors
            assert model.fit_seconds > 0 and factors.shape == alone.recommender.model.item_factors.shape
            assert np.abs(factors).max() > 0.05  # trained, not the initial noise


def test_a_fit_failing_in_a_worker_is_reported_for_its_model_only(structured):
    from recsys_assets.core.modeling.models import ALSParams, ALSRecommender, fit_in_workers
    from recsys_assets.core.modeling.training import prepare

    matrix = prepare(structured.train).purchased
    tasks = [(ALSRecommender(ALSParams(iterations=2)), matrix) for _ in range(3)]
    tasks[1] = (ALSRecommender(ALSParams(iterations=2)), np.zeros((3, 3)))  # not a sparse matrix
    outcomes = fit_in_workers(tasks, cores=2)  # two rounds: tasks 0 and 1 together, then task 2 alone
    assert isinstance(outcomes[1], RuntimeError) and "AttributeError" in str(outcomes[1])
    for model, seconds in (outcomes[0], outcomes[2]):
        assert model.model.item_factors.shape[0] == matrix.shape[1] and seconds > 0
        assert model.model.num_threads == 0  # fitted on a share of the cores, recommends on all of them again
