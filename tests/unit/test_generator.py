"""The synthetic generator: deterministic, scaled by its knobs, bad rows of every class when asked."""

import datetime as dt

import pandas as pd
import pytest

from recsys_assets.core.data.generator import GeneratorConfig, generate
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
