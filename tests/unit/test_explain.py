"""Explanations: the vectorised contributions equal implicit's own explain (ALS) and the kNN score terms."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recsys_assets.core.data.cleaning import CleaningRules, clean_orders
from recsys_assets.core.modeling.candidates import TrainingConfig
from recsys_assets.core.modeling.explain import ExplainSettings, bought_contributions, explain_lists
from recsys_assets.core.modeling.knn import KNNParams
from recsys_assets.core.modeling.models import ALSParams
from recsys_assets.core.modeling.training import recommend_for_customers, train


@pytest.fixture(scope="module")
def interactions(small_data):
    return clean_orders(
        small_data.orders, small_data.products, small_data.customers, CleaningRules(as_of=None)
    ).interactions


def lists_and_items(model, customers, k=5):
    lists = recommend_for_customers(model, pd.Series(customers), k, True)
    users = model.users.index_of(pd.Series(customers))
    items = model.items.index_of(lists["product_id"].to_numpy()).reshape(len(customers), k)
    return lists, users, items


def test_als_contributions_match_implicit_explain(interactions):
    model = train(interactions, TrainingConfig(als=ALSParams(factors=8, iterations=5)))
    customers = model.users.ids[:40].tolist()
    _, users, items = lists_and_items(model, customers)
    because = bought_contributions(model, users, items, top=3)
    als = model.recommender.model
    checked = 0
    for n, user in enumerate(users):
        for slot, item in enumerate(items[n]):
            _, top, _ = als.explain(user, model.recommender.confidence, item, N=50)
            expected = [j for j, score in sorted(top, key=lambda t: -t[1]) if score > 0][:3]
            assert because[n, slot][: len(expected)].tolist() == expected, (user, item)
            assert (because[n, slot][len(expected) :] == -1).all()
            checked += len(expected)
    assert checked > 100  # most items are explained by bought products


def test_knn_contributions_are_the_score_terms(interactions):
    model = train(interactions, TrainingConfig(model="item_knn", knn=KNNParams(similarity="cosine", neighbours=20)))
    customers = model.users.ids[:60].tolist()
    lists, users, items = lists_and_items(model, customers)
    because = bought_contributions(model, users, items, top=3)
    similarity = model.recommender.model.similarity.tocsr()
    for n, user in enumerate(users):
        bought = model.purchased[user].indices
        for slot, item in enumerate(items[n]):
            terms = np.asarray(similarity[bought, np.full(len(bought), item)]).ravel()
            score = lists.loc[n * 5 + slot, "score"]
            if terms.sum() > 0:  # a neighbourhood item: its score is the sum of the terms
                assert terms.sum() == pytest.approx(score, rel=1e-4)
            order = np.argsort(-terms, kind="stable")
            expected = [int(bought[i]) for i in order[:3] if terms[i] > 0]
            assert sorted(because[n, slot][: len(expected)].tolist()) == sorted(expected)


def test_lists_get_reasons_and_json_because(interactions, small_data):
    model = train(interactions, TrainingConfig(als=ALSParams(factors=8, iterations=5)))
    customers = [*model.users.ids[:30].tolist(), "NEW-1"]
    lists = recommend_for_customers(model, pd.Series(customers), 5, True)
    segments = pd.concat(
        [small_data.customers, pd.DataFrame([{"customer_id": "NEW-1", "segment": "plumber"}])], ignore_index=True
    )
    explained = explain_lists(model, lists, segments, ExplainSettings(top=3, segment_top=20))
    assert explained[list(lists.columns)].equals(lists)  # the lists themselves are untouched
    known = explained[explained["customer_id"] != "NEW-1"]
    assert (known["reason"] == "because_you_bought").mean() > 0.8
    for row in known.itertuples():
        because = json.loads(row.because)
        assert len(because) <= 3
        bought = set(interactions.loc[interactions["customer_id"] == row.customer_id, "product_id"])
        assert set(because) <= bought  # only products the customer bought explain an item
        assert (row.reason == "because_you_bought") == bool(because)
    cold = explained[explained["customer_id"] == "NEW-1"]
    assert set(cold["because"]) == {"[]"}
    assert set(cold["reason"]) <= {"popular_in_segment", "popular_overall"}
    plumbers = set(small_data.customers.loc[small_data.customers["segment"] == "plumber", "customer_id"])
    buyers = interactions[interactions["customer_id"].isin(plumbers)].groupby("product_id")["customer_id"].nunique()
    top20 = set(buyers.sort_values(ascending=False, kind="stable").index[:20])
    for row in cold.itertuples():  # ties at the 20th place may go either way: check the clear cases only
        if buyers.get(row.product_id, 0) > buyers.sort_values(ascending=False).iloc[20]:
            assert row.reason == "popular_in_segment"
        elif row.product_id not in top20:
            assert row.reason == "popular_overall"
