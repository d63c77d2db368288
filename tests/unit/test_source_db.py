"""SourceDatabase.write_tables: several tables in one transaction, the order lines streamed chunk by chunk."""

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from recsys_assets.core.data.generator import GeneratorConfig, generate, generate_stream
from recsys_assets.core.stores.source_db import create_sqlite_url, open_for_writing

CONFIG = GeneratorConfig(customers=150, products=200, days=10, lines_per_day=150, seed=8, end_date=dt.date(2026, 6, 30))


@pytest.fixture
def database(tmp_path):
    return open_for_writing(create_sqlite_url(tmp_path / "source.db"))


def stored_orders(database) -> pd.DataFrame:
    return database.read_all("orders").sort_values(["order_ts", "order_id", "line_no"], kind="stable")


def test_streamed_chunks_are_written_as_one_table(database):
    stream = generate_stream(CONFIG, chunk_orders=80)
    assert stream.n_chunks > 2
    database.write_tables(stream.tables())
    expected = generate(CONFIG, chunk_orders=80)
    assert database.count_rows("orders") == len(expected.orders)
    assert database.count_rows("products") == 200 and database.count_rows("customers") == 150
    stored = stored_orders(database)
    assert stored["order_id"].tolist() == expected.orders["order_id"].tolist()
    assert stored["quantity"].tolist() == expected.orders["quantity"].tolist()
    assert not sa.inspect(database.engine).has_table("orders__staging")


def test_a_failing_chunk_leaves_every_previous_table_as_it_was(database):
    old = generate(CONFIG)
    database.write_tables({"orders": old.orders, "products": old.products, "customers": old.customers})
    before = stored_orders(database)
    new = generate_stream(GeneratorConfig(**{**CONFIG.__dict__, "seed": 9}), chunk_orders=80)

    def failing(chunks):
        for number, chunk in enumerate(chunks):
            if number == 2:
                raise OSError("disk full while writing chunk 3")
            yield chunk

    tables = {"products": new.tables()["products"], "customers": old.customers}
    with pytest.raises(OSError, match="chunk 3"):
        # the orders first (two chunks reach the staging table), then the failure: nothing is committed
        database.write_tables({"orders": failing(new.orders), **tables})
    pd.testing.assert_frame_equal(stored_orders(database), before)
    assert database.count_rows("products") == len(old.products)
    assert not sa.inspect(database.engine).has_table("orders__staging")


def test_chunks_append_and_an_empty_stream_cannot_replace_a_table(database):
    frames = generate(CONFIG).orders
    halves = [frames.iloc[: len(frames) // 2], frames.iloc[len(frames) // 2 :]]
    database.write_tables({"orders": halves[:1]})
    database.write_tables({"orders": iter(halves[1:])}, append=("orders",))
    assert database.count_rows("orders") == len(frames)
    with pytest.raises(ValueError, match="no data frame given for table 'orders'"):
        database.write_tables({"orders": iter([])})
    assert database.count_rows("orders") == len(frames)


def test_a_new_order_history_is_recorded_with_its_tables_and_only_with_them(database):
    data = generate(CONFIG)
    database.write_tables({"orders": data.orders})
    assert database.orders_replaced_at() is None  # a plain write is no new history
    before = pd.Timestamp.now(tz="UTC")
    database.write_tables({"orders": data.orders, "products": data.products}, new_history=True)
    replaced = database.orders_replaced_at()
    assert before <= replaced <= pd.Timestamp.now(tz="UTC")
    with pytest.raises(ValueError, match="no data frame given"):  # rolled back: no new history either
        database.write_tables({"orders": iter([])}, new_history=True)
    database.write_tables({"orders": data.orders.iloc[:5]}, append=("orders",))
    assert database.orders_replaced_at() == replaced


def test_the_sqlite_fast_path_stores_what_pandas_to_sql_stores(database, tmp_path):
    """Same DDL, same values and storage classes (DATETIME text with microseconds, NULLs, 0/1) as `to_sql`."""
    frame = pd.DataFrame(
        {
            "order_id": pd.array(["A1", None, "Ü3"], dtype=pd.StringDtype("pyarrow")),
            "customer_id": ["x", None, "z"],
            "line_no": [1, 2, 3],
            "quantity": [1.5, float("nan"), -2.0],
            "active": [True, False, True],
            "order_ts": pd.to_datetime(["2026-06-01 00:00:00", None, "2026-06-02 10:11:12.123456"], format="ISO8601"),
        }
    )
    database.write_tables({"orders": frame})
    reference = sa.create_engine(create_sqlite_url(tmp_path / "reference.db"))
    with reference.begin() as connection:
        frame.to_sql("orders", connection, index=False)

    def stored(engine):
        with engine.connect() as connection:
            ddl = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'orders'").scalar_one()
            ddl = ddl.replace('"orders"', "orders")  # SQLite quotes the name of a renamed (staging) table
            typed = ", ".join(f"typeof({column}), {column}" for column in frame.columns)
            return ddl, connection.exec_driver_sql(f"SELECT {typed} FROM orders ORDER BY line_no").fetchall()

    assert stored(database.engine) == stored(reference)
    assert stored(reference)[1][0][-2:] == ("text", "2026-06-01 00:00:00.000000")


def dbapi_read(database, start, end) -> pd.DataFrame:
    """read_orders through the DBAPI cursor only (the path every database without an ADBC driver takes)."""
    from unittest import mock

    with mock.patch("recsys_assets.core.stores.source_db.read_arrow", return_value=None):
        return database.read_orders(start, end)


def test_arrow_reads_give_the_dbapi_frame_and_leave_untypable_columns_to_it(database):
    from recsys_assets.core.stores.arrow_reads import read_arrow

    data = generate(CONFIG)
    database.write_tables({"orders": data.orders, "products": data.products, "customers": data.customers})
    start, end = dt.datetime(2026, 6, 22), dt.datetime(2026, 6, 29)
    query = sa.text("SELECT * FROM orders WHERE order_ts >= :start AND order_ts < :end")
    assert read_arrow(database.engine, query, {"start": start, "end": end}) is not None  # ADBC served it
    through_arrow = database.read_orders(start, end)
    assert 0 < len(through_arrow) < len(data.orders)
    pd.testing.assert_frame_equal(through_arrow, dbapi_read(database, start, end))
    with pytest.raises(ValueError, match="only datetimes"):  # ids are never rendered into SQL text
        read_arrow(database.engine, sa.text("SELECT * FROM orders WHERE customer_id = :c"), {"c": "C1' --"})

    with database.engine.begin() as connection:  # SQLite stores what it is given: a text quantity in a REAL column
        connection.execute(sa.text("UPDATE orders SET quantity = 'zwei' WHERE rowid = 1200"))
    assert read_arrow(database.engine, sa.text("SELECT * FROM orders")) is None  # ADBC cannot type it
    with pytest.raises(Exception, match="quantity"):  # the DBAPI path names the column, as before
        database.read_all("orders")


HOSTILE_NAMES = ["orders; DROP TABLE customers", 'orders" --', "sales.orders", "", " orders", "x" * 64, "1orders"]


@pytest.mark.parametrize("hostile", HOSTILE_NAMES)
def test_a_hostile_table_name_is_refused_naming_the_setting_and_runs_no_sql(tmp_path, hostile):
    from recsys_assets.core.stores.source_db import SourceDatabase, SourceDataError, SourceTables
    from recsys_assets.resources.source import SourceDatabaseResource

    url = create_sqlite_url(tmp_path / "source.db")
    data = generate(CONFIG)
    open_for_writing(url).write_tables({"orders": data.orders, "products": data.products, "customers": data.customers})
    with pytest.raises(SourceDataError, match="source setting customers_table = .* is not a table name"):
        SourceTables(customers=hostile)
    with pytest.raises(ValueError, match="source setting orders_table = .* is not a table name"):
        SourceDatabaseResource(url=url, orders_table=hostile)  # refused as soon as the resource is configured
    # nothing was executed: the table the hostile name tried to drop is still there, whole
    assert SourceDatabase(url).count_rows("customers") == len(data.customers)


def test_a_legitimate_unusual_table_name_is_quoted_in_every_statement(tmp_path):
    """Spaces, mixed case and an SQL keyword as table names: written, replaced, read (ADBC and DBAPI), counted."""
    from recsys_assets.resources.source import SourceDatabaseResource

    url = create_sqlite_url(tmp_path / "source.db")
    open_for_writing(url)
    names = {"orders_table": "Order Lines", "products_table": "Select", "customers_table": "Kunden"}
    resource = SourceDatabaseResource(url=url, **names)
    database = resource.database()
    data = generate(CONFIG)
    for _ in range(2):  # the second write replaces the tables through the staging table and the rename
        database.write_tables({"orders": data.orders, "products": data.products, "customers": data.customers})
    database.write_tables({"orders": data.orders.head(5)}, append=("orders",))
    inspector = sa.inspect(database.engine)
    assert {"Order Lines", "Select", "Kunden"} <= set(inspector.get_table_names())
    assert {index["name"] for index in inspector.get_indexes("Order Lines")} == {
        "ix_Order Lines_order_ts",
        "ix_Order Lines_customer_id",
    }
    assert database.count_rows("orders") == len(data.orders) + 5
    assert len(database.read_all("orders")) == len(data.orders) + 5
    assert len(database.read_master("products")) == len(data.products)
    first, last = database.order_time_range()
    assert (
        len(database.read_orders(first.to_pydatetime(), last.to_pydatetime() + dt.timedelta(seconds=1)))
        == len(data.orders) + 5
    )
    customer = str(data.orders["customer_id"].iloc[0])
    assert (
        len(database.read_customer_orders(customer))
        == (data.orders["customer_id"] == customer).sum() + (data.orders.head(5)["customer_id"] == customer).sum()
    )
    assert len(database.read_order_times(first.to_pydatetime(), last.to_pydatetime())) > 0
