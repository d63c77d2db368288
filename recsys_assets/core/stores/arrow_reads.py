"""Arrow-native reads of the source database through ADBC drivers (SQLite and PostgreSQL).

The DBAPI path turns every value into a Python object before pandas types it again: at 1 M order lines the fetch
and the typing took 2.2 s, ADBC hands over typed Arrow columns in 0.7 s (benchmarks/RESULTS.md). Databases without
an ADBC driver here (Azure SQL, ...) keep the DBAPI path, and so does any read the driver cannot type (SQLite columns
whose stored types change from row to row): `read_arrow` then returns None and the caller reads as before.

Only statements with datetime or no parameters come here: their values are rendered into the SQL text by
SQLAlchemy's dialect (`literal_binds`), which is safe for timestamps but would be a needless risk for ids typed by
users, so those reads stay parameterised on the DBAPI path.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from ..data.schema import TEXT_DTYPE

ARROW_TEXT = {pa.string(): TEXT_DTYPE, pa.large_string(): TEXT_DTYPE}


def _connect(url: sa.URL):
    """An ADBC connection to `url`, or None when this database has no ADBC driver here."""
    backend = url.get_backend_name()
    if backend == "sqlite" and url.database not in (None, "", ":memory:"):
        import adbc_driver_sqlite.dbapi as sqlite

        return sqlite.connect(url.database)
    if backend == "postgresql":
        import adbc_driver_postgresql.dbapi as postgresql

        # libpq's URI: the same host, port, credentials, database and options, without SQLAlchemy's driver name
        return postgresql.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    return None


def read_arrow(engine: sa.Engine, statement: sa.TextClause, params: dict | None = None) -> pd.DataFrame | None:
    """The rows of `statement` as a DataFrame with Arrow-backed text, or None when ADBC cannot read them."""
    params = params or {}
    if any(not isinstance(value, dt.datetime) for value in params.values()):
        raise ValueError("read_arrow renders parameters into the SQL text: only datetimes are accepted")
    sql = str(statement.bindparams(**params).compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    try:
        connection = _connect(engine.url)
        if connection is None:
            return None
        with connection, connection.cursor() as cursor:
            cursor.execute(sql)
            table = cursor.fetch_arrow_table()
    except Exception:  # noqa: BLE001 — no driver, or values it cannot type: the DBAPI path reads (and names) them
        return None
    return table.to_pandas(types_mapper=ARROW_TEXT.get)
