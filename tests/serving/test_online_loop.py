"""The online loop end to end, on a hand-built case: lists served through the real HTTP API and serving log (with a
control group whose assignment survives a restart), orders placed afterwards, `online_metrics` materialized by
Dagster with the expected hits, the alert when the model is no better than control — and a load test that leaves
the online metrics and the skew check unchanged."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pandas as pd
import pytest
from dagster import AssetMaterialization, materialize
from fastapi.testclient import TestClient

from monitoring.online import OnlineSettings
from recsys_assets.assets import ALL_ASSETS
from recsys_assets.checks import ALL_CHECKS
from recsys_assets.cli.load_test import run_load_test
from recsys_assets.cli.local_run import persistent_instance
from recsys_assets.cli.main import main
from recsys_assets.core.data.schema import conform
from recsys_assets.core.lifecycle.control_group import ControlGroup
from recsys_assets.core.stores.alert_sinks import alerts_path, read_alerts
from recsys_assets.core.stores.serving_log import append_entries, read_entries, synthetic_dir
from recsys_assets.core.stores.source_db import SourceDatabase, open_for_writing
from recsys_assets.core.stores.store import LocalRecommendationStore
from recsys_assets.resources import resources_for
from recsys_assets.resources.monitoring import MonitoringResource
from recsys_assets.serving.app import create_app
from recsys_assets.serving.serving_settings import ServingSettings
from recsys_assets.settings import local_source_url, local_store_path, monitoring_dir, serving_log_dir
from recsys_assets.tags import RANGE_END_TAG, RANGE_START_TAG
from recsys_assets.watch.live_checks import run_serving_skew
from recsys_assets.watch.online import run_online_metrics
from tests.support.serving import app_server

pytestmark = pytest.mark.slow

KEY = "online-test-key"
REVIEW_KEY = "online-test-review-key"
CONTROL = ControlGroup(0.4, "salt-0")  # 5 of the 12 customers in control, the cold one not
CUSTOMERS = [f"C{i:02d}" for i in range(1, 13)]
COLD = "C12"  # published with the popularity list: defines the list the control group gets
POPULAR = ["P90", "P91", "P92"]
DAY_ONE, DAY_TWO = dt.date(2026, 6, 1), dt.date(2026, 6, 21)  # 20 days apart: their 14-day windows do not overlap
LAST_PARTITION = "2026-07-05"  # DAY_TWO + 14: both windows complete
# twelve customers: all against none is a verdict at 90 % (not at 95 %), so both verdicts and the alert path run
ONLINE_CONFIG = {"attribution_days": 14, "alert_period_days": 1, "min_exposures": 1, "min_lift": 0.0, "confidence": 0.9}


def own_list(n: int) -> list[str]:
    return [f"P{n:02d}", f"P{n + 20:02d}", f"P{n + 40:02d}"]


def published_lists() -> pd.DataFrame:
    rows = []
    for n, customer in enumerate(CUSTOMERS, start=1):
        cold = customer == COLD
        for rank, product in enumerate(POPULAR if cold else own_list(n), start=1):
            rows.append(
                {"customer_id": customer, "rank": rank, "product_id": product, "score": 1.0 / rank,
                 "source": "popularity_fallback" if cold else "als",
                 "reason": "popular_overall" if cold else "because_you_bought",
                 "because": "[]" if cold else json.dumps([f"P{n + 60:02d}"])}
            )  # fmt: skip
    return pd.DataFrame(rows)


def order_line(order: str, customer: str, product: str, when: dt.datetime, quantity=1.0, price=10.0) -> dict:
    return {"order_id": order, "line_no": 1, "order_ts": when, "customer_id": customer, "product_id": product,
            "quantity": quantity, "unit_price": price, "currency": "EUR", "order_status": "completed"}  # fmt: skip


def write_source(orders: list[dict]) -> SourceDatabase:
    products = pd.DataFrame(
        {"product_id": [f"P{n:02d}" for n in range(1, 100)], "name": [f"Product {n}" for n in range(1, 100)],
         "category": "tools", "brand": "Proline", "active": True}
    )  # fmt: skip
    customers = pd.DataFrame(
        {"customer_id": CUSTOMERS, "name": [f"Customer {c}" for c in CUSTOMERS], "segment": "plumber",
         "region": "north"}
    )  # fmt: skip
    database = open_for_writing(local_source_url())
    frames = {"orders": pd.DataFrame(orders), "products": products, "customers": customers}
    for table, frame in frames.items():
        database.write(table, conform(frame, table, "test"), replace=True)
    return database


def history() -> list[dict]:
    """May: every customer bought its `because` product (and the popular ones), so the model was trained on it."""
    lines = []
    for n, customer in enumerate(CUSTOMERS, start=1):
        for day in (3, 10, 17, 24):
            when = dt.datetime(2026, 5, day, 9)
            lines.append(order_line(f"H{n}-{day}", customer, f"P{n + 60:02d}", when))
            lines.append(order_line(f"H{n}-{day}b", customer, POPULAR[day % 3], when))
    return lines


class Clock:
    """The serving app's clock, set to the simulated serving day."""

    def __init__(self):
        self.now = 0.0

    def at(self, day: dt.date, hour: int) -> None:
        self.now = dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC).timestamp()

    def __call__(self) -> float:
        return self.now


def serve_everyone(base: str, clock: Clock, day: dt.date, hour: int) -> dict[str, dict]:
    clock.at(day, hour)
    answers = {}
    for customer in CUSTOMERS:
        response = httpx.get(f"{base}/recommendations/{customer}?k=3", headers={"X-API-Key": KEY})
        assert response.status_code == 200, response.text
        answers[customer] = response.json()
    return answers


def app(store, database, clock):
    return create_app(
        ServingSettings(
            stores={"local": store},
            source=database,
            api_key=KEY,
            review_key=REVIEW_KEY,
            log_dir=serving_log_dir(),
            refresh_seconds=0.2,
            control=CONTROL,
            clock=clock,
            monitoring_dir=monitoring_dir(),
        )
    )


def materialize_online(instance, day: dt.date):
    return materialize(
        [*ALL_ASSETS, *ALL_CHECKS],
        selection="online_metrics",
        partition_key=day.isoformat(),
        instance=instance,
        resources=resources_for("local"),
        run_config={"ops": {"online_metrics": {"config": ONLINE_CONFIG}}},
        raise_on_error=False,
    )


def online_figures(result) -> tuple[dict, object]:
    [check] = result.get_asset_check_evaluations()
    return result.output_for_node("online_metrics"), check


@pytest.fixture
def shop(recsys_home):
    database = write_source(history())
    store = LocalRecommendationStore(local_store_path())
    store.publish("m1-v", published_lists(), {"model_version": "m1"})
    return database, store


def test_online_loop_through_the_http_api(shop, recsys_home, capsys):
    database, store = shop
    groups = {c: CONTROL.group_of(c) for c in CUSTOMERS}
    model_arm = [c for c in CUSTOMERS if groups[c] == "model"]
    control_arm = [c for c in CUSTOMERS if groups[c] == "control"]
    assert len(model_arm) >= 3 and len(control_arm) >= 2, groups  # the salt gives both arms several customers
    clock = Clock()

    with app_server(app(store, database, clock)) as base:
        first = serve_everyone(base, clock, DAY_ONE, 9)
    with app_server(app(store, database, clock)) as base:  # a restart: nothing remembered but the settings
        again = serve_everyone(base, clock, DAY_ONE, 15)
        for customer in CUSTOMERS:
            assert first[customer]["group"] == again[customer]["group"] == groups[customer]
            served = [item["product_id"] for item in first[customer]["items"]]
            if groups[customer] == "control":
                assert served == POPULAR and {i["source"] for i in first[customer]["items"]} == {"control"}
            else:
                assert served == (POPULAR if customer == COLD else own_list(CUSTOMERS.index(customer) + 1))
        named = next(i for i in first[model_arm[0]]["items"])
        assert named["reason"] == "because_you_bought" and named["because"][0]["name"].startswith("Product ")
        second = serve_everyone(base, clock, DAY_TWO, 10)

    log = read_entries(serving_log_dir())
    assert len(log) == 3 * len(CUSTOMERS)
    assert log.groupby("customer_id")["group"].nunique().max() == 1  # every serving logged with its group
    assert set(log.loc[log["group"] == "control", "source"]) == {"control"}
    assert set(log["store_version"]) == {"m1-v"}

    # after day one: the model arm buys the first item it was served, the control arm buys something else;
    # after day two it is the other way round (and nobody buys anything before being served)
    orders = history()
    for n, customer in enumerate(CUSTOMERS):
        bought_one = first[customer]["items"][0]["product_id"] if customer in model_arm else "P99"
        bought_two = second[customer]["items"][0]["product_id"] if customer in control_arm else "P98"
        orders.append(order_line(f"A{n}", customer, bought_one, dt.datetime(2026, 6, 2, 10), 2.0, 10.0))
        orders.append(order_line(f"B{n}", customer, bought_two, dt.datetime(2026, 6, 23, 10), 1.0, 30.0))
    orders.append(order_line("L", model_arm[0], "P97", dt.datetime(2026, 6, 30, 10)))  # after day one's window
    database = write_source(orders)

    with persistent_instance() as instance:  # the instance `recsys models` reads
        ingest = materialize(
            ALL_ASSETS,
            selection="raw_orders",
            instance=instance,
            resources=resources_for("local"),
            tags={RANGE_START_TAG: "2026-05-01", RANGE_END_TAG: LAST_PARTITION},
        )
        assert ingest.success
        figures, check = online_figures(materialize_online(instance, DAY_ONE))
        arms = figures["arms"]
        assert (arms["model"]["exposures"], arms["model"]["hits"]) == (len(model_arm), len(model_arm))
        assert (arms["control"]["exposures"], arms["control"]["hits"]) == (len(control_arm), 0)
        assert arms["model"]["precision_at_k"] == pytest.approx(1 / 3)
        assert arms["model"]["line_share"] == 1.0 and arms["control"]["line_share"] == 0.0
        assert figures["window_complete"] and figures["servings"] == 2 * len(CUSTOMERS)
        rows = {row["source"]: row for row in figures["by_version"]}
        assert rows["control"]["model_version"] == "m1" and rows["control"]["store_version"] == "m1-v"
        assert figures["period"]["lift"]["verdict"] == "better" and check.passed
        assert read_alerts(alerts_path(recsys_home)) == []
        # per list: "for you" counts its model arm; the store holds no buy-again or related list, so no traffic
        lists = figures["lists"]
        assert (lists["for_you"]["exposures"], lists["for_you"]["hits"]) == (len(model_arm), len(model_arm))
        assert lists["for_you"]["hit_rate_low"] < 1.0 == lists["for_you"]["hit_rate_high"]
        assert {name: lists[name]["status"] for name in ("buy_again", "bought_together", "similar")} == dict.fromkeys(
            ("buy_again", "bought_together", "similar"), "no traffic for this list yet"
        )

        result = materialize_online(instance, DAY_TWO)
        figures, check = online_figures(result)
        assert figures["arms"]["model"]["hits"] == 0
        assert figures["arms"]["control"]["hits"] == len(control_arm)
        assert figures["period"]["lift"]["verdict"] == "not_better"
        assert not check.passed and check.severity.value == "WARN"
        [alert] = read_alerts(alerts_path(recsys_home))
        assert alert["kind"] == "online_lift" and "not better than the control group" in alert["message"]
        metadata = {
            k: v.value for k, v in result.get_asset_materialization_events()[0].materialization.metadata.items()
        }
        assert metadata["hit_rate_model"] == 0.0 and metadata["hit_rate_control"] == 1.0
        assert metadata["exposures_control"] == len(control_arm)
        assert metadata["list_for_you_hit_rate"] == 0.0 and metadata["list_buy_again_servings"] == 0
        assert metadata["lists_without_traffic"] == ["buy_again", "bought_together", "similar"]

        # the skew check judges the same log; then a load test hits the server: neither figure moves
        instance.report_runless_asset_event(
            AssetMaterialization("interactions", metadata={"window_start": "2026-05-01"})
        )
        instance.report_runless_asset_event(
            AssetMaterialization("als_model", metadata={"model_version": "m1", "trained_until": "2026-05-31 23:00"})
        )
        monitoring = MonitoringResource(min_requests=10, report_dir=str(recsys_home / "monitoring"))
        skew_before = run_serving_skew(instance, database, store, monitoring).result
        assert skew_before.extra["lists"]["for_you"]["servings"] == 3 * len(CUSTOMERS)
        assert skew_before.extra["list_similar_servings"] == 0 and "list_similar_cold_share" not in skew_before.extra
        with app_server(app(store, database, clock)) as base:
            load = run_load_test(base, [*CUSTOMERS, "NEW-1"] * 20, KEY, duration=10, concurrency=4, max_requests=400)
            served = httpx.get(f"{base}/metrics", headers={"X-API-Key": REVIEW_KEY}).json()
            assert served["online"]["day"] == DAY_TWO.isoformat()  # the newest day online_metrics materialized
            assert served["online"]["arms"]["control"]["hit_rate"] == 1.0
            assert served["online"]["period"]["lift"]["verdict"] == "not_better"
            assert served["online"]["lists"]["buy_again"]["status"] == "no traffic for this list yet"
            assert httpx.get(f"{base}/metrics").status_code == 401
            assert httpx.get(f"{base}/metrics", headers={"X-API-Key": KEY}).status_code == 403  # the shop's key
        assert load.requests == 400 and load.failed == 0
        assert len(read_entries(serving_log_dir())) == 3 * len(CUSTOMERS)
        skew_after = run_serving_skew(instance, database, store, monitoring).result
        assert [(f.feature, f.score) for f in skew_after.features] == [
            (f.feature, f.score) for f in skew_before.features
        ]
        assert online_figures(materialize_online(instance, DAY_TWO))[0]["arms"] == figures["arms"]

    # recsys models: model m1 over both days pooled, 7 of 14 model exposures hit, 5 of 10 control ones
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    [row] = [line for line in out.splitlines() if "2026-06-01..2026-06-21" in line]
    assert row.split()[:5] == ["m1", "2026-06-01..2026-06-21", str(2 * len(model_arm)), "50.00%", "16.67%"]
    assert row.split()[5:7] == ["50.00%", "+0.0%"] and row.endswith("insufficient_data")


def test_a_day_without_a_serving_log_says_why_instead_of_reporting_zeros(shop, recsys_home, instance):
    """The serving log folder absent (the API and the runs share no disk): online_metrics, its check and /metrics
    name the folder and the setting that moves it, never a measured 0 or a pass."""
    _, store = shop
    folder = serving_log_dir()
    assert not folder.exists()
    result = materialize_online(instance, DAY_ONE)
    figures, check = online_figures(result)
    reason = figures["no_servings"]
    assert reason.startswith(f"no serving log: {folder} does not exist (the API writes it;")
    assert "RECSYS_SERVING_LOG_DIR" in reason
    assert figures["servings"] is None  # unknown, not 0
    metadata = {k: v.value for k, v in result.get_asset_materialization_events()[0].materialization.metadata.items()}
    assert metadata["no_servings"] == reason and metadata["summary"].startswith(f"**{reason}**")
    assert not {"servings", "arm_counts", "exposures_model", "exposures_control"} & set(metadata)  # nothing to plot
    assert not any(key.startswith("list_") for key in metadata)
    # the check warns with the reason (no pass on zero exposures) and raises no lift alert
    assert not check.passed and check.severity.value == "WARN"
    assert check.description.startswith(reason) and check.metadata["no_servings"].value == reason
    assert read_alerts(alerts_path(recsys_home)) == []
    # /metrics serves the day file as it is: the reason, not a 0
    settings = ServingSettings(
        stores={"local": store}, api_key=KEY, review_key=REVIEW_KEY, monitoring_dir=monitoring_dir()
    )
    with TestClient(create_app(settings)) as client:
        online = client.get("/metrics", headers={"X-API-Key": REVIEW_KEY}).json()["online"]
    assert (online["day"], online["servings"], online["no_servings"]) == (DAY_ONE.isoformat(), None, reason)


PROBE = {"ts": f"{DAY_ONE}T09:00:00Z", "customer_id": CUSTOMERS[0], "model_version": "m1", "items": POPULAR,
         "cold_start": False, "target": "local"}  # fmt: skip


def no_day_file(folder) -> str:
    append_entries(folder, [{**PROBE, "ts": f"{DAY_ONE - dt.timedelta(days=1)}T09:00:00Z"}])  # the day before
    append_entries(synthetic_dir(folder), [{**PROBE, "traffic": "load-test"}])  # the load test's own folder
    return (
        f"no servings logged for {DAY_ONE}: {folder} holds no day file for {DAY_ONE} (its newest is "
        f"{DAY_ONE - dt.timedelta(days=1)}.jsonl); only synthetic traffic was logged, under {folder / 'synthetic'}, "
        "which the monitors never read"
    )


def synthetic_day_file(folder) -> str:
    append_entries(folder, [{**PROBE, "traffic": "probe"}])  # flagged, in the shop's day file
    return f"no servings logged for {DAY_ONE}: {DAY_ONE}.jsonl in {folder} holds only synthetic traffic (probe)"


@pytest.mark.parametrize("case", [no_day_file, synthetic_day_file])
def test_a_day_the_serving_log_holds_nothing_for_says_why(shop, instance, case):
    """No file for the day, or one of synthetic traffic only: the day's figures say so, with no servings count."""
    database, _ = shop
    folder = serving_log_dir()
    expected = case(folder)
    settings = OnlineSettings(**{k: v for k, v in ONLINE_CONFIG.items() if k != "alert_period_days"})
    day = run_online_metrics(instance, database, str(folder), DAY_ONE.isoformat(), settings, 1)
    assert day.no_servings == expected
    assert day.day_lift.reason == expected
    assert (day.summary()["servings"], day.summary()["no_servings"]) == (None, expected)
