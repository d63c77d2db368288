"""The source database (any SQLAlchemy URL): read order lines by time window and the master data tables."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ..data.schema import ORDER_COLUMNS, TABLE_COLUMNS, SchemaError, conform, conform_lenient, empty
from ..faults import failpoint
from .arrow_reads import read_arrow

FAR_FUTURE = dt.datetime(9999, 12, 31)


class SourceDataError(RuntimeError):
    """The source database or one of its tables is missing, empty or unreadable."""


# SQL has no parameters for identifiers, so a table name from the settings goes into the SQL text: only plain names
# are accepted (letters, digits, underscores, inner spaces; at most 63 characters, PostgreSQL's limit), and every use
# is quoted by the database's own dialect (`SourceDatabase.quote`), so mixed case, spaces and reserved words work
TABLE_NAME = re.compile(r"[A-Za-z_](?:[A-Za-z0-9_ ]{0,61}[A-Za-z0-9_])?")


def check_table_name(name: object, setting: str) -> str:
    """`name` when it is a plain table name; otherwise a SourceDataError naming the `setting` it came from."""
    if isinstance(name, str) and TABLE_NAME.fullmatch(name):
        return name
    raise SourceDataError(
        f"source setting {setting} = {name!r} is not a table name this product accepts: use letters, digits, "
        "underscores and spaces inside, starting with a letter or an underscore, at most 63 characters (no quotes, "
        "dots or semicolons; a schema is chosen in the database URL, e.g. PostgreSQL's "
        "?options=-csearch_path%3Dsales)"
    )


# a column name from the settings (`*_columns`): a plain name, letters of any script (an ERP's `Stückpreis`)
COLUMN_NAME = re.compile(r"[^\W\d](?:[\w ]{0,61}\w)?")


def check_column_mapping(mapping: object, table: str) -> dict[str, str]:
    """`mapping` (contract column -> the source table's column) when every key is a contract column of `table` and
    every value a plain column name; otherwise a SourceDataError naming the setting (`<table>_columns`)."""
    setting = f"{table}_columns"
    if not isinstance(mapping, Mapping):
        raise SourceDataError(f"source setting {setting} must map contract columns to column names, got {mapping!r}")
    unknown = sorted(str(key) for key in mapping if key not in TABLE_COLUMNS[table])
    if unknown:
        raise SourceDataError(
            f"source setting {setting}: {unknown} are not columns of the contract's {table} table; "
            f"known: {list(TABLE_COLUMNS[table])}"
        )
    for contract, column in mapping.items():
        if not (isinstance(column, str) and COLUMN_NAME.fullmatch(column)):
            raise SourceDataError(
                f"source setting {setting}: {contract} = {column!r} is not a column name this product accepts: "
                "letters, digits, underscores and spaces inside, starting with a letter or an underscore, at most "
                "63 characters"
            )
    return dict(mapping)


@dataclass(frozen=True)
class SourceTables:
    """The names of the contract's three tables in the source database (the `source` resource's `*_table`), and
    for each the columns the shop's own database names otherwise (`*_columns`: contract column -> its column; the
    columns left out carry the contract's names)."""

    orders: str = "orders"
    products: str = "products"
    customers: str = "customers"
    orders_columns: Mapping[str, str] = field(default_factory=dict)
    products_columns: Mapping[str, str] = field(default_factory=dict)
    customers_columns: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        for table in ("orders", "products", "customers"):
            check_table_name(getattr(self, table), f"{table}_table")
            check_column_mapping(getattr(self, f"{table}_columns"), table)

    def name_of(self, table: str) -> str:
        return getattr(self, table)

    def columns_of(self, table: str) -> Mapping[str, str]:
        """The mapped columns of `table`: contract column -> the source table's column."""
        return getattr(self, f"{table}_columns")


READ_CHUNK_ROWS = 200_000  # rows fetched and typed at a time when reading a table

# when the orders were last replaced as a whole (`import-orders` without --append, `generate`). Written with the new
# tables, in their transaction; a source that nothing here wrote simply has no such table. The model gate decides
# "another order history" from the data (core/lifecycle/order_history.py); this marker only serves champions
# registered before order-line samples were recorded: one published before it learned from other orders.
ORDERS_REPLACED = sa.Table(
    "recsys_orders_replaced", sa.MetaData(), sa.Column("replaced_at", sa.DateTime(), nullable=False)
)


def safe_url(url: str) -> str:
    """The URL with any password masked, fit for logs and error messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is reported as such by the caller
        return "<unparsable database URL>"


class SourceDatabase:
    """Reads the data contract's tables from `url`; table names are configurable (`SourceTables`)."""

    def __init__(self, url: str, tables: SourceTables | None = None):
        self.url = url
        self.tables = tables or SourceTables()
        self._engine: sa.Engine | None = None
        self._checked_columns: set[str] = set()  # tables whose mapped columns were found (once per instance)

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            try:
                parsed = sa.engine.make_url(self.url)
            except Exception as error:
                raise SourceDataError(f"invalid source database URL {safe_url(self.url)}: {error}") from error
            file_based = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
            if file_based and not Path(parsed.database).exists():
                raise SourceDataError(
                    f"source database {safe_url(self.url)} does not exist: generate data with "
                    "`recsys generate` or load your own with `recsys import-orders`"
                )
            self._engine = sa.create_engine(self.url)
            if parsed.get_backend_name() == "sqlite":
                _transactional_sqlite(self._engine)
        return self._engine

    def quote(self, name: str) -> str:
        """`name` as an identifier in this database's SQL (quoted by its dialect where needed)."""
        return self.engine.dialect.identifier_preparer.quote(name)

    def _require_table(self, table: str) -> str:
        """The quoted name of `table` (an error naming it when the database does not have it)."""
        name = self.tables.name_of(table)
        try:
            present = sa.inspect(self.engine).has_table(name)
        except sa.exc.SQLAlchemyError as error:
            raise SourceDataError(f"cannot connect to source database {safe_url(self.url)}: {error}") from error
        if not present:
            raise SourceDataError(f"source database {safe_url(self.url)} has no table '{name}'")
        if self.tables.columns_of(table) and table not in self._checked_columns:
            self._check_mapped_columns(table)
            self._checked_columns.add(table)
        return self.quote(name)

    def _check_mapped_columns(self, table: str) -> None:
        """An error naming the setting and the column when a mapped column is not in the table."""
        name = self.tables.name_of(table)
        present = [column["name"] for column in sa.inspect(self.engine).get_columns(name)]
        for contract, column in self.tables.columns_of(table).items():
            if column not in present:
                raise SourceDataError(
                    f"source setting {table}_columns maps {contract} to column '{column}', which table '{name}' of "
                    f"{safe_url(self.url)} does not have; its columns: {present}"
                )

    def column(self, table: str, contract: str) -> str:
        """The quoted source column holding `contract` column of `table` (for filters)."""
        return self.quote(self.tables.columns_of(table).get(contract, contract))

    def select_list(self, table: str, columns: Iterable[str]) -> str:
        """`<quoted source column> AS <contract name>` for the mapped ones of `columns`, the others as they are."""
        mapping = self.tables.columns_of(table)
        return ", ".join(
            f"{self.quote(mapping[column])} AS {self.quote(column)}" if column in mapping else self.quote(column)
            for column in columns
        )

    def _every_column(self, table: str) -> str:
        """`*`, or with mapped columns the contract's columns of `table` (conform keeps no others anyway)."""
        return self.select_list(table, TABLE_COLUMNS[table]) if self.tables.columns_of(table) else "*"

    def _as_contract(self, table: str, frame: pd.DataFrame) -> pd.DataFrame:
        """A frame read with `SELECT *` under the contract's column names (mapped source columns renamed; a column
        that carries a contract name another column is mapped to is left out)."""
        mapping = self.tables.columns_of(table)
        if not mapping:
            return frame
        shadowed = [c for c in mapping if c in frame.columns and c not in mapping.values()]
        return frame.drop(columns=shadowed).rename(columns={column: c for c, column in mapping.items()})

    def _read(self, table: str, query: sa.TextClause, params: dict | None = None, arrow: bool = False) -> pd.DataFrame:
        """The rows of `query`, typed by the contract of `table`; with `arrow` (datetime parameters only) through
        the database's ADBC driver when it has one (see arrow_reads), else from the DBAPI cursor."""
        source = f"table '{self.tables.name_of(table)}' of {safe_url(self.url)}"
        fetched = read_arrow(self.engine, query, params) if arrow else None
        if fetched is not None:
            return self._conform(fetched, table, source)
        frames = []
        with self.engine.connect() as connection:
            result = connection.execute(query, params or {})
            columns = list(result.keys())
            # rows straight from the DBAPI cursor (SQLAlchemy's per-row objects cost more than the query), a chunk
            # at a time and typed at once: 10 M lines as Python tuples would take ~5 GB, typed columns ~1 GB
            while rows := result.cursor.fetchmany(READ_CHUNK_ROWS):
                frames.append(self._conform(pd.DataFrame.from_records(rows, columns=columns), table, source))
        if not frames:
            return self._conform(pd.DataFrame(columns=columns), table, source)
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    @staticmethod
    def _conform(frame: pd.DataFrame, table: str, source: str) -> pd.DataFrame:
        try:
            return conform(frame, table, source)
        except SchemaError as error:
            raise SourceDataError(str(error)) from error

    def read_orders(self, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
        """Order lines with start <= order_ts < end."""
        name = self._require_table("orders")
        columns, ts = self.select_list("orders", ORDER_COLUMNS), self.column("orders", "order_ts")
        query = sa.text(f"SELECT {columns} FROM {name} WHERE {ts} >= :start AND {ts} < :end").bindparams(
            sa.bindparam("start", type_=sa.DateTime()), sa.bindparam("end", type_=sa.DateTime())
        )
        frame = self._read("orders", query, {"start": start, "end": end}, arrow=True)
        return frame if len(frame) else empty("orders")

    def read_orders_as_stored(self, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
        """Order lines with start <= order_ts < end as the table holds them: every column it has, and each
        contract column coerced to its dtype only where every value converts (see `schema.conform_lenient`).

        For validation: a frame that breaks the contract is kept as it is, so the validation suite can report
        which columns are missing or mistyped.
        """
        name, ts = self._require_table("orders"), self.column("orders", "order_ts")
        query = sa.text(f"SELECT * FROM {name} WHERE {ts} >= :start AND {ts} < :end").bindparams(
            sa.bindparam("start", type_=sa.DateTime()), sa.bindparam("end", type_=sa.DateTime())
        )
        with self.engine.connect() as connection:
            frame = pd.read_sql_query(query, connection, params={"start": start, "end": end})
        return conform_lenient(self._as_contract("orders", frame), "orders")

    def read_master(self, table: str) -> pd.DataFrame:
        """The whole `products` or `customers` table; an empty table is an error (nothing can be validated)."""
        name = self._require_table(table)
        frame = self._read(table, sa.text(f"SELECT {self._every_column(table)} FROM {name}"), arrow=True)
        if frame.empty:
            shown = self.tables.name_of(table)
            raise SourceDataError(f"table '{shown}' of source database {safe_url(self.url)} is empty")
        return frame

    def read_all(self, table: str) -> pd.DataFrame:
        """A whole table as the contract types it (orders included; may be empty)."""
        name = self._require_table(table)
        return self._read(table, sa.text(f"SELECT {self._every_column(table)} FROM {name}"), arrow=True)

    def read_customer_orders(self, customer_id: str) -> pd.DataFrame:
        """Every order line of one customer (a parameterised query; the id is never put into the SQL text)."""
        name = self._require_table("orders")
        columns, customer = self.select_list("orders", ORDER_COLUMNS), self.column("orders", "customer_id")
        query = sa.text(f"SELECT {columns} FROM {name} WHERE {customer} = :customer_id")
        frame = self._read("orders", query, {"customer_id": str(customer_id)})
        return frame if len(frame) else empty("orders")

    def read_order_lines(self, order_ids: list[str], start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
        """The lines (order_id, line_no, customer_id, product_id, order_ts) of the given orders with
        start <= order_ts < end: one parameterised query (ids and times bound, the table name quoted by SQLAlchemy),
        narrowed by the order_ts index. The model gate looks up the order lines a champion learned from
        (core/lifecycle/order_history.py)."""
        self._require_table("orders")
        orders = sa.table(
            self.tables.name_of("orders"),
            *(sa.column(name) for name in ("order_id", "line_no", "customer_id", "product_id")),
            sa.column("order_ts", sa.DateTime()),
        )
        query = sa.select(*orders.c).where(
            orders.c.order_ts >= start, orders.c.order_ts < end, orders.c.order_id.in_([str(i) for i in order_ids])
        )
        with self.engine.connect() as connection:
            result = connection.execute(query)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def order_time_range(self, until: dt.datetime | None = None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """First and last order_ts, of the lines up to `until` when given (future-dated lines left out)."""
        name, ts = self._require_table("orders"), self.column("orders", "order_ts")
        query = f"SELECT MIN({ts}), MAX({ts}) FROM {name}"
        params = {}
        if until is not None:
            query += f" WHERE {ts} <= :until"
            params = {"until": until}
        statement = sa.text(query).bindparams(*([sa.bindparam("until", type_=sa.DateTime())] if params else []))
        with self.engine.connect() as connection:
            low, high = connection.execute(statement, params).one()
        if low is None:
            return None
        return pd.Timestamp(low), pd.Timestamp(high)

    def read_order_times(self, start: dt.datetime, end: dt.datetime) -> pd.Series:
        """Only the order_ts of the lines with start <= order_ts < end (volume checks read nothing else)."""
        name, ts = self._require_table("orders"), self.column("orders", "order_ts")
        query = sa.text(f"SELECT {ts} FROM {name} WHERE {ts} >= :start AND {ts} < :end").bindparams(
            sa.bindparam("start", type_=sa.DateTime()), sa.bindparam("end", type_=sa.DateTime())
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query, {"start": start, "end": end}).cursor.fetchall()
        return pd.to_datetime(pd.Series([row[0] for row in rows], dtype=object), errors="coerce", format="ISO8601")

    def read_orders_after(self, moment: dt.datetime) -> pd.DataFrame:
        """Order lines dated after `moment` (future-dated lines: no partition holds them)."""
        return self.read_orders(moment + dt.timedelta(microseconds=1), FAR_FUTURE)

    def read_orders_for_checks(
        self, start: dt.datetime, end: dt.datetime
    ) -> tuple[pd.DataFrame, SourceDataError | sa.exc.SQLAlchemyError | None]:
        """Order lines with start <= order_ts < end, typed by the contract; when they break it (a missing or
        mistyped column), as stored, with the error: the blocking validation suite then names the failed
        expectations instead of the read failing before it."""
        try:
            return self.read_orders(start, end), None
        except (SourceDataError, sa.exc.SQLAlchemyError) as error:
            return self.read_orders_as_stored(start, end), error

    def future_dated_lines(self) -> pd.DataFrame:
        """Order lines dated after the real clock (as stored when they break the contract): no partition holds
        them, so the ingest names them."""
        now = pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime()
        try:
            return self.read_orders_after(now)
        except (SourceDataError, sa.exc.SQLAlchemyError):
            return self.read_orders_as_stored(now, FAR_FUTURE)

    @property
    def display_url(self) -> str:
        """The URL with any password masked, fit for logs, metadata and alerts."""
        return safe_url(self.url)

    def write(self, table: str, frame: pd.DataFrame, replace: bool) -> None:
        """Write a contract-conforming frame to `table` (replace it, or append to it), in one transaction."""
        self.write_tables({table: frame}, append=() if replace else (table,))

    def count_rows(self, table: str) -> int:
        """Rows of `table`, 0 when the table does not exist yet."""
        name = self.tables.name_of(table)
        if not sa.inspect(self.engine).has_table(name):
            return 0
        with self.engine.connect() as connection:
            return int(connection.execute(sa.text(f"SELECT COUNT(*) FROM {self.quote(name)}")).scalar_one())

    def write_tables(
        self, frames: Mapping[str, TableData], append: tuple[str, ...] = (), new_history: bool = False
    ) -> None:
        """Replace (or, for the tables in `append`, extend) several tables in ONE transaction; with `new_history`
        (`import-orders` without --append, `generate`) also record that the orders now hold another order history
        (`orders_replaced_at`).

        Each replaced table is written to a staging table first, then the old one is dropped and the staging
        table renamed: a failure or a kill at any point leaves every table as it was (leftover staging tables of
        a killed import are dropped by the next one). The indexes the product's queries need are (re)created.

        A table's data is a DataFrame, an iterable of DataFrames written one after the other into the same
        staging table (one chunk in memory at a time; an error raised by the iterable rolls everything back),
        or a callable returning either, called when the tables before it are written (the generator's master
        tables are drawn after its order lines, see `GeneratedStream.tables`). Tables are written in the
        mapping's order.
        """
        with self.engine.begin() as connection:
            for table, data in frames.items():
                name = self.tables.name_of(table)
                staging = f"{name}__staging"
                quoted, quoted_staging = self.quote(name), self.quote(staging)
                connection.execute(sa.text(f"DROP TABLE IF EXISTS {quoted_staging}"))
                exists = sa.inspect(connection).has_table(name)
                extend = table in append and exists
                target = name if extend else staging
                written = 0
                for frame in _frames_of(data):
                    _insert(connection, target, frame, create=not (extend or written))
                    written += 1
                if not extend:
                    if not written:
                        raise ValueError(f"no data frame given for table '{name}': nothing to replace it with")
                    if exists:
                        connection.execute(sa.text(f"DROP TABLE {quoted}"))
                    failpoint("import.swap")  # staging written, old table dropped, nothing committed yet
                    connection.execute(sa.text(f"ALTER TABLE {quoted_staging} RENAME TO {quoted}"))
                for column in INDEXED_COLUMNS[table]:
                    index = self.quote(f"ix_{name}_{column}")
                    connection.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {index} ON {quoted} ({column})"))
                failpoint("import.table")  # this table swapped (the n-th hit: the n-th table), nothing committed
            if new_history:
                ORDERS_REPLACED.create(connection, checkfirst=True)
                now = pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime()
                connection.execute(ORDERS_REPLACED.insert().values(replaced_at=now))

    def orders_replaced_at(self) -> pd.Timestamp | None:
        """When the orders were last replaced as a whole (UTC), or None when nothing here ever replaced them."""
        if not sa.inspect(self.engine).has_table(ORDERS_REPLACED.name):
            return None
        with self.engine.connect() as connection:
            value = connection.execute(sa.select(sa.func.max(ORDERS_REPLACED.c.replaced_at))).scalar_one()
        return None if value is None else pd.Timestamp(value).tz_localize("UTC")


# a table's data for `write_tables`: a frame, frames in chunks, or a callable giving either when its turn comes
TableData = pd.DataFrame | Iterable[pd.DataFrame] | Callable[[], "pd.DataFrame | Iterable[pd.DataFrame]"]


def _frames_of(data: TableData) -> Iterator[pd.DataFrame]:
    if callable(data):
        data = data()
    if isinstance(data, pd.DataFrame):
        yield data
    else:
        yield from data


INSERT_ROWS = 50_000  # rows converted and sent per executemany: bounds the Python objects of a large frame


def _insert(connection: sa.Connection, name: str, frame: pd.DataFrame, create: bool) -> None:
    """Write `frame` into table `name` (first (re)created from the frame's columns and types when `create`).

    On SQLite the rows go straight to the DBAPI cursor, `INSERT_ROWS` at a time, with every value as SQLAlchemy
    binds it for the column pandas creates (DATETIME as ``YYYY-MM-DD HH:MM:SS.ffffff`` text, booleans as 0/1,
    missing values as NULL): the same table as pandas' `to_sql` writes, several times faster than SQLAlchemy's
    per-row parameter processing. Elsewhere, and for column types this path does not cover, `to_sql`.
    """
    if connection.dialect.name != "sqlite" or not all(_plain_column(frame[column]) for column in frame.columns):
        mode = "replace" if create else "append"
        frame.to_sql(name, connection, if_exists=mode, index=False, chunksize=INSERT_ROWS)
        return
    quoted = connection.dialect.identifier_preparer.quote_identifier(name)
    if create:
        connection.execute(sa.text(f"DROP TABLE IF EXISTS {quoted}"))
        connection.exec_driver_sql(pd.io.sql.get_schema(frame, name, con=connection))
    columns = ", ".join(f'"{column}"' for column in frame.columns)
    insert = f"INSERT INTO {quoted} ({columns}) VALUES ({', '.join('?' for _ in frame.columns)})"
    for start in range(0, len(frame), INSERT_ROWS):
        part = frame.iloc[start : start + INSERT_ROWS]
        rows = list(zip(*(_sqlite_values(part[column]) for column in part.columns), strict=True))
        connection.exec_driver_sql(insert, rows)


def _plain_column(series: pd.Series) -> bool:
    """Columns `_sqlite_values` binds as SQLAlchemy would: numbers, booleans, text, naive datetime64."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):
        return True
    if not isinstance(dtype, np.dtype):
        return False
    if dtype.kind == "O":  # text only: pandas types other objects (dates, decimals, ...) and SQLAlchemy binds them
        return pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty")
    return dtype.kind in "biuf" or (dtype.kind == "M" and np.datetime_data(dtype)[0] in ("s", "ms", "us", "ns"))


def _sqlite_values(series: pd.Series) -> np.ndarray:
    """The values of `series` as SQLAlchemy's SQLite dialect binds them for the type pandas gives the column."""
    if series.dtype.kind == "M":
        stamps = series.to_numpy(dtype="datetime64[us]")  # sub-microsecond digits dropped, as to_pydatetime does
        text = np.datetime_as_string(stamps, unit="us")  # 2026-06-01T10:00:00.000000
        characters = text.view(np.uint32).reshape(len(text), -1)
        characters[:, 10] = ord(" ")  # SQLAlchemy's DATETIME storage format has a space, not a T
        values = text.astype(object)
        values[np.isnat(stamps)] = None
        return values
    if series.dtype.kind == "b":
        return series.to_numpy(dtype=np.int64).astype(object)  # SQLAlchemy's Boolean binds 0 / 1
    values = series.to_numpy(dtype=object)
    values[pd.isna(values)] = None
    return values


# the columns the product queries by: order lines by time window (partitions) and by customer (review page)
INDEXED_COLUMNS = {"orders": ("order_ts", "customer_id"), "products": ("product_id",), "customers": ("customer_id",)}


def _transactional_sqlite(engine: sa.Engine) -> None:
    """Make SQLite DDL part of the transaction (pysqlite only begins one before DML by default), so a replaced
    table and its data are committed together or not at all (SQLAlchemy's documented recipe)."""

    @sa.event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN")


def create_sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def open_for_writing(url: str, tables: SourceTables | None = None) -> SourceDatabase:
    """A SourceDatabase whose (SQLite) file may not exist yet: it is created on the first write."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        Path(parsed.database).touch()
    return SourceDatabase(url, tables)


def split_by_day(frame: pd.DataFrame, partition_keys: list[str]) -> dict[str, pd.DataFrame]:
    """Order lines grouped by their UTC day (`YYYY-MM-DD`); lines whose order_ts is missing or unreadable go to
    the first of `partition_keys`, so they are validated rather than lost."""
    if "order_ts" in frame.columns and pd.api.types.is_datetime64_any_dtype(frame["order_ts"]):
        stamps = frame["order_ts"]
    else:
        stamps = frame["order_ts"] if "order_ts" in frame.columns else pd.Series(pd.NaT, index=frame.index)
        stamps = pd.to_datetime(stamps, errors="coerce", utc=True, format="mixed")
    # group on the day timestamp and format only the group keys: strftime per line is slow at a million lines
    days = stamps.dt.normalize()
    day = days.map({d: d.strftime("%Y-%m-%d") for d in days.dropna().unique()})
    day = day.fillna(partition_keys[0]) if partition_keys else day
    return {key: part.reset_index(drop=True) for key, part in frame.groupby(day, sort=False)}
