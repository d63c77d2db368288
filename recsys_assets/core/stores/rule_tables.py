"""The business rules' tables in the source database: read them (each one optional) and replace them (import)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import sqlalchemy as sa

from ..data.schema import SchemaError
from ..rules.rule_data import RULE_TABLES, ListRuleSettings, RuleTables, conform_rule_table, load_list_settings
from .source_db import SourceDatabase, SourceDataError, safe_url


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
