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
