"""The synthetic generator: deterministic, scaled by its knobs, bad rows of every class when asked."""

import datetime as dt

import pandas as pd
import pytest

from recsys_assets.core.data.generator import (
    BAD_DATA_CLASSES,
    CHUNK_ORDERS,
    GeneratorConfig,
    generate,
    generate_stream,
)
from recsys_assets.core.data.schema import conform

END = dt.date(2026, 6, 30)


def test_same_seed_same_data_other_seed_other_data():
    config = GeneratorConfig(customers=200, products=300, days=10, lines_per_day=200, seed=1, end_date=END)
    first, again = generate(config), generate(config)
    pd.testing.assert_frame_equal(first.orders, again.orders)
    other = generate(GeneratorConfig(customers=200, products=300, days=10, lines_per_day=200, seed=2, end_date=END))
    assert not first.orders["product_id"].equals(other.orders["product_id"])


def test_scale_and_window_and_contract():
    config = GeneratorConfig(customers=300, products=400, days=30, lines_per_day=500, end_date=END)
    data = generate(config)
    purchases = data.orders[data.orders["quantity"] > 0]
    assert 0.8 * 30 * 500 < len(purchases) < 1.2 * 30 * 500
    assert data.orders["order_ts"].min() >= pd.Timestamp(END - dt.timedelta(days=29))
    assert data.orders["order_ts"].max() < pd.Timestamp(END + dt.timedelta(days=1))
    assert len(data.products) == 400 and len(data.customers) == 300
    conform(data.orders, "orders", "generated")  # raises if the contract is broken
    assert set(data.orders["order_status"]) == {"completed", "cancelled"}
    assert (data.orders["quantity"] < 0).any()  # credit notes exist


def test_bad_data_knob_injects_every_class():
    config = GeneratorConfig(customers=200, products=300, days=10, lines_per_day=300, end_date=END, bad_data_rate=0.01)
    orders = generate(config).orders
    assert orders["customer_id"].isna().any() and orders["product_id"].isna().any()
    assert (orders["customer_id"] == "C_UNKNOWN").any() and (orders["product_id"] == "P_UNKNOWN").any()
    assert (orders["quantity"] >= 1e7).any()
    assert orders.duplicated().any()
    assert (orders["order_ts"] > pd.Timestamp(END) + pd.Timedelta(days=1)).any()


@pytest.mark.parametrize("kind", ["segment_mix", "category_surge", "price_shift"])
def test_drift_changes_only_the_drifted_period(kind):
    base = dict(customers=400, products=400, days=40, lines_per_day=400, end_date=END, seed=9)
    drift_start = END - dt.timedelta(days=9)
    plain = generate(GeneratorConfig(**base)).orders
    drifted = generate(GeneratorConfig(**base, drift_start=drift_start, drift_kind=kind)).orders
    before = pd.Timestamp(drift_start)
    pd.testing.assert_frame_equal(
        plain[plain["order_ts"] < before].reset_index(drop=True)[["order_id", "order_ts"]],
        drifted[drifted["order_ts"] < before].reset_index(drop=True)[["order_id", "order_ts"]],
    )
    if kind == "price_shift":
        late = drifted[drifted["order_ts"] >= before]["unit_price"].mean()
        assert late > 1.2 * plain[plain["order_ts"] >= before]["unit_price"].mean()


def test_rejects_nonsense_scale():
    with pytest.raises(ValueError, match="scale must be positive"):
        generate(GeneratorConfig(customers=0))


# --- streamed generation: the order lines in chunks of a fixed number of orders ---------------------------------

STREAMED = GeneratorConfig(
    customers=200, products=300, days=20, lines_per_day=150, seed=5, end_date=END, bad_data_rate=0.005
)
SORT_KEY = ["order_ts", "order_id", "line_no"]


def test_chunked_generation_is_deterministic_and_holds_the_rows_of_generate():
    stream = generate_stream(STREAMED, chunk_orders=100)
    chunks = list(stream.orders)
    assert stream.n_chunks == len(chunks) > 3
    again = list(generate_stream(STREAMED, chunk_orders=100).orders)
    for chunk, same in zip(chunks, again, strict=True):
        pd.testing.assert_frame_equal(chunk, same)
        assert chunk[SORT_KEY].equals(chunk.sort_values(SORT_KEY, kind="stable")[SORT_KEY])  # each chunk sorted
    whole = generate(STREAMED, chunk_orders=100)
    together = pd.concat(chunks, ignore_index=True).sort_values(SORT_KEY, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(together, whole.orders)
    pd.testing.assert_frame_equal(stream.products, whole.products)
    pd.testing.assert_frame_equal(stream.customers, whole.customers)
    conform(whole.orders, "orders", "generated in chunks")
    # another chunk size draws other lines, but the same orders and the same scale
    other = generate(STREAMED).orders
    assert not other["product_id"].equals(whole.orders["product_id"])
    assert abs(len(other) - len(whole.orders)) < 0.05 * len(other)


def test_one_chunk_is_the_whole_history_up_to_scale_m():
    assert round(365 * 2_740 / 4.0) <= CHUNK_ORDERS  # scale M's orders: one chunk, the unchunked generator's rows
    config = GeneratorConfig(customers=200, products=300, days=10, lines_per_day=200, seed=1, end_date=END)
    stream = generate_stream(config)
    [only] = list(stream.orders)
    pd.testing.assert_frame_equal(only, generate(config).orders)
    pd.testing.assert_frame_equal(only, generate(config, chunk_orders=stream.n_orders).orders)


def test_ids_unique_across_chunks_and_every_bad_class_in_the_stream():
    clean = generate(GeneratorConfig(**{**STREAMED.__dict__, "bad_data_rate": 0.0}), chunk_orders=100).orders
    assert not clean.duplicated(["order_id", "line_no"]).any()  # credit notes are numbered on across chunks
    assert clean["order_id"].str.startswith("R").any()
    chunks = list(generate_stream(STREAMED, chunk_orders=100).orders)
    orders = pd.concat(chunks, ignore_index=True)
    future = pd.Timestamp(END) + pd.Timedelta(days=1)
    seen = {
        "null_customer_id": orders["customer_id"].isna().any(),
        "null_product_id": orders["product_id"].isna().any(),
        "unknown_customer": (orders["customer_id"] == "C_UNKNOWN").any(),
        "unknown_product": (orders["product_id"] == "P_UNKNOWN").any(),
        "absurd_quantity": (orders["quantity"] >= 1e7).any(),
        "orphan_return": (orders["quantity"] <= -1e5).any(),
        "duplicate_line": orders.duplicated().any(),
        "future_timestamp": (orders["order_ts"] > future).any(),
    }
    assert set(seen) == set(BAD_DATA_CLASSES) and all(seen.values()), seen
    assert all(chunk["customer_id"].isna().any() for chunk in chunks)  # injected per chunk at the same rate


def test_master_tables_come_after_the_order_lines():
    stream = generate_stream(STREAMED, chunk_orders=100)
    with pytest.raises(RuntimeError, match="exhaust `orders` first"):
        stream.products  # noqa: B018
    for _ in stream.orders:
        pass
    assert len(stream.products) == 300 and len(stream.customers) == 200


def test_a_realistic_history_shorter_than_a_customers_shortest_stay_is_generated():
    # leavers stay at least 60 days; a 30-day history keeps everyone for all of it instead of failing
    data = generate(GeneratorConfig.realistic(customers=100, days=30, lines_per_day=20, seed=1))
    days = data.orders["order_ts"].dt.normalize()
    assert len(data.orders) > 0 and (days.max() - days.min()).days < 30
