"""Hold-outs on dense and sparse data: the auto rule picks the cut from the number of evaluable customers."""

import datetime as dt

from recsys_assets.core.data.cleaning import CleaningRules, clean_orders
from recsys_assets.core.data.generator import GeneratorConfig, generate
from recsys_assets.core.data.profile import profile_orders
from recsys_assets.core.data.split import holdout_split, per_customer_recent_split, plan_holdout


def interactions(config):
    data = generate(config)
    return clean_orders(data.orders, data.products, data.customers, CleaningRules(as_of=None)).interactions


def test_dense_data_keeps_the_global_time_cut_and_sparse_data_holds_out_per_customer():
    dense = interactions(GeneratorConfig(customers=1500, products=800, days=60, lines_per_day=700, seed=3))
    plan = plan_holdout(dense)
    assert plan.strategy == "global_time" and plan.days == 12, plan  # 14 days, capped at 20 % of 60
    sparse = interactions(GeneratorConfig.realistic(customers=900, lines_per_day=12, seed=4))
    plan = plan_holdout(sparse)
    assert plan.strategy == "per_customer_recent" and "too few evaluable customers" in plan.reason, plan
    split = holdout_split(sparse, plan)
    assert split.evaluable_customers > 0 and split.test_days == 0
    assert split.cutoff == split.test["order_ts"].min()
    assert plan_holdout(sparse, "global_time", 28).days == 28  # settings win


def test_per_customer_split_keeps_each_customers_earlier_orders_for_training():
    sparse = interactions(GeneratorConfig.realistic(customers=600, lines_per_day=10, seed=5))
    split = per_customer_recent_split(sparse, 0.2)
    held = split.test.groupby("customer_id")["order_ts"].min()
    trained = split.train.groupby("customer_id")["order_ts"].max()
    common = held.index.intersection(trained.index)
    assert len(common) == split.test["customer_id"].nunique()  # every held-out customer has training orders
    assert (trained[common] <= held[common]).all()


def test_realistic_history_is_closed_at_weekends_and_on_holidays_and_sparse():
    data = generate(GeneratorConfig.realistic(seed=6, end_date=dt.date(2026, 6, 30)))
    days = data.orders["order_ts"].dt.normalize()
    assert set(days.dt.dayofweek) <= {0, 1, 2, 3, 4}
    assert not days.isin([dt.datetime(2025, 12, 25), dt.datetime(2025, 1, 1)]).any()
    per_year = data.orders.groupby("customer_id")["order_id"].nunique() / 3
    assert (per_year <= 3).mean() > 0.6
    assert (data.orders["quantity"] < 0).any()  # credit notes
    profile = dict(profile_orders(data.orders, data.products, data.customers).facts)
    assert profile["closed weekdays"] == "Sat, Sun"
