"""The business rules as data: the one apply_rules function, the rule tables and settings, their GX suite."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from recsys_assets.core.data.schema import SchemaError
from recsys_assets.core.rules.apply import apply_rules
from recsys_assets.core.rules.rule_data import ListRuleSettings, RuleTables, conform_rule_table, load_list_settings
from recsys_assets.core.rules.rule_lists import apply_to_lists
from recsys_assets.core.rules.rule_rows import rule_rows
from recsys_assets.core.rules.rule_set import compile_rules

TODAY = dt.date(2026, 7, 1)
PRODUCTS = pd.DataFrame(
    {
        "product_id": [f"P{i}" for i in range(10)],
        "category": ["cables"] * 4 + ["lamps"] * 3 + ["pipes"] * 3,
        "active": [True] * 9 + [False],
    }
)
RANKED = [f"P{i}" for i in range(9)]


def rules_of(**tables) -> RuleTables:
    settings = tables.pop("settings", None)
    frames = {name: conform_rule_table(pd.DataFrame(rows), name, "test") for name, rows in tables.items()}
    return RuleTables(**frames, **({"settings": settings} if settings else {}))


def test_no_rule_data_is_no_rule():
    tables = RuleTables()
    assert tables.applied() == ()
    assert set(tables.describe().values()) == {"no data: no rule"}
    result = apply_rules("C1", "plumber", RANKED, compile_rules(tables, PRODUCTS, TODAY), 5)
    assert result.products == RANKED[:5] and result.removed == []


def test_each_rule_removes_what_it_should_and_says_why():
    tables = rules_of(
        stock={"product_id": ["P0", "P1"], "available": [0, 12]},
        assortments={"segment": ["plumber", "plumber"], "category": ["cables", None], "product_id": [None, "P6"]},
        blocked_products={"customer_id": ["C1"], "product_id": ["P2"], "reason": ["credit hold"]},
    )
    rules = compile_rules(tables, PRODUCTS, TODAY)
    result = apply_rules("C1", "plumber", RANKED, rules, 5)
    assert result.products == ["P1", "P3", "P6"]  # cables and the one allowed lamp, in stock, not blocked
    assert [(r.product_id, r.rule, r.why) for r in result.removed] == [
        ("P0", "stock", "out of stock"),
        ("P2", "blocked", "blocked: credit hold"),
        ("P4", "assortment", "outside the contract assortment"),
        ("P5", "assortment", "outside the contract assortment"),
        ("P7", "assortment", "outside the contract assortment"),
        ("P8", "assortment", "outside the contract assortment"),
    ]
    # another segment has no contract and no block: only the stock-out goes
    assert apply_rules("C2", "hvac", RANKED, rules, 5).products == ["P1", "P2", "P3", "P4", "P5"]
    # each rule alone (what model_metrics prices)
    assert apply_rules("C1", "plumber", RANKED, rules, 3, only=["stock"]).products == ["P1", "P2", "P3"]


def test_category_cap_and_campaign_pins_and_the_rules_applied_twice_give_the_same_list():

    tables = rules_of(
        stock={"product_id": ["P7"], "available": [0]},
        campaigns={
            "campaign_id": ["summer", "summer", "summer", "later"],
            "product_id": ["P7", "P8", "P5", "P6"],
            "segment": [None, None, None, None],
            "start_date": ["2026-06-20"] * 3 + ["2026-08-01"],
            "end_date": ["2026-07-10"] * 3 + ["2026-08-31"],
            "share": [0.4, 0.4, 0.4, 0.5],
        },
        settings=ListRuleSettings(max_per_category=2),
    )
    rules = compile_rules(tables, PRODUCTS, TODAY)
    result = apply_rules("C1", None, RANKED, rules, 5)
    # P7 pinned but out of stock; P8 and P5 take the campaign's round(0.4 x 5) = 2 slots; "later" has not started
    assert result.pinned == ["P8", "P5"] and result.campaign_of == {"P8": "summer", "P5": "summer"}
    assert result.products == ["P8", "P5", "P0", "P1", "P4"]  # at most 2 cables; P4 a lamp after P5
    assert ("P2", "category_cap") in [(r.product_id, r.rule) for r in result.removed]
    assert apply_rules("C1", None, result.products, rules, 5).products == result.products
    # the cap yields when nothing else can fill the list: the capped cables come last, in their order
    filled = apply_rules("C1", None, ["P0", "P1", "P2", "P3"], rules, 6)
    assert filled.products == ["P8", "P5", "P0", "P1", "P2", "P3"] and filled.removed[-1].rule == "stock"
    assert apply_rules("C1", None, filled.products, rules, 6).products == filled.products


def test_short_lists_are_topped_up_and_rank_again_over_many_customers():
    tables = rules_of(stock={"product_id": ["P0", "P1", "P2"], "available": [0, 0, 0]})
    rules = compile_rules(tables, PRODUCTS, TODAY)
    candidates = pd.DataFrame(
        {
            "customer_id": ["C1"] * 4 + ["C2"] * 4,
            "rank": [1, 2, 3, 4] * 2,
            "product_id": ["P0", "P1", "P2", "P3", "P4", "P5", "P6", "P0"],
            "score": [4.0, 3.0, 2.0, 1.0] * 2,
            "source": "als",
        }
    )
    ruled = apply_to_lists(candidates, rules, {}, 3, fill=lambda customer: iter(["P8", "P3", "P7"]))
    lists = ruled.lists
    assert lists[lists["customer_id"] == "C1"]["product_id"].tolist() == ["P3", "P8", "P7"]
    assert lists[lists["customer_id"] == "C2"]["product_id"].tolist() == ["P4", "P5", "P6"]
    assert lists["rank"].tolist() == [1, 2, 3, 1, 2, 3]
    assert lists.loc[lists["product_id"] == "P8", "score"].item() == 1.0  # a top-up ranks below the candidates
    assert ruled.removed_by_rule() == {"stock": 3}


def test_rule_tables_and_settings_refuse_bad_input_naming_it(tmp_path):
    with pytest.raises(SchemaError, match="'stock', column 'available' must hold a number"):
        conform_rule_table(pd.DataFrame({"product_id": ["P1"], "available": ["lots"]}), "stock", "test")
    with pytest.raises(SchemaError, match="missing column 'start_date' for rule table 'campaigns'"):
        conform_rule_table(pd.DataFrame({"campaign_id": ["a"], "product_id": ["P1"]}), "campaigns", "test")
    path = tmp_path / "list_rules.json"
    path.write_text(json.dumps({"max_per_category": 3, "turned_off": ["stok"]}))
    with pytest.raises(ValueError, match=r"unknown rules \['stok'\]"):
        load_list_settings(path)
    path.write_text(json.dumps({"max_per_category": 3, "turned_off": ["category_cap"]}))
    settings = load_list_settings(path)
    tables = RuleTables(settings=settings)
    assert tables.describe()["category_cap"] == "turned off: measured, not applied" and tables.applied() == ()
    assert load_list_settings(tmp_path / "absent.json").max_per_category is None


def test_the_rule_suite_names_unknown_ids_shares_out_of_range_and_dates_out_of_order():
    from recsys_assets.validation.gx_runner import validate_frame

    parameters = {
        "known_products": PRODUCTS["product_id"].tolist(),
        "known_customers": ["C1", "C2"],
        "known_segments": ["plumber", "hvac"],
        "known_categories": ["cables", "lamps", "pipes"],
    }
    good = rules_of(
        stock={"product_id": ["P0"], "available": [3]},
        assortments={"segment": ["plumber"], "category": ["cables"]},
        blocked_products={"customer_id": ["C1"], "product_id": ["P2"]},
        campaigns={"campaign_id": ["a"], "product_id": ["P1"], "start_date": ["2026-06-01"],
                   "end_date": ["2026-06-30"], "share": [0.2]},
    )  # fmt: skip
    assert validate_frame(rule_rows(good), "business_rules", parameters, ["table", "row"]).success
    assert validate_frame(rule_rows(RuleTables()), "business_rules", parameters, ["table", "row"]).success
    bad = rules_of(
        stock={"product_id": ["P0", "P99"], "available": [3, 1]},
        assortments={"segment": ["roofer"], "category": ["cables"]},
        blocked_products={"product_id": ["P2"]},
        campaigns={"campaign_id": ["a"], "product_id": ["P1"], "start_date": ["2026-06-30"],
                   "end_date": ["2026-06-01"], "share": [1.5]},
    )  # fmt: skip
    report = validate_frame(rule_rows(bad), "business_rules", parameters, ["table", "row"])
    failed = {(f.expectation, f.target) for f in report.failures}
    assert {target for _, target in failed} >= {"product_id", "segment", "share", "names_owner"}
    assert any("pair" in expectation for expectation, _ in failed)
    samples = {str(row.get("table")) for f in report.failures for row in f.sample}
    assert {"stock", "assortments", "blocked_products", "campaigns"} <= samples


def test_side_lists_take_their_rules_and_rank_again():
    """Buy again: stock, contract and blocks (the customer's own list); related: stock only (a product's list);
    neither takes campaigns or the category cap."""
    from recsys_assets.core.rules.side_lists import rule_side_lists

    tables = rules_of(
        stock={"product_id": ["P0"], "available": [0]},
        blocked_products={"customer_id": ["C1"], "product_id": ["P2"], "reason": ["credit hold"]},
        assortments={"segment": ["plumber"], "category": ["cables"], "product_id": [None]},
        campaigns={"campaign_id": ["spring"], "product_id": ["P8"], "share": [0.5], "start_date": ["2026-06-01"],
                   "end_date": ["2026-07-31"], "segment": [None]},
        settings=ListRuleSettings(max_per_category=1),
    )  # fmt: skip
    rules = compile_rules(tables, PRODUCTS, TODAY)
    rows = [("buy_again", "C1", p) for p in ["P0", "P1", "P2", "P3", "P4"]]
    rows += [("buy_again", "C2", p) for p in ["P0", "P1", "P2", "P3"]]
    rows += [("bought_together", "P5", p) for p in ["P0", "P2", "P4", "P1"]]
    lists = pd.DataFrame(rows, columns=["list", "key", "product_id"])
    lists["rank"] = lists.groupby(["list", "key"]).cumcount() + 1
    ruled, removed = rule_side_lists(lists, rules, {"C1": "plumber", "C2": "hvac"}, 2)
    kept = {key: group["product_id"].tolist() for key, group in ruled.groupby("key")}
    assert kept == {"C1": ["P1", "P3"], "C2": ["P1", "P2"], "P5": ["P2", "P4"]}  # no pinned P8, no cap of cables
    assert ruled.groupby("key")["rank"].apply(list).to_dict() == {"C1": [1, 2], "C2": [1, 2], "P5": [1, 2]}
    assert removed == {"stock": 3, "blocked": 1, "assortment": 1}  # P0 thrice; C1's blocked P2, its lamp P4
