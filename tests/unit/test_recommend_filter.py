"""The factor models and popularity recommend through `top_items` (implicit's topk with a fast bought-products
filter): the same lists and scores as implicit's own `recommend`."""

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recsys_assets.core.modeling.bpr import BPRParams, BPRRecommender
from recsys_assets.core.modeling.models import ALSParams, ALSRecommender, PopularityRecommender


def purchases(seed: int = 3) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((300, 120)) < 0.06) * rng.integers(1, 5, (300, 120))
    dense[7] = 0  # a customer without purchases
    dense[11] = 1  # a customer who bought everything: nothing is left to recommend
    return sp.csr_matrix(dense.astype(np.float32))


@pytest.mark.parametrize("model", [ALSRecommender(ALSParams(factors=8, iterations=5)), BPRRecommender(BPRParams())])
@pytest.mark.parametrize("exclude", [True, False])
def test_factor_models_recommend_as_implicit_does(model, exclude):
    user_items = purchases()
    model.fit(user_items)
    users = np.array([0, 7, 11, 42, 299, 5])
    inactive = np.array([3, 50])
    ids, scores = model.recommend(users, user_items, 10, exclude, inactive)
    with threadpool_limits(1, "blas"):
        expected_ids, expected_scores = model.model.recommend(
            users, user_items[users], N=10, filter_already_liked_items=exclude, filter_items=inactive
        )
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_array_equal(scores, expected_scores)


def test_popularity_leaves_out_what_each_customer_bought():
    user_items = purchases()
    model = PopularityRecommender()
    model.fit(user_items)
    users = np.array([0, 42, 299])
    ids, _ = model.recommend(users, user_items, 10, True, np.array([3]))
    for row, user in zip(ids, users, strict=True):
        bought = set(user_items[user].indices)
        assert not bought & set(row) and 3 not in row
        allowed = [i for i in range(len(model.item_scores)) if i not in bought | {3}]
        best = np.sort(model.item_scores[allowed])[::-1][:10]  # the 10 most bought products left (ties in any order)
        np.testing.assert_array_equal(model.item_scores[row], best)
