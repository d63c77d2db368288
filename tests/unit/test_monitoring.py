"""monitoring/: order features, drift verdicts (no false alarm, drift found), prediction drift, skew, report files."""

import datetime as dt
import functools
import json

import numpy as np
import pandas as pd
import pytest

from monitoring.config import DriftThresholds, SkewThresholds
from monitoring.drift import run_drift_check
from monitoring.features import (
    CATEGORICAL_FEATURES,
    NUMERICAL_FEATURES,
    order_features,
    purchase_lines,
    reference_profile,
)
from monitoring.prediction_drift import check_prediction_drift, list_overlap
from monitoring.reports import write_report
from monitoring.skew import check_skew
from recsys_assets.core.data.generator import GeneratorConfig, generate

END = dt.date(2026, 6, 30)
CUT = dt.date(2026, 6, 19)  # reference: the 40 days before, current: the 12 days from it


def split_features(data):
    """(reference features, current features, profile, reference lines) of generated data split at CUT."""
    lines = purchase_lines(data.orders)
    before = lines["order_ts"] < pd.Timestamp(CUT)
    reference, current = lines[before], lines[~before]
    profile = reference_profile(reference)
    ref = order_features(reference, data.products, data.customers, profile, leave_one_out=True)
    cur = order_features(current, data.products, data.customers, profile)
    return ref, cur, profile


@functools.cache
def generated(seed: int, drift_kind: str | None = None):
    return generate(
        GeneratorConfig(
            customers=1_000,
            products=800,
            days=52,
            lines_per_day=600,
            seed=seed,
            end_date=END,
            drift_start=CUT if drift_kind else None,
            drift_kind=drift_kind or "category_surge",
        )
    )


def check(data, thresholds=None):
    ref, cur, _ = split_features(data)
    result, snapshot = run_drift_check("data_drift", ref, cur, NUMERICAL_FEATURES, CATEGORICAL_FEATURES, thresholds)
    return result, snapshot


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_no_false_alarm_on_same_distribution(seed):
    result, _ = check(generated(seed))
    assert result.current_rows > 1_000, result.current_rows
    assert not result.drifted, result.markdown()
    assert {f.feature for f in result.features} == set(NUMERICAL_FEATURES + CATEGORICAL_FEATURES)
    # distances stay well below the threshold, not just under it
    assert max(f.score for f in result.features) < 0.08, result.markdown()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "expected"),
    [("category_surge", "main_category"), ("price_shift", "unit_price"), ("segment_mix", "customer_segment")],
)
def test_injected_drift_is_found_in_the_right_feature(kind, expected):
    result, _ = check(generated(21, kind))
    assert result.drifted, result.markdown()
    assert expected in result.drifted_features, result.markdown()
    by_name = {f.feature: f for f in result.features}
    assert by_name[expected].method == ("jensenshannon" if expected in CATEGORICAL_FEATURES else "wasserstein")


@pytest.mark.slow
def test_thresholds_are_configurable():
    data = generated(11)
    strict, _ = check(data, DriftThresholds(numerical_threshold=0.001, categorical_threshold=0.001))
    assert strict.drifted and len(strict.drifted_features) >= 5
    lenient, _ = check(generated(21, "price_shift"), DriftThresholds(numerical_threshold=5.0))
    assert "unit_price" not in lenient.drifted_features


@pytest.mark.slow
def test_a_sample_gives_the_verdict_of_the_full_data():
    ref, cur, _ = split_features(generated(21, "category_surge"))
    full, _ = run_drift_check("d", ref, cur, NUMERICAL_FEATURES, CATEGORICAL_FEATURES, DriftThresholds())
    sampled, _ = run_drift_check(
        "d", ref, cur, NUMERICAL_FEATURES, CATEGORICAL_FEATURES, DriftThresholds(sample_size=4_000)
    )
    assert sampled.sampled_rows == {"reference": 4_000, "current": min(4_000, len(cur))}
    assert sampled.drifted_features == full.drifted_features
    for a, b in zip(full.features, sampled.features, strict=True):
        assert abs(a.score - b.score) < 0.05, (a, b)


def test_order_features_and_leave_one_out():
    products = pd.DataFrame({"product_id": ["P1", "P2", "P3"], "category": ["a", "b", "b"], "active": True})
    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "segment": ["plumber", "hvac"]})
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O1", "O1", "O2", "O3", "O3"],
            "line_no": [1, 2, 3, 1, 1, 2],
            "order_ts": pd.to_datetime(["2026-06-01"] * 6),
            "customer_id": ["C1", "C1", "C1", "C1", "C2", "C2"],
            "product_id": ["P1", "P2", "P3", "P1", "P2", "P1"],
            "quantity": [2.0, 1.0, 3.0, 1.0, -1.0, 4.0],  # the credit line of O3 is not a purchase
            "unit_price": [10.0, 20.0, 30.0, 10.0, 20.0, 12.0],
            "order_status": ["completed"] * 6,
        }
    )
    lines = purchase_lines(orders)
    assert len(lines) == 5
    profile = reference_profile(lines)
    assert profile.customer_orders.to_dict() == {"C1": 2, "C2": 1}
    plain = order_features(lines, products, customers, profile)
    loo = order_features(lines, products, customers, profile, leave_one_out=True)
    first = plain.iloc[0]
    assert (first["basket_size"], first["quantity"], first["unit_price"]) == (3.0, 6.0, 20.0)
    assert first["main_category"] == "b"  # two of its three lines
    assert first["customer_segment"] == "plumber"
    assert plain["customer_activity"].tolist() == pytest.approx(np.log1p([2, 2, 1]).tolist())
    # leaving the order out: C1 has one other order, C2 none (new to a model trained without that order)
    assert loo["customer_activity"].tolist() == pytest.approx(np.log1p([1, 1, 0]).tolist())
    assert loo["new_customer"].tolist() == ["no", "no", "yes"]
    assert plain["new_customer"].tolist() == ["no", "no", "no"]
    # P1 is in 3 orders: the popularity of O2's only line is log1p(3), log1p(2) leaving O2 out
    assert plain.iloc[1]["item_popularity"] == pytest.approx(np.log1p(3))
    assert loo.iloc[1]["item_popularity"] == pytest.approx(np.log1p(2))


def test_missing_feature_or_empty_side_is_an_error_naming_it():
    ref, cur, _ = split_features(generated(11))
    with pytest.raises(ValueError, match=r"data_drift: the current frame lacks the feature columns \['unit_price'\]"):
        run_drift_check("data_drift", ref, cur.drop(columns="unit_price"), ["unit_price"], [])
    with pytest.raises(ValueError, match="data_drift: the current frame is empty"):
        run_drift_check("data_drift", ref, cur.iloc[:0], ["unit_price"], [])


def test_prediction_drift_between_versions(tmp_path):
    data = generated(11)
    products = data.products
    rng = np.random.default_rng(0)
    popularity = pd.Series(rng.integers(1, 500, len(products)), index=products["product_id"])
    customers = [f"C{i:06d}" for i in range(400)]

    def lists(pool):
        return pd.DataFrame(
            {
                "customer_id": np.repeat(customers, 10),
                "rank": np.tile(np.arange(1, 11), len(customers)),
                "product_id": rng.choice(pool, 10 * len(customers)),
            }
        )

    everything = products["product_id"].to_numpy()
    same, _ = check_prediction_drift(lists(everything), lists(everything), products, popularity)
    assert not same.drifted, same.markdown()
    one_category = products.loc[products["category"] == products["category"].iloc[0], "product_id"].to_numpy()
    shifted, snapshot = check_prediction_drift(lists(everything), lists(one_category), products, popularity)
    assert shifted.drifted and "category" in shifted.drifted_features, shifted.markdown()
    files = write_report(tmp_path, "prediction_drift", shifted.as_dict(), snapshot)
    assert files.html.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    summary = json.loads(files.json.read_text(encoding="utf-8"))
    assert summary["drifted"] is True and summary["report_html"] == str(files.html)
    assert files.url().startswith("file://")


def test_list_overlap():
    old = pd.DataFrame({"customer_id": ["A", "A", "B"], "product_id": ["x", "y", "z"]})
    new = pd.DataFrame({"customer_id": ["A", "A", "B", "C"], "product_id": ["x", "q", "w", "x"]})
    assert list_overlap(old, new) == pytest.approx((0.5 + 0.0) / 2)


def serving_log(customer_ids, items, day="2026-07-01"):
    return pd.DataFrame(
        {
            "ts": pd.Timestamp(day) + pd.to_timedelta(np.arange(len(customer_ids)), unit="s"),
            "customer_id": customer_ids,
            "model_version": "m1",
            "items": items,
            "cold_start": False,
            "target": "local",
        }
    )


@pytest.mark.slow
def test_skew_found_with_many_cold_start_customers_and_absent_without():
    data = generated(11)
    lines = purchase_lines(data.orders)
    before = lines["order_ts"] < pd.Timestamp(CUT)
    profile = reference_profile(lines[before])
    trained = order_features(lines[before], data.products, data.customers, profile, leave_one_out=True)
    active = data.products.loc[data.products["active"], "product_id"].tolist()
    rng = np.random.default_rng(1)
    # after training, customers ask in proportion to how often they order and get active items: no skew
    later = lines[~before].drop_duplicates("order_id")["customer_id"]
    askers = later.sample(3_000, replace=True, random_state=1).tolist()
    fair = serving_log(askers, [list(rng.choice(active, 10)) for _ in askers])
    result, _ = check_skew(fair, trained, profile, data.products, data.customers)
    assert not result.drifted, result.markdown()
    # 60 % of requests from customers the model never saw, some inactive items served
    unknown = [f"NEW{i:05d}" for i in range(1_800)]
    inactive = data.products.loc[~data.products["active"], "product_id"].tolist()
    items = [list(rng.choice(active, 9)) + [inactive[0]] for _ in range(3_000)]
    skewed = serving_log(askers[:1_200] + unknown, items)
    result, _ = check_skew(skewed, trained, profile, data.products, data.customers, SkewThresholds())
    assert result.drifted
    scores = {f.feature: f for f in result.features}
    also_new = sum(c not in profile.known_customers for c in askers[:1_200])  # ordered first after training
    assert scores["cold_start_share"].score == pytest.approx((1_800 + also_new) / 3_000)
    assert scores["cold_start_share"].drifted
    assert scores["inactive_item_share"].score == pytest.approx(0.1) and scores["inactive_item_share"].drifted
    assert scores["customer_activity"].drifted  # unknown customers have no training activity
    assert result.extra["requests"] == 3_000
    with pytest.raises(ValueError, match="serving_skew: the serving log holds no request"):
        check_skew(skewed.iloc[:0], trained, profile, data.products, data.customers)


def test_a_missing_or_nan_score_gives_no_verdict_never_no_drift():
    import math

    from monitoring.drift import DriftResult, FeatureDrift, judge

    def feature(name, score, drifted):
        return FeatureDrift(name, "numerical", "wasserstein", 0.1, score, drifted)

    scored = [feature("a", 0.02, False), feature("b", 0.03, False)]
    assert judge(scored, 1) == "no drift"
    unscored = [feature("a", 0.02, False), feature("b", math.nan, None)]
    assert judge(unscored, 1) == "no verdict"
    assert judge([feature("a", 0.5, True), feature("b", math.nan, None)], 1) == "drift"
    assert judge(unscored, 3) == "no drift"  # even a drift of b could not reach 3 drifted features
    result = DriftResult("data_drift", False, unscored, 10, 10, verdict="no verdict")
    assert result.unscored_features == ["b"] and "NO VERDICT" in result.markdown()
    assert result.as_dict()["features"][1]["score"] is None  # valid JSON, not NaN
