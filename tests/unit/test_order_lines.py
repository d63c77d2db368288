"""Order lines posted to the API: each kind of bad line refused by name, the good ones typed as the contract says."""

import pandas as pd
import pytest

from recsys_assets.core.lifecycle.order_fold_in import OrderLinesRefused, checked_order_lines
from recsys_assets.core.stores.source_db import SourceDatabase
from tests.support.data import write_source
from tests.support.serving import tiny_data

NOW = pd.Timestamp("2026-07-01 12:00")


@pytest.fixture
def source(recsys_home):
    return SourceDatabase(write_source(tiny_data()))


def line(source, n: int = 0, **changes) -> dict:
    customers, products = source.read_master("customers"), source.read_master("products")
    return {
        "order_id": f"W-{n}", "line_no": 1, "order_ts": NOW - pd.Timedelta(minutes=3),
        "customer_id": str(customers["customer_id"].iloc[n]), "product_id": str(products["product_id"].iloc[n]),
        "quantity": 1.0, "unit_price": 2.5, "currency": "EUR", **changes,
    }  # fmt: skip


def test_good_lines_are_typed_by_the_contract(source):
    frame = checked_order_lines([line(source, 0), line(source, 1, line_no=2)], source, NOW)
    assert frame["order_status"].tolist() == ["completed", "completed"]
    assert str(frame["order_ts"].dtype) == "datetime64[ns]" and frame["line_no"].tolist() == [1, 2]


def test_every_bad_line_is_named_and_nothing_passes(source):
    stored = source.read_all("orders").iloc[0]
    lines = [
        line(source, 0),
        line(source, 1, customer_id="NOBODY"),
        line(source, 2, product_id="NOTHING"),
        line(source, 3, order_ts=NOW + pd.Timedelta(hours=1)),
        line(source, 0),  # the first line again
        line(
            source,
            4,
            order_id=str(stored["order_id"]),
            line_no=int(stored["line_no"]),
            customer_id=stored["customer_id"],
        ),
    ]
    with pytest.raises(OrderLinesRefused) as refused:
        checked_order_lines(lines, source, NOW)
    message = str(refused.value)
    assert message.startswith("5 problem(s) in the order lines, nothing recorded")
    assert "line 1: unknown customer_id 'NOBODY'" in message and "line 2: unknown product_id 'NOTHING'" in message
    assert "line 3: order_ts" in message and "is in the future" in message
    assert "line 4: order W-0 line_no 1 is given twice" in message
    assert f"line 5: order {stored['order_id']} line_no {stored['line_no']} is already recorded" in message


def test_a_mistyped_column_is_refused_by_the_contract(source):
    with pytest.raises(OrderLinesRefused, match="column 'quantity'"):
        checked_order_lines([line(source, 0, quantity="two")], source, NOW)
    with pytest.raises(OrderLinesRefused, match="no order line given"):
        checked_order_lines([], source, NOW)
