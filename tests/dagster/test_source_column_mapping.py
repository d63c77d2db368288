"""The source resource's column mapping: a shop whose orders table carries its ERP's (German) column names is read
by raw_orders through the resource config, without a view; a mapped column the table lacks, or a mapping key the
contract does not know, fails naming the setting and the column."""

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa
from dagster import materialize

from recsys_assets.assets.source import raw_orders
from recsys_assets.core.data.generator import GeneratorConfig, generate
from recsys_assets.core.stores.source_db import SourceDatabase, SourceDataError, SourceTables, create_sqlite_url
from recsys_assets.resources.source import SourceDatabaseResource
from tests.support.run_errors import run_errors

pytestmark = pytest.mark.slow

DAY = "2026-06-29"
DATA = GeneratorConfig(customers=40, products=30, days=3, lines_per_day=25, seed=8, end_date=dt.date(2026, 6, 30))
GERMAN = {
    "order_id": "Belegnummer",
    "line_no": "Position",
    "order_ts": "Belegdatum",
    "customer_id": "Kundennummer",
    "product_id": "Artikelnummer",
    "quantity": "Menge",
    "unit_price": "Einzelpreis",
    "currency": "Währung",
    "order_status": "Belegstatus",
}
ARTIKEL = {"product_id": "Artikelnummer", "name": "Bezeichnung"}


def german_source(engine: sa.Engine, data) -> None:
    """The ERP's tables: orders and products under German column names, customers under the contract's."""
    with engine.begin() as connection:
        data.orders.rename(columns=GERMAN).to_sql("Auftragspositionen", connection, index=False)
        data.products.rename(columns=ARTIKEL).to_sql("Artikel", connection, index=False)
        data.customers.to_sql("customers", connection, index=False)


def run_with(url: str, instance, **settings):
    config = {"url": url, "orders_table": "Auftragspositionen", **settings}
    return materialize(
        [raw_orders],
        partition_key=DAY,
        instance=instance,
        resources={"source": SourceDatabaseResource.configure_at_launch()},
        run_config={"resources": {"source": {"config": config}}},
        raise_on_error=False,
    )


def errors_of(result) -> str:
    return "\n".join(run_errors(result))


def test_raw_orders_reads_an_orders_table_with_german_column_names_through_the_resource_config(tmp_path, instance):
    data = generate(DATA)
    url = create_sqlite_url(tmp_path / "erp.db")
    german_source(sa.create_engine(url), data)

    mapped = run_with(url, instance, orders_columns=GERMAN)
    assert mapped.success, errors_of(mapped)
    expected = data.orders[data.orders["order_ts"].dt.strftime("%F") == DAY].reset_index(drop=True)
    assert len(expected) > 0
    read = mapped.output_for_node("raw_orders")[DAY]
    pd.testing.assert_frame_equal(
        read.sort_values(["order_id", "line_no"]).reset_index(drop=True),
        expected.sort_values(["order_id", "line_no"]).reset_index(drop=True),
        check_dtype=False,
    )

    # without the mapping the table cannot be read (the mapping is what reads it)
    unmapped = run_with(url, instance)
    assert not unmapped.success and "order_ts" in errors_of(unmapped)


def test_a_mapped_column_the_table_lacks_fails_naming_the_setting_and_the_column(tmp_path, instance):
    url = create_sqlite_url(tmp_path / "erp.db")
    german_source(sa.create_engine(url), generate(DATA))
    wrong = run_with(url, instance, orders_columns={**GERMAN, "order_ts": "Datum"})
    assert not wrong.success
    message = errors_of(wrong)
    assert "source setting orders_columns maps order_ts to column 'Datum'" in message
    assert "'Belegdatum'" in message  # the columns the table does have, to pick from


def test_a_mapping_key_outside_the_contract_stops_the_run_before_any_step(tmp_path, instance):
    url = create_sqlite_url(tmp_path / "erp.db")
    german_source(sa.create_engine(url), generate(DATA))
    wrong = run_with(url, instance, orders_columns={"Belegnummer": "order_id"})
    assert not wrong.success and not wrong.get_step_success_events()
    assert "source setting orders_columns: ['Belegnummer'] are not columns of the contract" in errors_of(wrong)
    with pytest.raises(SourceDataError, match="orders_columns: order_id = 'x; DROP TABLE orders'"):
        SourceTables(orders_columns={"order_id": "x; DROP TABLE orders"})


def read_everything(database: SourceDatabase, data) -> None:
    """Every read of the orders and the products through the mapping gives the contract's frames."""
    orders = data.orders.sort_values(["order_id", "line_no"]).reset_index(drop=True)

    def same(frame):
        got = frame.sort_values(["order_id", "line_no"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, orders, check_dtype=False)

    same(database.read_all("orders"))  # ADBC where the database has a driver
    first, last = database.order_time_range()
    assert (first, last) == (orders["order_ts"].min(), orders["order_ts"].max())
    same(database.read_orders(first.to_pydatetime(), last.to_pydatetime() + dt.timedelta(seconds=1)))
    assert (
        len(database.read_order_times(first.to_pydatetime(), last.to_pydatetime())) == (orders["order_ts"] < last).sum()
    )
    stored = database.read_orders_as_stored(first.to_pydatetime(), last.to_pydatetime() + dt.timedelta(seconds=1))
    assert set(orders.columns) <= set(stored.columns) and len(stored) == len(orders)
    customer = str(orders["customer_id"].iloc[0])
    assert len(database.read_customer_orders(customer)) == (orders["customer_id"] == customer).sum()  # DBAPI
    products = database.read_master("products")
    assert list(products["name"]) == list(data.products["name"])


def test_every_read_of_sqlite_goes_through_the_mapping(tmp_path):
    data = generate(DATA)
    url = create_sqlite_url(tmp_path / "erp.db")
    german_source(sa.create_engine(url), data)
    tables = SourceTables(
        orders="Auftragspositionen", products="Artikel", orders_columns=GERMAN, products_columns=ARTIKEL
    )
    read_everything(SourceDatabase(url, tables), data)


def test_every_read_of_postgres_goes_through_the_mapping(postgres):
    """PostgreSQL folds unquoted names to lower case: `Belegdatum` and `Währung` are found only when quoted."""
    data = generate(DATA)
    url = postgres.create_database("german_columns")
    german_source(sa.create_engine(url), data)
    tables = SourceTables(
        orders="Auftragspositionen", products="Artikel", orders_columns=GERMAN, products_columns=ARTIKEL
    )
    read_everything(SourceDatabase(url, tables), data)
