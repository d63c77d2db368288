"""Generated source data for the tests, and reading asset metadata out of a run result."""

from __future__ import annotations

import datetime as dt

from recsys_assets.core.data.generator import GeneratedData, GeneratorConfig
from recsys_assets.core.stores.source_db import open_for_writing

# Small but structured: ALS must beat popularity on it (the e2e test asserts it).
SMALL = GeneratorConfig(
    customers=1_500, products=1_200, days=60, lines_per_day=700, seed=3, end_date=dt.date(2026, 6, 30)
)


def write_source(data: GeneratedData) -> str:
    """Write the generated tables to the local source database (RECSYS_HOME/source.db); returns its URL."""
    from recsys_assets.settings import local_source_url

    url = local_source_url()
    database = open_for_writing(url)
    for table in ("orders", "products", "customers"):
        database.write(table, getattr(data, table), replace=True)
    return url


def metadata_of(result, asset_name: str) -> dict:
    """The metadata of `asset_name`'s materialization in a run result, as plain values."""
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == asset_name]
    return {key: value.value for key, value in event.materialization.metadata.items()}


def count_source_reads(monkeypatch) -> dict[str, list]:
    """Record every order and master-data read of the source database (a spy around `SourceDatabase`, for tests
    that bound how often a step or a tick goes back to the source): "orders" lists (start, end) per query,
    "master" the table names."""
    from recsys_assets.core.stores.source_db import SourceDatabase

    reads: dict[str, list] = {"orders": [], "master": []}
    read_orders, read_master = SourceDatabase.read_orders, SourceDatabase.read_master

    def counted_orders(self, start, end):
        reads["orders"].append((start, end))
        return read_orders(self, start, end)

    def counted_master(self, table):
        reads["master"].append(table)
        return read_master(self, table)

    monkeypatch.setattr(SourceDatabase, "read_orders", counted_orders)
    monkeypatch.setattr(SourceDatabase, "read_master", counted_master)
    return reads
