"""drift_sensor and skew_sensor evaluated with Dagster's sensor test context; the drift_report asset's metadata.

The live model is recorded as runless materializations of als_model / interactions plus a published store version
naming it (what the sensors read), so these tests need no training run; the CLI test of demo-drift exercises the
trained path end to end, tests/dagster/test_live_model.py a model the gate refused. The drift test counts the
sensor's reads of the source: master data from the assets, and only the partitions materialized since the last tick.
"""

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dagster import (
    AssetMaterialization,
    SensorResult,
    SkipReason,
    build_sensor_context,
    instance_for_test,
    materialize,
)

from recsys_assets.assets.monitoring import drift_report, skew_report
from recsys_assets.assets.source import customers, products
from recsys_assets.core.data.generator import GeneratorConfig, generate
from recsys_assets.core.stores.serving_log import append_entries, synthetic_dir
from recsys_assets.core.stores.store import LocalRecommendationStore
from recsys_assets.resources.io_managers import PartitionedPickleIOManager
from recsys_assets.resources.monitoring import MonitoringResource
from recsys_assets.resources.source import SourceDatabaseResource
from recsys_assets.resources.stores import LocalStoreResource
from recsys_assets.sensors.monitoring import REPORT_TAG, drift_sensor, skew_sensor
from recsys_assets.settings import local_source_url, local_store_path, serving_log_dir
from recsys_assets.tags import REASON_TAG, TRIGGER_TAG
from tests.support.data import count_source_reads, write_source

pytestmark = pytest.mark.slow

END = dt.date(2026, 6, 30)
DRIFT_START = dt.date(2026, 6, 19)
CONFIG = GeneratorConfig(customers=1_000, products=800, days=52, lines_per_day=600, seed=11, end_date=END)


@pytest.fixture(scope="module")
def drifted_data():
    return generate(GeneratorConfig(**{**CONFIG.__dict__, "drift_start": DRIFT_START, "drift_kind": "category_surge"}))


@pytest.fixture(scope="module")
def stable_data():
    return generate(CONFIG)


@pytest.fixture
def dagster_instance(recsys_home):
    with instance_for_test() as instance:
        yield instance


def resources(recsys_home):
    return {
        "source": SourceDatabaseResource(url=local_source_url()),
        "monitoring": MonitoringResource(report_dir=str(recsys_home / "monitoring")),
        "store": LocalStoreResource(path=str(local_store_path())),
        "io_manager": PartitionedPickleIOManager(base_dir=str(recsys_home / "storage")),
    }


def record_live_model(instance, version: str, trained_until: str, window_start: str = "2026-05-10") -> None:
    """The model as trained (interactions, then als_model materializations) and published (the store serves it)."""
    instance.report_runless_asset_event(AssetMaterialization("interactions", metadata={"window_start": window_start}))
    instance.report_runless_asset_event(
        AssetMaterialization("als_model", metadata={"model_version": version, "trained_until": trained_until})
    )
    lists = pd.DataFrame({"customer_id": ["C000001"], "rank": [1], "product_id": ["P000001"], "score": [1.0]})
    lists["source"] = "als"
    store = LocalRecommendationStore(local_store_path())
    store.publish(f"{version}-published", lists, {"model_version": version})


def record_partitions(instance, first: dt.date, last: dt.date) -> None:
    day = first
    while day <= last:
        instance.report_runless_asset_event(AssetMaterialization("raw_orders", partition=day.isoformat()))
        day += dt.timedelta(days=1)


def evaluate(sensor, instance, recsys_home, cursor=None):
    return sensor(build_sensor_context(instance=instance, cursor=cursor, resources=resources(recsys_home)))


def current_reads(reads) -> list[tuple[str, str]]:
    """The order reads of the current side (the reference is read from the training window's start, 2026-05-10),
    as (first day, last day) pairs."""
    return [
        (start.date().isoformat(), (end - dt.timedelta(days=1)).date().isoformat())
        for start, end in reads["orders"]
        if start.date() > dt.date(2026, 5, 10)
    ]


def scores(summary: dict) -> dict:
    return {f["feature"]: f["score"] for f in summary["features"]}


def test_drift_sensor_requests_retraining_once_per_new_data(
    recsys_home, dagster_instance, drifted_data, monkeypatch, caplog
):
    write_source(drifted_data)
    materialize([products, customers], instance=dagster_instance, resources=resources(recsys_home))
    assert isinstance(evaluate(drift_sensor, dagster_instance, recsys_home), SkipReason)  # no model yet
    record_live_model(dagster_instance, "m1", "2026-06-18 17:59:00")
    assert isinstance(evaluate(drift_sensor, dagster_instance, recsys_home), SkipReason)  # no new partition yet
    record_partitions(dagster_instance, dt.date(2026, 5, 10), END)

    reads = count_source_reads(monkeypatch)
    result = evaluate(drift_sensor, dagster_instance, recsys_home)
    assert reads["master"] == []  # products and customers come from the assets
    assert current_reads(reads) == [("2026-06-19", "2026-06-30")]  # the whole window, in one query
    assert isinstance(result, SensorResult)
    [request] = result.run_requests
    assert request.run_key == "drift:m1:2026-06-30"
    assert request.tags[TRIGGER_TAG] == "sensor"
    assert request.tags[REASON_TAG].startswith("drift: ") and "main_category" in request.tags[REASON_TAG]
    report = Path(request.tags[REPORT_TAG])
    assert report.exists() and report.parent == recsys_home / "monitoring" / "data_drift"
    summary = json.loads(report.with_suffix(".json").read_text())
    assert summary["current_partitions"] == ["2026-06-19", "2026-06-30"]  # only days after the training data
    assert summary["drifted"] and "main_category" in summary["drifted_features"]
    assert json.loads(result.cursor) == {"model_version": "m1", "partition": "2026-06-30"}
    [event] = result.asset_events
    assert event.asset_key.path == ["drift_report"] and event.metadata["drifted"].value is True
    assert event.metadata["master_data"].value == "assets" and event.metadata["partitions_read"].value == 12

    # same data, same cursor: nothing fires
    again = evaluate(drift_sensor, dagster_instance, recsys_home, cursor=result.cursor)
    assert isinstance(again, SkipReason) and "already evaluated" in again.skip_message
    # a newer partition (no orders on it, but the window still drifts): a new evaluation with a new run key
    record_partitions(dagster_instance, dt.date(2026, 7, 1), dt.date(2026, 7, 1))
    reads["orders"].clear()
    later = evaluate(drift_sensor, dagster_instance, recsys_home, cursor=result.cursor)
    assert [r.run_key for r in later.run_requests] == ["drift:m1:2026-07-01"]
    assert reads["orders"] == [(dt.datetime(2026, 7, 1), dt.datetime(2026, 7, 2))]  # the new day only
    summary_later = json.loads(Path(later.run_requests[0].tags[REPORT_TAG]).with_suffix(".json").read_text())
    assert scores(summary_later) == scores(summary)  # the cached days give the verdict of reading them again
    cache = recsys_home / "monitoring" / "current" / "raw_orders"
    assert len(list(cache.glob("*.pkl"))) == 13

    # a re-materialized day is read again, and so is a damaged cache file (with a warning, not a failed tick)
    record_partitions(dagster_instance, dt.date(2026, 6, 25), dt.date(2026, 6, 25))
    [damaged] = cache.glob("2026-06-27.*.pkl")
    damaged.write_bytes(b"not a pickle")
    reads["orders"].clear()
    rerun = evaluate(drift_sensor, dagster_instance, recsys_home)  # no cursor: judge the window again
    assert current_reads(reads) == [("2026-06-25", "2026-06-25"), ("2026-06-27", "2026-06-27")]
    assert "2026-06-27" in caplog.text and "unreadable" in caplog.text
    assert scores(json.loads(Path(rerun.run_requests[0].tags[REPORT_TAG]).with_suffix(".json").read_text())) == (
        scores(summary)
    )
    assert len(list(cache.glob("*.pkl"))) == 13  # the old version of 2026-06-25 is gone
    # the retrained model covers everything: nothing left to compare, the old cursor does not matter
    record_live_model(dagster_instance, "m2", "2026-07-01 18:00:00")
    done = evaluate(drift_sensor, dagster_instance, recsys_home, cursor=later.cursor)
    assert isinstance(done, SkipReason) and "no raw_orders partition after" in done.skip_message


def test_drift_sensor_does_not_fire_on_stable_data_but_advances_cursor(recsys_home, dagster_instance, stable_data):
    write_source(stable_data)
    record_live_model(dagster_instance, "m1", "2026-06-18 17:59:00")
    record_partitions(dagster_instance, dt.date(2026, 6, 19), END)
    result = evaluate(drift_sensor, dagster_instance, recsys_home)
    assert isinstance(result, SensorResult) and not result.run_requests, result
    assert "no drift" in result.skip_reason.skip_message
    assert json.loads(result.cursor) == {"model_version": "m1", "partition": "2026-06-30"}
    # too little new data: no verdict and the cursor stays, so the next tick judges the larger sample
    record_live_model(dagster_instance, "m2", "2026-06-29 17:59:00")
    early = evaluate(drift_sensor, dagster_instance, recsys_home, cursor=result.cursor)
    assert isinstance(early, SkipReason) and "min_current_orders" in early.skip_message


def log_entries(customers, items, day: dt.date):
    start = dt.datetime.combine(day, dt.time(8))
    return [
        {
            "ts": (start + dt.timedelta(seconds=i)).isoformat() + "Z",
            "customer_id": customer,
            "model_version": "m1",
            "items": item_list,
            "cold_start": customer.startswith("NEW"),
            "target": "local",
        }
        for i, (customer, item_list) in enumerate(zip(customers, items, strict=True))
    ]


def test_skew_sensor_fires_on_many_cold_start_customers(recsys_home, dagster_instance, stable_data):
    write_source(stable_data)
    record_live_model(dagster_instance, "m1", "2026-06-30 17:59:00", window_start="2026-05-10")
    assert isinstance(evaluate(skew_sensor, dagster_instance, recsys_home), SkipReason)  # no log yet
    rng = np.random.default_rng(3)
    active = stable_data.products.loc[stable_data.products["active"], "product_id"].to_numpy()
    known = stable_data.orders["customer_id"].drop_duplicates().to_numpy()
    askers = list(rng.choice(known, 300)) + [f"NEW{i:05d}" for i in range(400)]
    items = [list(rng.choice(active, 10)) for _ in askers]
    append_entries(serving_log_dir(), log_entries(askers, items, dt.date(2026, 7, 1)))

    result = evaluate(skew_sensor, dagster_instance, recsys_home)
    [request] = result.run_requests
    # products and customers were never materialized here: the monitors read the source's tables instead
    assert result.asset_events[0].metadata["master_data"].value.startswith("source database for products, customers")
    assert request.tags[REASON_TAG].startswith("skew: ") and "cold_start_share" in request.tags[REASON_TAG]
    summary = json.loads(Path(request.tags[REPORT_TAG]).with_suffix(".json").read_text())
    share = {f["feature"]: f["score"] for f in summary["features"]}["cold_start_share"]
    assert share >= 400 / 700
    cursor = json.loads(result.cursor)
    assert cursor["model_version"] == "m1" and cursor["day"] == "2026-07-01" and cursor["bytes"] > 0
    assert request.run_key == f"skew:m1:2026-07-01:{cursor['bytes']}"

    again = evaluate(skew_sensor, dagster_instance, recsys_home, cursor=result.cursor)
    assert isinstance(again, SkipReason) and "already evaluated" in again.skip_message
    append_entries(serving_log_dir(), log_entries(askers[:10], items[:10], dt.date(2026, 7, 1)))
    more = evaluate(skew_sensor, dagster_instance, recsys_home, cursor=result.cursor)
    assert len(more.run_requests) == 1 and more.run_requests[0].run_key != request.run_key


def test_skew_report_says_the_serving_log_folder_does_not_exist(recsys_home, dagster_instance, stable_data):
    """The API writes its log on a disk the runs cannot see: the sensor and the asset name the folder and the
    setting that moves it, never a verdict."""
    write_source(stable_data)
    record_live_model(dagster_instance, "m1", "2026-06-30 17:59:00", window_start="2026-05-10")
    folder = serving_log_dir()
    assert not folder.exists()
    absent = evaluate(skew_sensor, dagster_instance, recsys_home)
    assert isinstance(absent, SkipReason)
    assert absent.skip_message.startswith(f"no serving log: {folder} does not exist (the API writes it;")
    assert "RECSYS_SERVING_LOG_DIR" in absent.skip_message
    # the asset, materialized from the UI, reports the same in its metadata and value
    result = materialize(
        [products, customers, skew_report],
        selection=[skew_report],
        instance=dagster_instance,
        resources=resources(recsys_home),
    )
    [event] = result.get_asset_materialization_events()
    assert event.materialization.metadata["summary"].value == f"serving_skew: no verdict — {absent.skip_message}"
    assert result.output_for_node("skew_report")["skipped"] == absent.skip_message


def synthetic_entries(traffic: str) -> list[dict]:
    entries = log_entries(["C000001"] * 3, [["P000001"]] * 3, dt.date(2026, 7, 1))
    return [{**entry, "traffic": traffic} for entry in entries]


def no_day_file(folder: Path) -> str:
    append_entries(synthetic_dir(folder), synthetic_entries("load-test"))  # the load test's own folder
    return f"no servings logged: {folder} holds no day file at all (the API writes it;"


def synthetic_day_files(folder: Path) -> str:
    append_entries(folder, synthetic_entries("probe"))  # flagged, in the shop's day file
    (folder / "2026-07-02.jsonl").write_text("", encoding="utf-8")
    return (
        f"no servings logged for 2026-07-01..2026-07-02: 2026-07-01.jsonl, 2026-07-02.jsonl in {folder} hold only "
        "synthetic traffic (probe)"
    )


@pytest.mark.parametrize("case", [no_day_file, synthetic_day_files])
def test_skew_sensor_says_why_the_serving_log_holds_nothing_to_judge(recsys_home, dagster_instance, case):
    """A folder without day files, day files without the shop's servings: named with the days, never "only 0
    requests" (the live model needs no source data: the check stops before reading it)."""
    record_live_model(dagster_instance, "m1", "2026-06-30 17:59:00", window_start="2026-05-10")
    expected = case(serving_log_dir())
    skipped = evaluate(skew_sensor, dagster_instance, recsys_home)
    assert isinstance(skipped, SkipReason) and skipped.skip_message.startswith(expected), skipped.skip_message


def test_drift_report_asset_links_the_report(recsys_home, dagster_instance, drifted_data):
    write_source(drifted_data)
    record_live_model(dagster_instance, "m1", "2026-06-18 17:59:00")
    record_partitions(dagster_instance, DRIFT_START, END)
    # drift_report alone in a fresh instance: its products/customers inputs were never materialized (they load as
    # None), so the check reads the source's tables, as the sensors do
    assets = [products, customers, drift_report]
    result = materialize(assets, selection=[drift_report], instance=dagster_instance, resources=resources(recsys_home))
    [event] = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["master_data"].value == "source database for products, customers (no materialization)"
    assert Path(metadata["report"].value).exists()
    assert metadata["report_url"].value.startswith("file://")
    assert metadata["drifted"].value is True and 0 < metadata["drifted_share"].value <= 1
    assert "main_category" in metadata["summary"].value
    assert result.output_for_node("drift_report")["drifted_features"] == metadata["drifted_features"].value
