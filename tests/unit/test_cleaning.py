"""Each cleaning rule on hand-made order lines."""

import pandas as pd
import pytest

from recsys_assets.core.data.cleaning import (
    CleaningRules,
    clean_orders,
    drop_absurd_quantities,
    drop_cancelled,
    drop_exact_duplicates,
    drop_future,
    drop_missing_ids,
    drop_unknown,
    net_returns,
    to_interactions,
)
from recsys_assets.core.data.schema import conform


def lines(*rows):
    columns = [
        "order_id",
        "line_no",
        "order_ts",
        "customer_id",
        "product_id",
        "quantity",
        "unit_price",
        "currency",
        "order_status",
    ]
    frame = pd.DataFrame([dict(zip(columns, row, strict=True)) for row in rows], columns=columns)
    return conform(frame, "orders", "test")


def line(order="O1", no=1, ts="2026-03-01 10:00", customer="C1", product="P1", qty=1.0, status="completed"):
    return (order, no, ts, customer, product, qty, 9.5, "EUR", status)


def test_drop_cancelled_is_case_insensitive():
    kept, dropped = drop_cancelled(lines(line(status="Cancelled "), line(order="O2"), line(order="O3", status=None)))
    assert dropped == 1
    assert kept["order_id"].tolist() == ["O2", "O3"]


def test_drop_exact_duplicates_keeps_first_and_lines_differing_in_one_column():
    kept, dropped = drop_exact_duplicates(lines(line(), line(), line(no=2)))
    assert dropped == 1
    assert kept["line_no"].tolist() == [1, 2]
    # the same order and line number with another quantity is a correction, not a copy; a missing order id too
    kept, dropped = drop_exact_duplicates(
        lines(line(qty=2.0), line(order=None), line(qty=3.0), line(order=None), line(qty=2.0), line(order=None, no=2))
    )
    assert dropped == 2
    assert kept["quantity"].tolist() == [2.0, 1.0, 3.0, 1.0]


def test_drop_missing_ids_catches_nulls_and_blanks():
    kept, dropped = drop_missing_ids(lines(line(customer=None), line(product="  "), line(qty=None), line(order="O9")))
    assert dropped == 3
    assert kept["order_id"].tolist() == ["O9"]


def test_drop_unknown_ids():
    kept, dropped = drop_unknown(lines(line(product="P1"), line(product="PX")), "product_id", pd.Series(["P1"]))
    assert (dropped, kept["product_id"].tolist()) == (1, ["P1"])


def test_drop_absurd_quantities_bounds_both_signs_and_zero():
    frame = lines(line(qty=5), line(qty=20_000), line(qty=-20_000), line(qty=0), line(qty=-3))
    kept, dropped = drop_absurd_quantities(frame, max_quantity=10_000)
    assert dropped == 3
    assert kept["quantity"].tolist() == [5, -3]


def test_drop_future_uses_as_of():
    frame = lines(line(ts="2026-03-01 10:00"), line(ts="2026-03-02 10:00"))
    kept, dropped = drop_future(frame, pd.Timestamp("2026-03-01 12:00"))
    assert (dropped, len(kept)) == (1, 1)


def test_net_returns_partial_and_full_and_orphan():
    frame = lines(
        line(order="O1", product="P1", qty=5),
        line(order="R1", product="P1", qty=-2),  # partial return: purchase kept, credit dropped
        line(order="O2", product="P2", qty=3),
        line(order="R2", product="P2", qty=-3),  # full return: both dropped
        line(order="R3", product="P3", qty=-1),  # credit without purchase: dropped
    )
    kept, dropped = net_returns(frame)
    assert dropped == 4
    assert kept["order_id"].tolist() == ["O1"]


def test_to_interactions_collapses_lines_of_one_order():
    frame = lines(line(no=1, qty=2), line(no=2, qty=3), line(order="O2", ts="2026-03-03 09:00"))
    result = to_interactions(frame)
    assert result[["order_id", "quantity"]].values.tolist() == [["O1", 5.0], ["O2", 1.0]]


def test_clean_orders_counts_every_rule():
    frame = lines(
        line(order="O1"),
        line(order="O1"),
        line(order="O2", status="cancelled"),
        line(order="O3", customer="CX"),
        line(order="O4", qty=1e9),
        line(order="O5", ts="2030-01-01"),
    )
    master_products = pd.DataFrame({"product_id": ["P1"]})
    master_customers = pd.DataFrame({"customer_id": ["C1"]})
    result = clean_orders(frame, master_products, master_customers, CleaningRules(as_of=pd.Timestamp("2026-06-01")))
    assert result.dropped == {
        "cancelled": 1,
        "duplicate_line": 1,
        "missing_value": 0,
        "unknown_customer": 1,
        "unknown_product": 0,
        "absurd_quantity": 1,
        "future_timestamp": 1,
        "returned_or_credit": 0,
    }
    assert len(result.interactions) == 1
    assert result.input_rows == 6


@pytest.mark.parametrize("rule", [drop_cancelled, drop_exact_duplicates, drop_missing_ids, net_returns])
def test_rules_accept_empty_frames(rule):
    kept, dropped = rule(lines())
    assert (len(kept), dropped) == (0, 0)
