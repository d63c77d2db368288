"""Benchmark: seconds and source reads per `drift_sensor` tick (issue 14: the monitors re-read the window).

Generates 70 days at scale L's daily volume (27 400 lines a day; 100 000 customers, 50 000 products; not
timed), records a live model trained on the first 42 days and the later days as materialized raw_orders
partitions, materializes products/customers, then evaluates the sensor four times: cold (reference and 27 days),
after one new partition, with nothing new (no cursor, so it evaluates again), after one day was re-materialized.
Source reads are counted by a spy around `SourceDatabase`. Run: `.venv/bin/python benchmarks/drift_tick.py`
(set PYTHONPATH to measure another checkout with the same script).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time

DAYS, TRAINED_DAYS, END = 70, 42, dt.date(2026, 6, 30)


def main() -> None:
    home = tempfile.mkdtemp(prefix="drift-tick-")
    os.environ.update({"RECSYS_HOME": home, "RECSYS_PARTITIONS_START": "2026-01-01"})
    os.environ.pop("RECSYS_DEPLOYMENT", None)
    os.environ.pop("RECSYS_SOURCE_URL", None)

    import pandas as pd
    from dagster import AssetMaterialization, build_sensor_context, instance_for_test, materialize

    from recsys_assets.assets.source import customers, products
    from recsys_assets.core.data.generator import GeneratorConfig, generate
    from recsys_assets.core.stores.source_db import SourceDatabase, open_for_writing
    from recsys_assets.core.stores.store import LocalRecommendationStore
    from recsys_assets.resources.io_managers import PartitionedPickleIOManager
    from recsys_assets.resources.monitoring import MonitoringResource
    from recsys_assets.resources.source import SourceDatabaseResource
    from recsys_assets.resources.stores import LocalStoreResource
    from recsys_assets.sensors.monitoring import drift_sensor
    from recsys_assets.settings import local_source_url, local_store_path

    started = time.perf_counter()
    data = generate(
        GeneratorConfig(customers=100_000, products=50_000, days=DAYS, lines_per_day=27_400, seed=1, end_date=END)
    )
    database = open_for_writing(local_source_url())
    for table in ("orders", "products", "customers"):
        database.write(table, getattr(data, table), replace=True)
    print(f"{len(data.orders)} lines generated and written in {time.perf_counter() - started:.0f}s (not timed)")

    reads = {"queries": 0, "rows": 0, "master": 0}
    read_orders, read_master = SourceDatabase.read_orders, SourceDatabase.read_master

    def counted_orders(self, start, end):
        frame = read_orders(self, start, end)
        reads["queries"] += 1
        reads["rows"] += len(frame)
        return frame

    def counted_master(self, table):
        reads["master"] += 1
        return read_master(self, table)

    SourceDatabase.read_orders, SourceDatabase.read_master = counted_orders, counted_master
    resources = {
        "source": SourceDatabaseResource(url=local_source_url()),
        "monitoring": MonitoringResource(report_dir=f"{home}/monitoring"),
        "store": LocalStoreResource(path=str(local_store_path())),
        "io_manager": PartitionedPickleIOManager(base_dir=f"{home}/storage"),
    }
    first = END - dt.timedelta(days=DAYS - 1)
    trained_until = first + dt.timedelta(days=TRAINED_DAYS - 1)
    with instance_for_test() as instance:

        def materialized(day: dt.date) -> None:
            instance.report_runless_asset_event(AssetMaterialization("raw_orders", partition=day.isoformat()))

        materialize([products, customers], instance=instance, resources=resources)
        instance.report_runless_asset_event(
            AssetMaterialization("interactions", metadata={"window_start": first.isoformat()})
        )
        model = {"model_version": "m1", "trained_until": f"{trained_until} 23:59"}
        instance.report_runless_asset_event(AssetMaterialization("als_model", metadata=model))
        lists = pd.DataFrame({"customer_id": ["C1"], "rank": [1], "product_id": ["P1"], "score": [1.0]})
        lists["source"] = "als"
        LocalRecommendationStore(local_store_path()).publish("v1", lists, {"model_version": "m1"})
        for offset in range(TRAINED_DAYS, DAYS - 1):
            materialized(first + dt.timedelta(days=offset))

        def tick(label: str) -> None:
            reads.update(queries=0, rows=0, master=0)
            started = time.perf_counter()
            result = drift_sensor(build_sensor_context(instance=instance, resources=resources))
            seconds = time.perf_counter() - started
            share = result.asset_events[0].metadata["drifted_share"].value if result.asset_events else None
            print(f"| {label} | {seconds:.2f} | {reads['queries']} | {reads['rows']} | {reads['master']} | {share} |")

        print("| tick | seconds | order queries | order rows read | master-data reads | drifted share |")
        print("|---|---|---|---|---|---|")
        tick(f"1: cold (reference + {DAYS - 1 - TRAINED_DAYS} days)")
        materialized(END)
        tick("2: one new partition")
        tick("3: nothing new (no cursor)")
        materialized(END - dt.timedelta(days=10))
        tick("4: one day re-materialized")


if __name__ == "__main__":
    main()
