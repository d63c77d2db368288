"""Fold-in: a customer's lists rebuilt from their updated history are the publish's lists of that history."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from recsys_assets.core.data.cleaning import CleaningRules, clean_orders
from recsys_assets.core.modeling.bpr import BPRParams
from recsys_assets.core.modeling.candidates import TrainingConfig
from recsys_assets.core.modeling.explain import ExplainSettings, explain_lists
from recsys_assets.core.modeling.fold_in import ListSettings, buy_again_rhythm, fold_in_lists, folded_model
from recsys_assets.core.modeling.knn import KNNParams
from recsys_assets.core.modeling.matrix import confidence, order_counts
from recsys_assets.core.modeling.models import ALSParams
from recsys_assets.core.modeling.shop_lists import buy_again_lists
from recsys_assets.core.modeling.training import inactive_item_indices, train
from recsys_assets.core.rules.rule_data import RuleTables
from recsys_assets.core.rules.rule_lists import rule_filtered_lists
from recsys_assets.core.rules.rule_set import compile_rules
from recsys_assets.core.rules.side_lists import rule_side_lists

TODAY = dt.date(2026, 6, 30)
SETTINGS = ListSettings(k=5, buy_again_k=5, buy_again_ranking="buy_again")


@pytest.fixture(scope="module")
def interactions(small_data):
    return clean_orders(
        small_data.orders, small_data.products, small_data.customers, CleaningRules(as_of=None)
    ).interactions


def published(model, interactions, data, rule_tables=RuleTables(), settings=SETTINGS):
    """The lists as the recommendations and buy_again_lists assets build them for every customer."""
    rules = compile_rules(rule_tables, data.products, TODAY)
    ruled = rule_filtered_lists(
        model, data.customers, data.products, settings.k, True, inactive_item_indices(model, data.products), rules,
        rule_tables.settings.candidates_per_slot,
    )  # fmt: skip
    explain = ExplainSettings(settings.explain_top, settings.segment_top)
    lists = explain_lists(model, ruled.lists, data.customers, explain)
    active = data.products.loc[data.products["active"].astype(bool), "product_id"]
    again = buy_again_lists(interactions, active, settings.buy_again_ranking, 2 * settings.buy_again_k)
    segments = dict(zip(data.customers["customer_id"], data.customers["segment"], strict=True))
    return lists, rule_side_lists(again, rules, segments, settings.buy_again_k)[0]


def fold(model, interactions, data, customers, rule_tables=RuleTables()):
    return fold_in_lists(
        model, "v1", interactions, customers, data.products, data.customers, rule_tables, SETTINGS, TODAY
    )


def columns(frame: pd.DataFrame, names) -> list[tuple]:
    return list(frame[names].astype(str).itertuples(index=False, name=None))


@pytest.mark.parametrize("family", ["item_knn", "popularity"])
def test_a_fold_without_new_lines_gives_the_published_lists_back(family, interactions, small_data):
    config = TrainingConfig(model=family, knn=KNNParams(neighbours=20))
    model = train(interactions, config)
    lists, again = published(model, interactions, small_data)
    customers = model.users.ids[:25].tolist()
    folded = fold(model, interactions, small_data, customers)
    expected = lists[lists["customer_id"].isin(customers)]
    names = ["customer_id", "rank", "product_id", "source", "reason", "because"]
    assert columns(folded.for_you.sort_values(["customer_id", "rank"]), names) == columns(
        expected.sort_values(["customer_id", "rank"]), names
    )
    order = ["customer_id", "rank"]
    np.testing.assert_allclose(folded.for_you.sort_values(order)["score"], expected.sort_values(order)["score"])
    side = ["key", "rank", "product_id", "reason", "explanation"]
    assert columns(folded.buy_again, side) == columns(again[again["key"].isin(customers)], side)


def new_order(interactions: pd.DataFrame, customer: str, products: list[str], day: str = "2026-07-01") -> pd.DataFrame:
    lines = pd.DataFrame(
        {
            "customer_id": customer,
            "product_id": products,
            "order_id": f"NEW-{customer}",
            "order_ts": pd.Timestamp(f"{day} 10:00"),
            "quantity": 1.0,
        }
    )
    return pd.concat([interactions, lines.astype(interactions.dtypes.to_dict())], ignore_index=True)


def test_an_als_fold_solves_the_customer_again_and_drops_what_they_bought(interactions, small_data):
    model = train(interactions, TrainingConfig(als=ALSParams(factors=8, iterations=5)))
    lists, _ = published(model, interactions, small_data)
    customer = model.users.ids[3]
    bought = lists.loc[lists["customer_id"] == customer, "product_id"].head(2).tolist()
    updated = new_order(interactions, customer, bought)
    folded = fold(model, updated, small_data, [customer])
    assert folded.customers == [customer]
    assert set(folded.for_you["customer_id"]) == {customer} and set(folded.buy_again["key"]) == {customer}
    assert not set(bought) & set(folded.for_you["product_id"]), "a product just bought is still recommended"
    assert (folded.for_you["source"] == "als").all() and len(folded.for_you) == SETTINGS.k
    assert set(bought) <= set(folded.buy_again["product_id"]) or len(folded.buy_again) == SETTINGS.buy_again_k
    # the customer's factors are the least-squares solve of the fit's confidence row of the updated history
    grown = folded_model(model, updated, [customer])
    row = grown.users.index_of(np.array([customer]))
    counts = order_counts(updated, grown.users, model.items, model.trained_until, None)
    expected = model.recommender.model.recalculate_user(row, confidence(counts, "log", 1.0, 100.0, 0.8)[row])
    np.testing.assert_allclose(grown.recommender.model.user_factors[row], expected, rtol=1e-5)
    untouched = model.users.index_of(np.array([model.users.ids[0]]))
    np.testing.assert_array_equal(
        grown.recommender.model.user_factors[untouched], model.recommender.model.user_factors[untouched]
    )
    assert model.purchased.shape == grown.purchased.shape  # the live model itself is left as it was


def test_a_new_customer_is_folded_in_by_als_and_stays_cold_with_bpr(interactions, small_data):
    newcomer = small_data.customers.loc[
        ~small_data.customers["customer_id"].isin(interactions["customer_id"]), "customer_id"
    ]
    if newcomer.empty:  # every generated customer ordered: make one up with a segment of the master data
        pytest.skip("the small shop has no customer without orders")
    customer = str(newcomer.iloc[0])
    popular = interactions["product_id"].value_counts().index[:3].tolist()
    updated = new_order(interactions, customer, popular)
    als = train(interactions, TrainingConfig(als=ALSParams(factors=8, iterations=5)))
    folded = fold(als, updated, small_data, [customer])
    assert (folded.for_you["source"] == "als").all()
    assert not set(popular) & set(folded.for_you["product_id"])
    bpr = train(interactions, TrainingConfig(model="bpr", bpr=BPRParams(factors=8, iterations=5)))
    cold = fold(bpr, updated, small_data, [customer])
    assert (cold.for_you["source"] == "popularity_fallback").all()


def test_the_rules_of_today_apply_to_folded_lists(interactions, small_data):
    model = train(interactions, TrainingConfig(model="item_knn", knn=KNNParams(neighbours=20)))
    customer = model.users.ids[5]
    first = fold(model, interactions, small_data, [customer])
    gone = first.for_you["product_id"].iloc[0]
    again_gone = first.buy_again["product_id"].iloc[0]
    stock = pd.DataFrame({"product_id": [gone, again_gone], "available": [0.0, 0.0]})
    ruled = fold(model, interactions, small_data, [customer], RuleTables(stock=stock))
    assert gone not in set(ruled.for_you["product_id"]) and len(ruled.for_you) == SETTINGS.k
    assert again_gone not in set(ruled.buy_again["product_id"])


def test_list_settings_round_trip_and_refuse_an_unknown_ranking():
    settings = ListSettings(k=7, buy_again_settings={"tolerance": 0.5}, published_popularity=True)
    assert ListSettings.from_json(settings.to_json()) == settings
    assert ListSettings.from_json('{"k": 4, "added_later": 1}').k == 4
    with pytest.raises(ValueError, match="'newest' is not one of"):
        ListSettings(buy_again_ranking="newest")


@pytest.mark.parametrize("ranking", ["buy_again", "popular_bought", "top_frequency"])
def test_buy_again_from_the_folded_customers_alone_with_the_rhythm_equals_the_whole_window(
    ranking, interactions, small_data
):
    model = train(interactions, TrainingConfig(model="popularity"))
    settings = ListSettings(k=5, buy_again_k=5, buy_again_ranking=ranking)
    customer = model.users.ids[7]
    updated = new_order(interactions, customer, interactions["product_id"].iloc[:2].tolist())
    customers = [customer, *model.users.ids[10:30].tolist()]
    args = (model, "v1", updated, customers, small_data.products, small_data.customers, RuleTables(), settings, TODAY)
    whole = fold_in_lists(*args)
    alone = fold_in_lists(*args, buy_again_rhythm(updated, settings))
    side = ["key", "rank", "product_id", "source", "reason", "explanation"]
    assert len(whole.buy_again) > 50 and columns(alone.buy_again, side) == columns(whole.buy_again, side)
    np.testing.assert_allclose(alone.buy_again["score"].astype(float), whole.buy_again["score"].astype(float))
