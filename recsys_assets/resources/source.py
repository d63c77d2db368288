"""The `source` resource: the orders database (any SQLAlchemy URL) and the names of its three tables."""

from dagster import ConfigurableResource
from pydantic import ValidationInfo, field_validator

from ..core.stores.source_db import (
    SourceDatabase,
    SourceDataError,
    SourceTables,
    check_column_mapping,
    check_table_name,
    safe_url,
)


class SourceDatabaseResource(ConfigurableResource):
    """The orders database (any SQLAlchemy URL) and the names of its three tables."""

    url: str
    orders_table: str = "orders"
    products_table: str = "products"
    customers_table: str = "customers"
    # the shop's own column names, read without a view: contract column -> the table's column, e.g.
    # orders_columns = {"order_id": "Belegnummer", "order_ts": "Belegdatum"}; columns left out keep the contract's name
    orders_columns: dict[str, str] = {}
    products_columns: dict[str, str] = {}
    customers_columns: dict[str, str] = {}

    @field_validator("orders_table", "products_table", "customers_table")
    @classmethod
    def _plain_table_name(cls, name: str, info: ValidationInfo) -> str:
        # refused when the resource is configured (the launchpad, a run's config), before any step runs
        try:
            return check_table_name(name, info.field_name)
        except SourceDataError as error:
            raise ValueError(str(error)) from error

    @field_validator("orders_columns", "products_columns", "customers_columns")
    @classmethod
    def _known_columns(cls, mapping: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        try:
            return check_column_mapping(mapping, info.field_name.removesuffix("_columns"))
        except SourceDataError as error:
            raise ValueError(str(error)) from error

    def database(self) -> SourceDatabase:
        tables = SourceTables(
            self.orders_table,
            self.products_table,
            self.customers_table,
            orders_columns=self.orders_columns,
            products_columns=self.products_columns,
            customers_columns=self.customers_columns,
        )
        return SourceDatabase(self.url, tables)

    def display_url(self) -> str:
        return safe_url(self.url)
