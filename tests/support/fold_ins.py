"""The two order paths of fresh lists, checked end to end against a served deployment (local or Cosmos DB)."""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd
from dagster import build_sensor_context

from recsys_assets.core.data.schema import conform
from recsys_assets.jobs import fold_in_job
from recsys_assets.sensors.fold_in import fold_in_orders_sensor

ORDERS_KEY = "shop-back-end-orders-key-0123456789"


def served(client, headers, customer: str, list_name: str = "for_you") -> list[str]:
    body = client.get(f"/recommendations/{customer}?list={list_name}", headers=headers).json()
    return [item["product_id"] for item in body["items"]]


def modelled_item(client, headers, customer: str) -> str:
    """The customer's first served product that a campaign did not pin (a pinned product stays, bought or not)."""
    body = client.get(f"/recommendations/{customer}", headers=headers).json()
    return next(item["product_id"] for item in body["items"] if item["reason"] != "campaign")


def order_line(customer: str, product: str, order_id: str, minutes_ago: float = 1) -> dict:
    at = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=minutes_ago)
    return {
        "order_id": order_id, "line_no": 1, "order_ts": at.isoformat(), "customer_id": customer,
        "product_id": product, "quantity": 2.0, "unit_price": 9.5, "currency": "EUR",
    }  # fmt: skip


def few_products_customers(lists, data) -> list[str]:
    """Model-served customers who bought fewer than 8 products: a product they buy now is surely in buy again."""
    distinct = data.orders.groupby("customer_id")["product_id"].nunique()
    modelled = lists.loc[lists["source"] != "popularity_fallback", "customer_id"].unique()
    return [c for c in modelled if distinct.get(c, 99) < 8]


def check_order_paths(client, headers, review, lists, data, source, instance, resources, monkeypatch) -> None:
    """An order through each path (POST /events/orders, the source sensor's fold-in run) changes the customer's
    lists within the stated time: the bought product leaves "for you" and enters "buy again"; a bad line is refused
    by name (422, nothing recorded); /metrics tells what waits to be folded in; the lag alert is raised once.
    `client` serves the deployment under test with `headers` (serving key) and `review` (review key); the orders
    key is ORDERS_KEY; `resources` are the deployment's Dagster resources."""
    first, second, third = few_products_customers(lists, data)[:3]
    orders = {"X-API-Key": ORDERS_KEY}
    lines_before = source.count_rows("orders")
    bad = client.post("/events/orders", headers=orders, json={"lines": [order_line(first, "NO-SUCH-PRODUCT", "B1")]})
    assert bad.status_code == 422 and "unknown product_id 'NO-SUCH-PRODUCT'" in bad.json()["details"][0]["message"]
    assert source.count_rows("orders") == lines_before  # nothing recorded
    bought = modelled_item(client, headers, first)
    started = time.monotonic()
    answer = client.post("/events/orders", headers=orders, json={"lines": [order_line(first, bought, "API-1")]})
    assert answer.status_code == 200 and answer.json()["folded"] is True, answer.json()
    assert time.monotonic() - started < 2.0  # order -> list refreshed, through the API
    assert bought not in served(client, headers, first) and len(served(client, headers, first)) == 10
    assert bought in served(client, headers, first, "buy_again")
    fold_ins = client.get("/metrics", headers=review).json()["fold_ins"]
    assert fold_ins["this_process"]["customers_refreshed"] == 1 and fold_ins["customers_refreshed"] == 1
    assert fold_ins["pending_lines"] == 0 and fold_ins["oldest_pending_seconds"] == 0.0
    # the source sensor: its first tick replays what the live version does not know yet (the line above included)
    with build_sensor_context(instance=instance, resources=resources) as context:  # resources may be generators
        tick = fold_in_orders_sensor(context)
        cursor = context.cursor
    assert tick.run_config["ops"]["fold_in_orders"]["config"]["replay"] is True
    assert fold_in_job.execute_in_process(run_config=tick.run_config, instance=instance, resources=resources).success
    assert bought not in served(client, headers, first)
    # lines written straight to the source: the next tick asks for a fold-in of exactly their customers
    products = {customer: modelled_item(client, headers, customer) for customer in (second, third)}
    lines = [order_line(customer, product, f"SRC-{customer}", 0.5) for customer, product in products.items()]
    source.write("orders", conform(pd.DataFrame(lines).assign(order_status="completed"), "orders", "test"), False)
    waiting = client.get("/metrics", headers=review).json()["fold_ins"]
    assert waiting["pending_lines"] == 2 and waiting["pending_customers"] == 2 and waiting["oldest_pending_seconds"] > 0
    monkeypatch.setenv("RECSYS_FOLD_IN_LAG_ALERT_SECONDS", "1")  # the lines above are 30 s old: behind
    with build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        ticks = fold_in_orders_sensor(context)
    assert [t.run_config["ops"]["fold_in_orders"]["config"]["customers"] for t in ticks] == [sorted(products)]
    assert fold_in_job.execute_in_process(
        run_config=ticks[0].run_config, instance=instance, resources=resources
    ).success
    caught_up = client.get("/metrics", headers=review).json()["fold_ins"]
    assert caught_up["pending_lines"] == 0 and caught_up["customers_refreshed"] == 3
    for customer, product in products.items():
        assert product not in served(client, headers, customer) and product in served(
            client, headers, customer, "buy_again"
        )
