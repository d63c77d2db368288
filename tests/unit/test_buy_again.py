"""Buy again: the due-ness ranking, its baselines and their evaluation on repeat purchases, on hand-made histories."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_assets.core.modeling.buy_again import (
    BuyAgainSettings,
    choose_ranking,
    evaluate_buy_again,
    purchase_history,
    rank_buy_again,
    reorder_intervals,
)

START = pd.Timestamp("2026-01-01")


def history(purchases: list[tuple[str, str, int]]) -> pd.DataFrame:
    """Interactions from (customer, product, day): one order per customer and day."""
    return pd.DataFrame(
        {
            "customer_id": [c for c, _, _ in purchases],
            "product_id": [p for _, p, _ in purchases],
            "order_id": [f"{c}-{d}" for c, _, d in purchases],
            "order_ts": [START + pd.Timedelta(days=d, hours=9) for _, _, d in purchases],
            "quantity": 1.0,
        }
    )


def ranked(frame: pd.DataFrame, as_of_day: int, name: str, k: int = 10, **settings) -> dict[str, list[str]]:
    lists = rank_buy_again(frame, START + pd.Timedelta(days=as_of_day), k, BuyAgainSettings(**settings))
    return {
        customer: [lists.products[i] for i in row if i >= 0]
        for customer, row in zip(lists.customers, lists.lists[name], strict=True)
    }


# glue every 14 days, last bought 14 days before day 42: due now; tape every 14 days, last bought 2 days ago
DUE_AND_RECENT = [("a", "glue", d) for d in (0, 14, 28)] + [("a", "tape", d) for d in (12, 26, 40)]


def test_a_product_due_by_its_interval_ranks_above_one_bought_recently():
    frame = history(DUE_AND_RECENT)
    assert ranked(frame, 42, "buy_again", min_gaps=1)["a"] == ["glue", "tape"]
    # top-frequency: the same counts, so the more recent purchase first
    assert ranked(frame, 42, "top_frequency")["a"] == ["tape", "glue"]
    # a week later tape is due and glue overdue by half an interval: the order turns
    assert ranked(frame, 54, "buy_again", min_gaps=1)["a"] == ["tape", "glue"]


def test_a_one_off_project_purchase_ranks_below_the_consumables_even_when_long_ago():
    frame = history(
        [("a", "glue", d) for d in (0, 14, 28)]
        + [("a", "screws", d) for d in (3, 17, 31)]
        + [("a", "cable_drum", 2)]
        + [("b", "cable_drum", 20)]  # bought by others too, never twice by anyone
    )
    lists = ranked(frame, 42, "buy_again", min_gaps=1)
    assert lists["a"] == ["glue", "screws", "cable_drum"]
    # popularity of bought products puts the project item first: two buyers
    assert ranked(frame, 42, "popular_bought")["a"][0] == "cable_drum"


def test_reorder_intervals_fall_back_to_the_pooled_gap_then_to_the_history_length():
    frame = history(
        [("a", "glue", d) for d in (0, 10, 20, 30)]  # three gaps of 10 days: its own median
        + [("a", "tape", d) for d in (0, 40)]  # one gap: the pooled median of all gaps
        + [("b", "drum", 5)]  # never bought twice: the history length
    )
    past = purchase_history(frame, START + pd.Timedelta(days=41))
    intervals = dict(zip(past.products, reorder_intervals(past, min_gaps=3), strict=True))
    assert intervals["glue"] == 10.0
    assert intervals["tape"] == float(np.median([10, 10, 10, 40]))
    assert intervals["drum"] == 41.0  # days 0 to 40


def test_ties_are_broken_by_recency_then_by_first_appearance():
    frame = history([("a", "x", 1), ("a", "y", 1), ("a", "z", 5)])
    assert ranked(frame, 10, "top_frequency")["a"] == ["z", "x", "y"]
    assert ranked(frame, 10, "top_frequency", k=2)["a"] == ["z", "x"]


def test_counts_distinct_orders_and_elapsed_days_per_customer():
    frame = history([("a", "glue", 0), ("a", "glue", 7)])
    frame = pd.concat([frame, frame.iloc[[1]]], ignore_index=True)  # the same order line twice: one order
    as_of = pd.Series({"a": START + pd.Timedelta(days=10)})
    table = purchase_history(frame, as_of).table
    assert table[["orders", "days", "elapsed_days"]].values.tolist() == [[2, 2, 3.0]]


def test_a_perfect_ranking_scores_map_one_and_customers_without_repeats_are_not_evaluable():
    train = history(DUE_AND_RECENT + [("b", "glue", 3), ("c", "tape", 5)])
    held_out = history([("a", "glue", 43), ("b", "screws", 44)])  # b buys only something new; c buys nothing
    results = evaluate_buy_again(
        train, held_out, START + pd.Timedelta(days=42), 2, BuyAgainSettings(min_gaps=1), noise_below_customers=5
    )
    assert results["evaluable_customers"] == 1 and results["repeat_purchases"] == 1
    assert results["rankings"]["buy_again"]["map"] == 1.0
    assert results["rankings"]["top_frequency"]["map"] == 0.5  # glue second
    assert results["rankings"]["buy_again"]["recall"] == 1.0
    assert results["rankings"]["buy_again"]["precision"] == 0.5
    assert "only 1 customers" in results["noise"]


def test_no_repeat_purchase_at_all_leaves_nobody_to_evaluate():
    train = history(DUE_AND_RECENT)
    results = evaluate_buy_again(train, history([("a", "new", 43)]), START + pd.Timedelta(days=42), 10)
    assert results["evaluable_customers"] == 0 and results["noise"]
    assert results["choice"] == "popular_bought"


def test_the_choice_is_the_simplest_unless_a_ranking_leads_beyond_noise():
    rng = np.random.default_rng(0)
    base = rng.random(400)
    clear = {"popular_bought": base, "top_frequency": base + 0.1, "buy_again": base + 0.2}
    assert choose_ranking(clear, 10, 0.95)[0] == "buy_again"
    # buy again beats popularity but not top-frequency: the simpler top-frequency is kept
    close = {"popular_bought": base, "top_frequency": base + 0.1, "buy_again": base + 0.1 + rng.normal(0, 0.05, 400)}
    choice, reason = choose_ranking(close, 10, 0.95)
    assert choice == "top_frequency" and "no lead beyond noise" in reason
    noise = {name: rng.random(400) for name in ("popular_bought", "top_frequency", "buy_again")}
    assert choose_ranking(noise, 10, 0.95)[0] == "popular_bought"
