"""The source resource's table names, set in a run's config: a hostile one stops the run before any step, naming
the setting; an unusual legitimate one is read."""

import datetime as dt

import pytest
from dagster import materialize

from recsys_assets.assets.source import raw_orders
from recsys_assets.core.data.generator import GeneratorConfig, generate
from recsys_assets.core.stores.source_db import SourceTables, create_sqlite_url, open_for_writing
from recsys_assets.resources.source import SourceDatabaseResource
from tests.support.run_errors import run_errors

pytestmark = pytest.mark.slow

DAY = "2026-06-29"


def run_with(url: str, orders_table: str, instance):
    config = {"resources": {"source": {"config": {"url": url, "orders_table": orders_table}}}}
    return materialize(
        [raw_orders],
        partition_key=DAY,
        instance=instance,
        resources={"source": SourceDatabaseResource.configure_at_launch()},
        run_config=config,
        raise_on_error=False,
    )


def test_a_hostile_table_name_in_the_run_config_stops_the_run_naming_the_setting(tmp_path, instance):
    data = generate(GeneratorConfig(customers=40, products=30, days=2, lines_per_day=20, end_date=dt.date(2026, 6, 30)))
    url = create_sqlite_url(tmp_path / "source.db")
    writer = open_for_writing(url, SourceTables(orders="Order Lines"))
    writer.write_tables({"orders": data.orders, "products": data.products, "customers": data.customers})

    hostile = run_with(url, "orders; DROP TABLE customers", instance)
    assert not hostile.success
    assert not hostile.get_step_success_events()  # stopped before any step
    assert any("source setting orders_table = 'orders; DROP TABLE customers'" in m for m in run_errors(hostile))
    assert writer.count_rows("customers") == len(data.customers)

    unusual = run_with(url, "Order Lines", instance)
    assert unusual.success
    [materialization] = unusual.get_asset_materialization_events()
    expected = (data.orders["order_ts"].dt.strftime("%F") == DAY).sum()
    assert expected > 0 and materialization.materialization.metadata["rows"].value == expected


def test_unusual_table_names_on_postgres(postgres):
    """PostgreSQL folds unquoted names to lower case: mixed case and spaces work only if every statement quotes."""
    import sqlalchemy as sa

    from recsys_assets.core.stores.source_db import SourceDatabase

    data = generate(GeneratorConfig(customers=60, products=50, days=3, lines_per_day=40, seed=6))
    tables = SourceTables(orders="Order Lines", products="Artikel", customers="select")
    database = SourceDatabase(postgres.create_database("unusual_names"), tables)
    for _ in range(2):  # the second write replaces through the staging tables and renames
        database.write_tables({"orders": data.orders, "products": data.products, "customers": data.customers})
    assert {"Order Lines", "Artikel", "select"} <= set(sa.inspect(database.engine).get_table_names())
    assert database.count_rows("orders") == len(data.orders)
    assert len(database.read_all("orders")) == len(data.orders)  # through ADBC
    assert len(database.read_master("customers")) == len(data.customers)
    customer = str(data.orders["customer_id"].iloc[0])
    assert len(database.read_customer_orders(customer)) == (data.orders["customer_id"] == customer).sum()  # DBAPI
    first, last = database.order_time_range()
    assert first == data.orders["order_ts"].min() and last == data.orders["order_ts"].max()
