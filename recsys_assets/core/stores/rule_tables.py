"""The business rules' tables in the source database: read them (each one optional) and replace them (import)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from ..data.schema import SchemaError
from ..rules.rule_data import RULE_TABLES, ListRuleSettings, RuleTables, conform_rule_table, load_list_settings
from .erp_csv import CsvDialect, normalise_values, read_csv_text
from .source_db import SourceDatabase, SourceDataError, safe_url

# present while the rule tables are the generator's (`generate --realistic`), not the shop's own
GENERATED_RULES = sa.Table("recsys_generated_rules", sa.MetaData(), sa.Column("written", sa.Boolean()))


def read_rule_tables(database: SourceDatabase, settings: ListRuleSettings | None = None) -> RuleTables:
    """Every rule table the source database has (an absent table is None: no rule), typed; with the list
    settings (default: the settings file). A table that breaks its columns is a SourceDataError naming it."""
    engine = database.engine
    try:
        names = set(sa.inspect(engine).get_table_names())
    except sa.exc.SQLAlchemyError as error:
        raise SourceDataError(f"cannot connect to source database {safe_url(database.url)}: {error}") from error
    frames = {}
    for table in RULE_TABLES:
        if table not in names:
            frames[table] = None
            continue
        with engine.connect() as connection:
            raw = pd.read_sql_query(sa.text(f"SELECT * FROM {database.quote(table)}"), connection)
        try:
            frames[table] = conform_rule_table(raw, table, f"table '{table}' of {safe_url(database.url)}")
        except SchemaError as error:
            raise SourceDataError(str(error)) from error
    return RuleTables(**frames, settings=settings or load_list_settings())


def write_rule_tables(database: SourceDatabase, frames: Mapping[str, pd.DataFrame]) -> dict[str, int]:
    """Replace the given rule tables (conformed first: nothing is written when one is refused) in one transaction;
    returns the rows written per table."""
    conformed = {table: conform_rule_table(frame, table, f"rule table '{table}'") for table, frame in frames.items()}
    with database.engine.begin() as connection:
        for table, frame in conformed.items():
            frame.to_sql(table, connection, if_exists="replace", index=False)
    return {table: len(frame) for table, frame in conformed.items()}


def read_rule_csv(path: Path, table: str, given: CsvDialect) -> tuple[pd.DataFrame, CsvDialect]:
    """A rule table from a CSV file as ERP systems export it (';' or ',', decimal commas, latin-1, day-first
    dates: detected unless given, as `import-orders` reads orders), conformed to the table's columns."""
    frame, dialect = read_csv_text(path, given)
    numeric = tuple(c for c, dtype in RULE_TABLES[table].items() if dtype == "float64")
    dates = tuple(c for c, dtype in RULE_TABLES[table].items() if dtype.startswith("datetime"))
    frame, dialect = normalise_values(frame, dialect, numeric=numeric, dates=dates)
    return conform_rule_table(frame, table, str(path)), dialect


def write_generated_rules(database: SourceDatabase, as_of: dt.date, seed: int) -> dict[str, int]:
    """Plausible rule tables for the generated shop in `database` (core/data/rule_generator.py), from its master
    data and two order aggregates computed by the database; returns the rows written per table."""
    from ..data.rule_generator import generate_rule_tables

    products, customers = database.read_master("products"), database.read_master("customers")
    orders, product_table = database.quote(database.tables.orders), database.quote(database.tables.products)
    customer_table = database.quote(database.tables.customers)
    with database.engine.connect() as connection:
        per_product = pd.read_sql_query(
            sa.text(f"SELECT product_id, COUNT(*) AS lines FROM {orders} GROUP BY product_id"), connection
        )
        per_segment_category = pd.read_sql_query(
            sa.text(
                f"SELECT c.segment AS segment, p.category AS category, COUNT(*) AS lines FROM {orders} o "
                f"JOIN {customer_table} c ON c.customer_id = o.customer_id "
                f"JOIN {product_table} p ON p.product_id = o.product_id GROUP BY c.segment, p.category"
            ),
            connection,
        )
    lines = per_product.set_index(per_product["product_id"].astype(str))["lines"]
    tables = generate_rule_tables(products, customers, lines, per_segment_category, as_of, seed)
    written = write_rule_tables(database, tables)
    with database.engine.begin() as connection:  # so that importing a shop's own orders forgets them
        GENERATED_RULES.create(connection, checkfirst=True)
    return written


def drop_rule_tables(database: SourceDatabase, generated_only: bool = False) -> list[str]:
    """Drop every rule table of `database` (a generated shop replaces the previous one, whose rules name products
    and customers it no longer has); with `generated_only`, only when the generator wrote them (an import of the
    shop's own orders forgets the practice shop's rules, never rules of its own). Returns the tables dropped."""
    present = set(sa.inspect(database.engine).get_table_names())
    if generated_only and GENERATED_RULES.name not in present:
        return []
    dropped = [table for table in RULE_TABLES if table in present]
    with database.engine.begin() as connection:
        for table in [*dropped, GENERATED_RULES.name]:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {database.quote(table)}"))
    return dropped


def forget_generated_marker(database: SourceDatabase) -> None:
    """The rule tables are the shop's own now (`import-rules`): no import of orders drops them."""
    with database.engine.begin() as connection:
        connection.execute(sa.text(f"DROP TABLE IF EXISTS {database.quote(GENERATED_RULES.name)}"))
