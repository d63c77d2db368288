"""The `source` resource: the orders database (any SQLAlchemy URL) and the names of its three tables."""

from dagster import ConfigurableResource
from pydantic import ValidationInfo, field_validator

from ..core.stores.source_db import SourceDatabase, SourceDataError, SourceTables, check_table_name, safe_url


class SourceDatabaseResource(ConfigurableResource):
    """The orders database (any SQLAlchemy URL) and the names of its three tables."""

    url: str
    orders_table: str = "orders"
    products_table: str = "products"
    customers_table: str = "customers"

    @field_validator("orders_table", "products_table", "customers_table")
    @classmethod
    def _plain_table_name(cls, name: str, info: ValidationInfo) -> str:
        # refused when the resource is configured (the launchpad, a run's config), before any step runs
        try:
            return check_table_name(name, info.field_name)
        except SourceDataError as error:
            raise ValueError(str(error)) from error

    def database(self) -> SourceDatabase:
        return SourceDatabase(self.url, SourceTables(self.orders_table, self.products_table, self.customers_table))

    def display_url(self) -> str:
        return safe_url(self.url)
