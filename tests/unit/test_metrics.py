"""Ranking metrics against hand-computed values."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_assets.core.modeling.metrics import catalogue_coverage, ranking_metrics


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
    assert m == {"map": 0.0, "precision": 0.0, "recall": 0.0, "ndcg": 0.0, "evaluated_users": 0}


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
