"""The GX runner and the frames it validates, on small crafted frames."""

import json

import pandas as pd
import pytest

from recsys_assets.core.data.schema import conform_lenient
from recsys_assets.core.stores.source_db import split_by_day
from recsys_assets.validation.frames import failing_partitions, orders_batch
from recsys_assets.validation.gx_runner import validate_frame
from recsys_assets.validation.report import failures_markdown, offending_rows_markdown
from recsys_assets.validation.suites import GATED_ASSETS, SuiteError, load_suite_json, suite_parameters


def _orders(day: str, n: int = 200) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": pd.array([f"O{day}-{i // 2}" for i in range(n)], dtype="string"),
            "line_no": [i % 2 + 1 for i in range(n)],
            "order_ts": pd.Timestamp(day) + pd.to_timedelta(range(n), unit="min"),
            "customer_id": pd.array([f"C{i % 7}" for i in range(n)], dtype="string"),
            "product_id": pd.array([f"P{i % 11}" for i in range(n)], dtype="string"),
            "quantity": [1.0] * n,
            "unit_price": [9.5] * n,
            "currency": pd.array(["EUR"] * n, dtype="string"),
            "order_status": pd.array(["completed"] * n, dtype="string"),
        }
    )


PARAMETERS = {
    "known_customers": [f"C{i}" for i in range(7)],
    "known_products": [f"P{i}" for i in range(11)],
    "now": pd.Timestamp("2026-07-01"),
}


def test_every_gated_asset_has_a_loadable_suite():
    from great_expectations.core import ExpectationSuite

    for asset in GATED_ASSETS:
        suite = load_suite_json(asset)
        assert ExpectationSuite(**suite).expectations, asset
    assert suite_parameters(load_suite_json("raw_orders")) == {
        "known_customers",
        "known_products",
        "now",
    }


def test_clean_partitions_pass_and_bad_lines_name_their_partition():
    frames = {"2026-06-01": _orders("2026-06-01"), "2026-06-02": _orders("2026-06-02")}
    parameters = PARAMETERS
    index = ["partition", "order_id", "line_no"]
    assert validate_frame(orders_batch(frames), "raw_orders", parameters, index).success
    frames["2026-06-02"].loc[:9, "product_id"] = "P_UNKNOWN"  # 5 % of the run's lines
    report = validate_frame(orders_batch(frames), "raw_orders", parameters, index)
    assert not report.success
    [failure] = report.failures
    assert failure.expectation == "expect_column_values_to_be_in_set" and failure.target == "product_id"
    assert failure.unexpected_count == 10 and failure.mostly == 0.99
    assert failure.sample[0]["product_id"] == "P_UNKNOWN" and failure.sample[0]["partition"] == "2026-06-02"
    assert failing_partitions(report, sorted(frames)) == ["2026-06-02"]
    assert "P_UNKNOWN" in offending_rows_markdown(report)
    assert "expect_column_values_to_be_in_set" in failures_markdown(report)


def test_a_line_outside_its_partition_day_fails_and_the_slow_mode_agrees():
    frames = {"2026-06-01": _orders("2026-06-01")}
    frames["2026-06-01"].loc[0, "order_ts"] = pd.Timestamp("2026-06-02 00:00")  # the next day
    parameters = PARAMETERS
    fast = validate_frame(orders_batch(frames), "raw_orders", parameters, ["partition", "order_id"])
    slow = validate_frame(orders_batch(frames), "raw_orders", parameters, ["partition", "order_id"], fast=False)
    assert [f.summary() for f in fast.failures] == [f.summary() for f in slow.failures]
    assert [f.target for f in fast.failures] == ["partition_end > order_ts"]


def test_missing_parameter_and_missing_suite_are_named(tmp_path, monkeypatch):
    without_now = {key: value for key, value in PARAMETERS.items() if key != "now"}
    with pytest.raises(SuiteError, match=r"needs run-time parameter\(s\) \['now'\]"):
        validate_frame(orders_batch({"2026-06-01": _orders("2026-06-01")}), "raw_orders", without_now)
    monkeypatch.setenv("RECSYS_EXPECTATIONS_DIR", str(tmp_path))
    with pytest.raises(SuiteError, match="no expectation suite for asset 'products'"):
        load_suite_json("products")
    (tmp_path / "products.json").write_text(json.dumps({"name": "p", "expectations": []})[:-3])
    with pytest.raises(SuiteError, match="is not valid JSON"):
        load_suite_json("products")


def test_a_rule_changed_in_the_json_applies_without_code(tmp_path, monkeypatch):
    suite = load_suite_json("customers")
    suite["expectations"].append(
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "region", "value_set": ["north"]}}
    )
    (tmp_path / "customers.json").write_text(json.dumps(suite))
    monkeypatch.setenv("RECSYS_EXPECTATIONS_DIR", str(tmp_path))
    customers = pd.DataFrame(
        {c: pd.array(["x1", "x2"], dtype="string") for c in ("customer_id", "name", "segment")}
        | {"region": pd.array(["north", "south"], dtype="string")}
    )
    report = validate_frame(customers, "customers", {}, ["customer_id"])
    assert [f.expectation for f in report.failures] == ["expect_column_values_to_be_in_set"]


def test_lenient_conform_keeps_what_breaks_the_contract_and_split_by_day_keeps_every_line():
    stored = pd.DataFrame({"order_ts": ["2026-06-01 10:00", "not a time"], "quantity": ["3", "3 pcs"]})
    frame = conform_lenient(stored, "orders")
    assert frame["quantity"].tolist() == ["3", "3 pcs"]  # kept as stored: not every value is a number
    assert "unit_price" not in frame.columns
    days = split_by_day(frame, ["2026-06-01", "2026-06-02"])
    assert sum(len(part) for part in days.values()) == 2 and set(days) == {"2026-06-01"}


def test_recommendation_lists_must_have_k_distinct_products_with_finite_scores():
    import numpy as np

    k, customers = 3, ["C1", "C2", "C3"]
    lists = pd.DataFrame(
        {
            "customer_id": np.repeat(customers, k),
            "rank": np.tile(np.arange(1, k + 1), len(customers)),
            "product_id": ["P1", "P2", "P3"] * len(customers),
            "score": np.linspace(1, 0.1, k * len(customers)),
            "source": "als",
            "reason": "because_you_bought",
            "because": '["P9"]',
            "model_version": "v1",
        }
    )
    parameters = {
        "k": k,
        "customers": customers,
        "active_products": ["P1", "P2", "P3"],
        "expected_rows": k * len(customers),
    }
    assert validate_frame(lists, "recommendations", parameters, ["customer_id", "rank"]).success
    broken = lists.copy()
    broken.loc[1, "product_id"] = "P1"  # C1 gets P1 twice
    broken.loc[4, "score"] = np.inf
    broken.loc[5, "reason"] = "because the model says so"  # not a known reason
    broken = broken[broken["customer_id"] != "C3"]  # C3 has no list
    report = validate_frame(broken, "recommendations", parameters, ["customer_id", "rank"])
    failed = {f"{f.expectation}({f.target})" for f in report.failures}
    assert {
        "expect_compound_columns_to_be_unique(customer_id, product_id)",
        "expect_column_values_to_be_between(score)",
        "expect_column_distinct_values_to_contain_set(customer_id)",
        "expect_table_row_count_to_equal(table)",
        "expect_column_values_to_be_in_set(reason)",
    } <= failed, failed


def test_expectation_dumps_are_memoised_only_inside_a_validation_and_follow_field_changes():
    from great_expectations.expectations import ExpectColumnValuesToBeInSet
    from great_expectations.expectations.expectation import Expectation

    from recsys_assets.validation.gx_config_cache import cached_expectation_dicts

    plain = Expectation.dict
    expectation = ExpectColumnValuesToBeInSet(column="product_id", value_set=[f"P{i}" for i in range(1000)])
    with cached_expectation_dicts():
        first = expectation.dict(exclude_defaults=True)
        assert first == plain(expectation, exclude_defaults=True)
        first.pop("column")  # a caller's changes stay with the caller
        again = expectation.dict(exclude_defaults=True)
        assert again["column"] == "product_id" and again["value_set"] is first["value_set"]  # not copied again
        # GX's per-metric copies (`to_domain_obj`) are new objects: a long value set is shared, not copied
        rebuilt = expectation.configuration.to_domain_obj()
        dumped = rebuilt.dict(exclude_defaults=True)
        assert dumped == plain(rebuilt, exclude_defaults=True) and dumped["value_set"] is rebuilt.value_set
        expectation.value_set = ["P1"]  # a new field value: dumped anew
        assert expectation.configuration.kwargs["value_set"] == ["P1"]
        assert expectation.dict() == plain(expectation)  # other arguments: pydantic's own dump
        memo = Expectation.dict
        with cached_expectation_dicts():  # nested: the outer memo serves and stays after the inner block
            assert Expectation.dict is memo
        assert Expectation.dict is memo
    assert Expectation.dict is plain and "dict" not in Expectation.__dict__


def test_a_validated_frame_is_not_kept_alive_by_great_expectations():
    import gc
    import weakref

    batch = orders_batch({"2026-06-01": _orders("2026-06-01")})
    alive = weakref.ref(batch)
    assert validate_frame(batch, "raw_orders", PARAMETERS, ["partition", "order_id", "line_no"]).success
    del batch
    gc.collect()
    assert alive() is None  # GX's execution engine let go of the batch: 1.5 GB at 10 M order lines
