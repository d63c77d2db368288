"""Ranking metrics against hand-computed values."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_assets.core.modeling.metrics import bootstrap_intervals, catalogue_coverage, ranking_metrics


def relevant(rows, n_items=10):
    data, r, c = [], [], []
    for user, items in enumerate(rows):
        for item in items:
            data.append(1.0)
            r.append(user)
            c.append(item)
    return sp.csr_matrix((data, (r, c)), shape=(len(rows), n_items))


def test_perfect_and_partial_lists():
    recs = np.array([[1, 2, 3], [4, 5, 6]])
    rel = relevant([[1, 3], [9]])
    m = ranking_metrics(recs, rel, k=3)
    # user 0: hits at 1 and 3 -> AP = (1/1 + 2/3) / min(3, 2) ; user 1: no hit -> 0
    assert m["map"] == pytest.approx(((1 + 2 / 3) / 2 + 0) / 2)
    assert m["precision"] == pytest.approx((2 / 3 + 0) / 2)
    assert m["recall"] == pytest.approx((1.0 + 0) / 2)
    dcg = 1 / math.log2(2) + 1 / math.log2(4)
    idcg = 1 / math.log2(2) + 1 / math.log2(3)
    assert m["ndcg"] == pytest.approx((dcg / idcg + 0) / 2)
    assert m["evaluated_users"] == 2


def test_fewer_relevant_items_than_k_divides_by_relevant_count():
    m = ranking_metrics(np.array([[0, 7, 8, 9, 5]]), relevant([[7]]), k=5)
    assert m["map"] == pytest.approx(1 / 2)  # one hit at rank 2, one relevant item
    assert m["precision"] == pytest.approx(1 / 5)
    assert m["recall"] == pytest.approx(1.0)


def test_users_without_relevant_items_are_left_out():
    m = ranking_metrics(np.array([[1, 2], [1, 2]]), relevant([[1], []]), k=2)
    assert m["evaluated_users"] == 1
    assert m["map"] == pytest.approx(1.0)


def test_no_relevant_items_at_all():
    m = ranking_metrics(np.array([[1, 2]]), relevant([[]]), k=2)
    assert m == {"map": 0.0, "precision": 0.0, "recall": 0.0, "ndcg": 0.0, "auc": 0.0, "evaluated_users": 0}


def test_empty_recommendation_lists_score_zero():
    m = ranking_metrics(np.full((2, 3), -1), relevant([[1], [2]]), k=3)
    assert (m["map"], m["precision"], m["recall"], m["ndcg"]) == (0.0, 0.0, 0.0, 0.0)
    assert m["evaluated_users"] == 2


def test_short_lists_padded_with_minus_one():
    m = ranking_metrics(np.array([[3, -1, -1]]), relevant([[3, 4]]), k=3)
    assert m["map"] == pytest.approx(1 / 2)
    assert m["precision"] == pytest.approx(1 / 3)


def test_catalogue_coverage():
    assert catalogue_coverage(np.array([[1, 2], [2, -1]]), 10) == pytest.approx(0.2)
    assert catalogue_coverage(np.full((1, 2), -1), 10) == 0.0
    assert catalogue_coverage(np.array([[1]]), 0) == 0.0


def test_auc_counts_ordered_pairs_with_the_unlisted_products_tied():
    # 10 products, relevant {1, 3}; list [1, 2, 3]: hit, miss, hit; 7 unlisted products, 8 negatives in all
    m = ranking_metrics(np.array([[1, 2, 3]]), relevant([[1, 3]]), k=3)
    # the miss at rank 2 has 1 hit above it; unlisted: (2 hits + 2 relevant) / 2 x (8 - 1 listed miss) = 14
    assert m["auc"] == pytest.approx((1 + 14) / (2 * 8))
    perfect = ranking_metrics(np.array([[1, 3, 2]]), relevant([[1, 3]]), k=3)
    assert perfect["auc"] == pytest.approx(1.0)


def test_bootstrap_interval_covers_the_mean_and_narrows_with_more_customers():
    rng = np.random.default_rng(1)
    small = rng.binomial(1, 0.1, 50).astype(float)
    large = rng.binomial(1, 0.1, 5_000).astype(float)
    few = bootstrap_intervals({"v": small})["v"]
    many = bootstrap_intervals({"v": large})["v"]
    assert few.low <= few.mean <= few.high and many.low <= many.mean <= many.high
    assert (many.high - many.low) < (few.high - few.low) / 5
    # paired: a difference that is always +0.01 has no spread at all
    model, baseline = large + 0.01, large
    paired = bootstrap_intervals({"diff": model - baseline})["diff"]
    assert paired.low == pytest.approx(0.01) and paired.high == pytest.approx(0.01)
    assert math.isnan(bootstrap_intervals({"v": np.zeros(0)})["v"].mean)
