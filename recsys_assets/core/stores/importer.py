"""Load a user's own orders (and optionally products and customers) from CSV or Parquet files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..data.schema import SchemaError, conform
from .source_db import SourceDatabase

READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}


def read_table_file(path: str | Path, table: str) -> pd.DataFrame:
    """Read `path` (CSV or Parquet, by extension) and conform it to the contract of `table`.

    Raises SchemaError naming the file and the missing or mistyped column.
    """
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise SchemaError(f"{path}: unsupported file type '{path.suffix}'; use .csv or .parquet")
    if not path.exists():
        raise SchemaError(f"{path}: file not found")
    kwargs = {"dtype": {"order_id": str, "customer_id": str, "product_id": str}} if reader is pd.read_csv else {}
    try:
        frame = reader(path, **kwargs)
    except Exception as error:
        raise SchemaError(f"{path}: cannot read as {path.suffix[1:]}: {error}") from error
    return conform(frame, table, f"file {path}")


def derive_master_data(orders: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Minimal products and customers tables from the ids seen in `orders`, for users without master data."""
    product_ids = pd.Series(orders["product_id"].dropna().unique(), dtype="string")
    customer_ids = pd.Series(orders["customer_id"].dropna().unique(), dtype="string")
    products = pd.DataFrame(
        {"product_id": product_ids, "name": product_ids, "category": "unknown", "brand": "unknown", "active": True}
    )
    customers = pd.DataFrame(
        {"customer_id": customer_ids, "name": customer_ids, "segment": "unknown", "region": "unknown"}
    )
    return conform(products, "products", "derived products"), conform(customers, "customers", "derived customers")


def import_files(
    database: SourceDatabase,
    orders_path: str | Path,
    products_path: str | Path | None = None,
    customers_path: str | Path | None = None,
    append: bool = False,
) -> dict[str, int]:
    """Validate every file first, then write them to `database`; returns rows written per table.

    Without a products or customers file the table is derived from the order ids (every id known), unless
    appending, when the existing master data stays.
    """
    orders = read_table_file(orders_path, "orders")
    products = read_table_file(products_path, "products") if products_path else None
    customers = read_table_file(customers_path, "customers") if customers_path else None
    if not append:
        derived_products, derived_customers = derive_master_data(orders)
        products = products if products is not None else derived_products
        customers = customers if customers is not None else derived_customers
    written = {"orders": len(orders)}
    database.write("orders", orders, replace=not append)
    for table, frame in (("products", products), ("customers", customers)):
        if frame is not None:
            database.write(table, frame, replace=True)
            written[table] = len(frame)
    return written
