"""Load a user's own orders (and optionally products and customers) from CSV or Parquet files.

CSV files are read as ERP systems write them (`erp_csv`: delimiter, decimal mark, encoding and date order
detected unless given). Every file is read and checked against the data contract first; only then are the
tables replaced, all in one transaction, so a bad file or a killed import leaves the database as it was. An
orders file without a single line is refused unless explicitly allowed: it would wipe the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..data.schema import SchemaError, conform
from .erp_csv import CsvDialect, read_erp_csv
from .source_db import SourceDatabase

PARQUET = (".parquet", ".pq")


@dataclass
class ImportSummary:
    """What an import wrote and replaced, and how the files were read."""

    written: dict[str, int]
    replaced_lines: int  # order lines that were in the table before (0 when appending)
    first_order: pd.Timestamp | None
    last_order: pd.Timestamp | None
    read_as: dict[str, str] = field(default_factory=dict)  # file -> dialect description

    def lines(self) -> list[str]:
        orders = self.written["orders"]
        span = f" ({self.first_order.date()} to {self.last_order.date()})" if self.first_order is not None else ""
        replaced = f"replacing {self.replaced_lines} existing line(s)" if self.replaced_lines >= 0 else "appended"
        master = ", ".join(f"{n} {t}" for t, n in self.written.items() if t != "orders")
        out = [f"{orders} order lines{span}, {replaced}" + (f"; {master}" if master else "")]
        out += [f"read {name} as {how}" for name, how in self.read_as.items()]
        return out


def read_table_file(path: str | Path, table: str, dialect: CsvDialect | None = None) -> tuple[pd.DataFrame, str]:
    """Read `path` (CSV or Parquet, by extension) and conform it to the contract of `table`; returns the frame
    and how the file was read.

    Raises SchemaError naming the file, the column and the offending lines.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".txt", *PARQUET):
        raise SchemaError(f"{path}: unsupported file type '{path.suffix}'; use .csv or .parquet")
    if not path.exists():
        raise SchemaError(f"{path}: file not found")
    try:
        if suffix in PARQUET:
            frame, how, first_line = pd.read_parquet(path), "Parquet", 1
        else:
            frame, used = read_erp_csv(path, dialect or CsvDialect())
            how, first_line = used.describe(), 2  # line 1 is the header
    except SchemaError:
        raise
    except Exception as error:
        raise SchemaError(f"{path}: cannot read as {suffix[1:]}: {error}") from error
    return conform(frame, table, f"file {path}", first_line=first_line), how


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
    allow_empty: bool = False,
    dialect: CsvDialect | None = None,
) -> ImportSummary:
    """Validate every file first, then write them to `database` in one transaction.

    Without a products or customers file the table is derived from the order ids (every id known), unless
    appending, when the existing master data stays. An orders file with no line is refused (it would replace the
    whole history with nothing) unless `allow_empty`.
    """
    read_as = {}
    orders, read_as[Path(orders_path).name] = read_table_file(orders_path, "orders", dialect)
    replaced = -1 if append else database.count_rows("orders")
    if orders.empty and not allow_empty:
        effect = f"replace the {replaced} order lines in the database with nothing" if replaced > 0 else "empty it"
        raise SchemaError(
            f"file {orders_path} holds no order line; importing it would {effect}. "
            "Check the file, or pass --allow-empty to import it anyway"
        )
    frames = {"orders": orders}
    for table, path in (("products", products_path), ("customers", customers_path)):
        if path:
            frames[table], read_as[Path(path).name] = read_table_file(path, table, dialect)
    if not append:
        derived_products, derived_customers = derive_master_data(orders)
        frames.setdefault("products", derived_products)
        frames.setdefault("customers", derived_customers)
    database.write_tables(frames, append=("orders",) if append else (), new_history=not append)
    stamps = orders["order_ts"].dropna()
    return ImportSummary(
        written={table: len(frame) for table, frame in frames.items()},
        replaced_lines=replaced,
        first_order=stamps.min() if len(stamps) else None,
        last_order=stamps.max() if len(stamps) else None,
        read_as=read_as,
    )
