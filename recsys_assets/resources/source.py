"""The `source` resource: the orders database (any SQLAlchemy URL) and the names of its three tables."""

from dagster import ConfigurableResource

from ..core.stores.source_db import SourceDatabase, SourceTables, safe_url


class SourceDatabaseResource(ConfigurableResource):
    """The orders database (any SQLAlchemy URL) and the names of its three tables."""

    url: str
    orders_table: str = "orders"
    products_table: str = "products"
    customers_table: str = "customers"

    def database(self) -> SourceDatabase:
        return SourceDatabase(self.url, SourceTables(self.orders_table, self.products_table, self.customers_table))

    def display_url(self) -> str:
        return safe_url(self.url)
