"""Online metrics on a hand-built case: who was served what, what they bought after, and the lift over control."""

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from monitoring.online import OnlineSettings, arm_counts, attribute, compare_arms, exposures, pool, rates, summarise

T = pd.Timestamp("2026-07-01")


def serving(customer, hour, items, source="model", group="model"):
    return {"ts": T + pd.Timedelta(hours=hour), "customer_id": customer, "model_version": "m1",
            "store_version": "m1-v", "group": group, "source": source, "items": items}  # fmt: skip


def line(customer, days, product, quantity=1.0, price=10.0):
    return {"order_ts": T + pd.Timedelta(days=days), "customer_id": customer, "product_id": product,
            "quantity": quantity, "unit_price": price}  # fmt: skip


LOG = pd.DataFrame(
    [
        serving("A", 8, ["p1", "p2", "p3"]),
        serving("A", 9, ["p1", "p2", "p3"]),  # the same customer again: one exposure
        serving("B", 10, ["p1", "p4"], source="popularity_fallback"),
        serving("C", 11, ["p5", "p6"], source="control", group="control"),
        serving("D", 12, ["p5", "p6"], source="control", group="control"),
    ]
)
LINES = pd.DataFrame(
    [
        line("A", 0.1, "p1"),  # 02:24, before A was served: not attributed
        line("A", 1, "p2", quantity=2),  # a hit: 2 x 10
        line("A", 3, "p9", price=5),  # bought, not recommended
        line("A", 20, "p3"),  # after the 14-day window
        line("C", 2, "p5", price=100),  # a control hit
        line("C", 2, "p7", price=50),
        line("D", 1, "p8"),
        line("Z", 1, "p1"),  # never served
    ]
)


def test_hand_built_case():
    attributed = attribute(exposures(LOG), LINES, attribution_days=14).set_index("customer_id")
    assert len(attributed) == 4
    assert attributed["hits"].to_dict() == {"A": 1, "B": 0, "C": 1, "D": 0}
    assert attributed["k"].to_dict() == {"A": 3, "B": 2, "C": 2, "D": 2}
    assert attributed.loc["A", "precision"] == pytest.approx(1 / 3)
    assert attributed["lines"].to_dict() == {"A": 2, "B": 0, "C": 2, "D": 1}
    assert attributed["recommended_revenue"].to_dict() == {"A": 20.0, "B": 0.0, "C": 100.0, "D": 0.0}
    assert attributed.loc["A", "ts"] == T + pd.Timedelta(hours=8)  # the first serving opens the window

    rows = {r["source"]: r for r in summarise(attributed.reset_index())}
    assert rows["model"]["hit_rate"] == 1.0 and rows["popularity_fallback"]["hit_rate"] == 0.0
    assert rows["control"]["exposures"] == 2 and rows["control"]["hit_rate"] == 0.5
    assert rows["control"]["line_share"] == pytest.approx(1 / 3)
    assert rows["control"]["revenue_share"] == pytest.approx(100 / 160)
    assert rows["model"]["revenue_share"] == pytest.approx(20 / 25)

    arms = arm_counts(attributed.reset_index())
    assert (arms["model"]["exposures"], arms["model"]["hits"]) == (2, 1)  # model and fallback together
    assert rates(arms["model"])["precision_at_k"] == pytest.approx((1 / 3 + 0) / 2)
    lift = compare_arms(arms, OnlineSettings(min_exposures=1))
    assert lift.model_hit_rate == lift.control_hit_rate == 0.5
    assert lift.relative_lift == 0.0 and lift.verdict == "inconclusive"  # the interval contains 0
    assert lift.relative_low < 0 < lift.relative_high and "no verdict" in lift.reason
    assert compare_arms(arms).verdict == "insufficient_data"  # 2 exposures are no evidence either way


def test_a_shorter_window_attributes_less():
    attributed = attribute(exposures(LOG), LINES, attribution_days=1).set_index("customer_id")
    assert attributed["hits"].to_dict() == {"A": 1, "B": 0, "C": 0, "D": 0}
    assert attributed["lines"].to_dict() == {"A": 1, "B": 0, "C": 0, "D": 1}


def test_lift_and_intervals_by_hand():
    counts = {"model": {"exposures": 1000, "hits": 300}, "control": {"exposures": 100, "hits": 20}}
    counts = pool([{arm: {**c, "precision_sum": 0} for arm, c in counts.items()}])
    lift = compare_arms(counts, OnlineSettings(min_exposures=100))
    z = NormalDist().inv_cdf(0.975)
    se = math.sqrt(0.3 * 0.7 / 1000 + 0.2 * 0.8 / 100)
    assert lift.difference == pytest.approx(0.1)
    assert (lift.difference_low, lift.difference_high) == pytest.approx((0.1 - z * se, 0.1 + z * se))
    se_log = math.sqrt(1 / 300 - 1 / 1000 + 1 / 20 - 1 / 100)
    assert lift.relative_lift == pytest.approx(0.5)
    assert lift.relative_low == pytest.approx(1.5 * math.exp(-z * se_log) - 1)  # just above 0: significant
    assert lift.relative_high == pytest.approx(1.5 * math.exp(z * se_log) - 1)
    assert lift.verdict == "better"
    counts["control"]["hits"] = 40  # control now converts more often than the model
    worse = compare_arms(counts, OnlineSettings(min_exposures=100))
    assert worse.relative_lift == pytest.approx(-0.25) and worse.verdict == "not_better"
    assert worse.relative_high < 0 and "lift -25.0%" in worse.reason and "at or below +0.0%" in worse.reason
    demanding = OnlineSettings(min_exposures=100, min_lift=0.6)
    counts["control"]["hits"] = 20
    assert compare_arms(counts, demanding).verdict == "inconclusive"  # +50 %, but +60 % lies in its interval
    hundredfold = {arm: {key: 100 * value for key, value in c.items()} for arm, c in counts.items()}
    assert compare_arms(hundredfold, demanding).verdict == "not_better"  # the same +50 %, now surely below +60 %


def test_days_pool_by_adding_counts():
    day = arm_counts(attribute(exposures(LOG), LINES, 14))
    twice = pool([day, day])
    assert twice["model"]["exposures"] == 4 and twice["control"]["hits"] == 2
    assert rates(twice["control"])["hit_rate"] == rates(day["control"])["hit_rate"]


def simulated_periods(model_rate: float, control_rate: float, exposures: int, periods: int, seed: int) -> list[str]:
    """Verdicts of `periods` simulated alert periods: each arm's hits drawn from its true hit rate."""
    rng = np.random.default_rng(seed)
    verdicts = []
    for model_hits, control_hits in zip(
        rng.binomial(exposures, model_rate, periods), rng.binomial(exposures, control_rate, periods), strict=True
    ):
        counts = {
            "model": {"exposures": exposures, "hits": int(model_hits)},
            "control": {"exposures": exposures, "hits": int(control_hits)},
        }
        verdicts.append(compare_arms(counts).verdict)
    return verdicts


@pytest.mark.parametrize("hit_rate, exposures", [(0.1, 400), (0.03, 250), (0.25, 2000)])
def test_equal_arms_rarely_raise_not_better(hit_rate, exposures):
    """Model and control equal: the verdict used to follow the point estimate (not_better in about half of the
    periods); from the interval, each wrong verdict comes up in about (1 - confidence) / 2 of them."""
    verdicts = simulated_periods(hit_rate, hit_rate, exposures, periods=2000, seed=7)
    share = {verdict: verdicts.count(verdict) / len(verdicts) for verdict in set(verdicts)}
    assert share.get("not_better", 0) < 0.045 and share.get("better", 0) < 0.045  # 0.025 expected
    assert share["inconclusive"] > 0.9


def test_a_clearly_better_or_worse_model_still_gets_its_verdict():
    better = simulated_periods(0.15, 0.10, 2000, periods=500, seed=8)
    assert better.count("better") / len(better) > 0.95 and "not_better" not in better
    worse = simulated_periods(0.07, 0.10, 2000, periods=500, seed=9)
    assert worse.count("not_better") / len(worse) > 0.9 and "better" not in worse


def test_no_hit_in_an_arm_still_has_an_interval():
    none_in_control = {"model": {"exposures": 300, "hits": 30}, "control": {"exposures": 300, "hits": 0}}
    lift = compare_arms(none_in_control)
    assert lift.relative_lift is None and lift.relative_low > 0 and lift.verdict == "better"
    assert "undefined (control had no hit)" in lift.reason
    few = {"model": {"exposures": 300, "hits": 1}, "control": {"exposures": 300, "hits": 0}}
    assert compare_arms(few).verdict == "inconclusive"  # one hit against none is no evidence
    none_in_model = {"model": {"exposures": 300, "hits": 0}, "control": {"exposures": 300, "hits": 30}}
    lift = compare_arms(none_in_model)
    assert lift.relative_lift == -1.0 and lift.relative_high < 0 and lift.verdict == "not_better"


# --- figures per list (monitoring/lists.py), from a log written by the serving log writer --------------------------


def written_log(tmp_path) -> pd.DataFrame:
    """A day of servings of every list but `similar`, through the API's log writer, read back as the monitor does."""
    from recsys_assets.core.stores.serving_log import read_entries
    from recsys_assets.serving.log_writer import ServingLogWriter

    writer = ServingLogWriter(tmp_path)

    def at(hour: int) -> float:
        return (T + pd.Timedelta(hours=hour)).tz_localize("UTC").timestamp()

    served = [  # customer, items, cold start, group, source, list, asked product
        ("A", ["p1", "p2"], False, "model", "model", None, None),
        ("A", ["p1", "p2"], False, "model", "model", None, None),  # a reload: one exposure
        ("C", ["p5", "p6"], False, "control", "control", None, None),  # the control arm: not the list's figures
        ("A", ["p2", "p9"], False, "model", "model", "buy_again", None),
        ("C", ["p5"], False, "control", "model", "buy_again", None),  # buy again has no control list: counts
        ("B", [], True, "model", "model", "buy_again", None),  # bought nothing the list could hold
        (None, ["p2", "p3"], False, None, None, "bought_together", "p1"),
        (None, ["p6"], False, None, None, "bought_together", "p5"),
    ]
    for hour, (customer, items, cold, group, source, name, asked) in enumerate(served, start=8):
        writer.record(customer, "m1", items, cold, "local", at(hour), "m1-v", group, source, None, name, asked)
    assert writer.flush() == len(served)
    return read_entries(tmp_path, list_name=None)


ORDERS = pd.DataFrame(
    [
        {**line("A", 0.1, "p2"), "order_id": "o0"},  # before any serving: attributed to nothing
        {**line("Z", 0.1, "p1"), "order_id": "o0z"},
        {**line("Z", 0.1, "p3"), "order_id": "o0z"},  # p1 with p3 before p1's list was served: no hit
        {**line("A", 1, "p2"), "order_id": "o1"},  # hits A's "for you" and buy-again lists
        {**line("Z", 2, "p1"), "order_id": "o2"},
        {**line("Z", 2, "p3"), "order_id": "o2"},  # p1's bought-together list hit by someone else's basket
        {**line("C", 2, "p5"), "order_id": "o3"},  # C rebuys p5 (a buy-again hit); p5's list (p6) is not bought
        {**line("Y", 3, "p6"), "order_id": "o4"},  # p6 without p5: no hit of p5's list
    ]
)


def test_every_list_has_its_own_figures(tmp_path):
    from monitoring.lists import NO_TRAFFIC, all_list_figures, list_numbers, lists_markdown, wilson_interval

    figures = all_list_figures(written_log(tmp_path), ORDERS, OnlineSettings(attribution_days=14))
    assert list(figures) == ["for_you", "buy_again", "bought_together", "similar"]

    for_you = figures["for_you"]  # the model arm only: A, served twice
    assert (for_you["servings"], for_you["exposures"], for_you["hits"], for_you["cold_share"]) == (2, 1, 1, 0.0)

    buy_again = figures["buy_again"]  # A and C hit, B was answered an empty list
    assert (buy_again["servings"], buy_again["exposures"], buy_again["hits"]) == (3, 3, 2)
    assert buy_again["hit_rate"] == pytest.approx(2 / 3)
    assert buy_again["empty_share"] == pytest.approx(1 / 3) and buy_again["cold_share"] == pytest.approx(1 / 3)
    assert (buy_again["hit_rate_low"], buy_again["hit_rate_high"]) == wilson_interval(2, 3, 0.95)

    together = figures["bought_together"]  # p1's list hit (order o2), p5's not
    assert (together["exposures"], together["hits"], together["hit_rate"]) == (2, 1, 0.5)
    assert together["cold_share"] is None  # an unknown product's 404 is not logged: no share, not 0

    assert figures["similar"] == {"list": "similar", "status": NO_TRAFFIC, "servings": 0}
    numbers = list_numbers(figures)
    assert numbers["list_similar_servings"] == 0.0
    assert not any(key.startswith("list_similar_") and key != "list_similar_servings" for key in numbers)
    assert numbers["list_buy_again_hit_rate"] == pytest.approx(2 / 3, abs=1e-6)
    assert f"| similar | 0 | {NO_TRAFFIC} |" in lists_markdown(figures)

    # a shorter window: C's rebuy and p1's basket (day 2) fall outside a 1-day window, A's (day 1) does not
    short = all_list_figures(written_log(tmp_path / "again"), ORDERS, OnlineSettings(attribution_days=1))
    assert short["buy_again"]["hits"] == 1 and short["bought_together"]["hits"] == 0


def test_wilson_interval_by_hand():
    from monitoring.lists import wilson_interval

    low, high = wilson_interval(1, 2, 0.95)  # the textbook value for 1 of 2
    assert (round(low, 4), round(high, 4)) == (0.0945, 0.9055)
    low, high = wilson_interval(0, 20, 0.95)  # no hit still has a width
    assert low == 0.0 and 0.15 < high < 0.17
    assert wilson_interval(0, 0, 0.95) == (None, None)


def test_skew_per_list(tmp_path):
    from monitoring.lists import NO_TRAFFIC, list_skew

    products = pd.DataFrame({"product_id": ["p1", "p2", "p3", "p5", "p6", "p9"], "active": [1, 1, 0, 1, 1, 1]})
    skew = list_skew(written_log(tmp_path), products, pd.Index(["p5"]))  # the training data knew p5 only
    assert skew["for_you"]["servings"] == 3 and skew["for_you"]["inactive_item_share"] == 0.0
    assert skew["buy_again"]["cold_share"] == pytest.approx(1 / 3)
    together = skew["bought_together"]
    assert together["inactive_item_share"] == pytest.approx(1 / 3)  # p3 of p2, p3, p6
    assert together["unknown_query_share"] == 0.5 and together["cold_share"] is None
    assert skew["similar"]["status"] == NO_TRAFFIC
