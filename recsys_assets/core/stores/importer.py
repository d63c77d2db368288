"""Load a user's own orders (and optionally products and customers) from CSV or Parquet files.

CSV files are read as ERP systems write them (`erp_csv`: delimiter, decimal mark, encoding and date order
detected unless given; what the values cannot decide is refused). The orders file's columns may carry the ERP's
names (`column_mapping`: stated, recognised or derived; guesses confirmed by the user). Every file is read and
checked against the data contract first, implausible dates included; only then are the tables replaced, all in one
transaction, so a bad file or a killed import leaves the database as it was. An orders file without a single line
is refused unless explicitly allowed: it would wipe the history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.implausible_dates import implausible_dates
from ..data.schema import ORDER_COLUMNS, SchemaError, conform
from .column_mapping import ColumnMapping, ResolvedMapping, resolve_mapping
from .erp_csv import CsvDialect, normalise_values, read_csv_text
from .source_db import SourceDatabase


class MappingNotConfirmed(SchemaError):
    """The orders file needs a column mapping with guesses the user has not confirmed; the message shows it."""

    def __init__(self, message: str, mapping: ResolvedMapping):
        super().__init__(message)
        self.mapping = mapping


PARQUET = (".parquet", ".pq")


@dataclass
class ImportSummary:
    """What an import wrote and replaced, and how the files were read."""

    written: dict[str, int]
    replaced_lines: int  # order lines that were in the table before (0 when appending)
    first_order: pd.Timestamp | None
    last_order: pd.Timestamp | None
    read_as: dict[str, str] = field(default_factory=dict)  # file -> dialect description
    mapping: list[str] = field(default_factory=list)  # how the orders file's columns were mapped, when they were
    quarantined: list[str] = field(default_factory=list)  # lines left out for implausible dates

    def lines(self) -> list[str]:
        orders = self.written["orders"]
        span = f" ({self.first_order.date()} to {self.last_order.date()})" if self.first_order is not None else ""
        replaced = f"replacing {self.replaced_lines} existing line(s)" if self.replaced_lines >= 0 else "appended"
        master = ", ".join(f"{n} {t}" for t, n in self.written.items() if t != "orders")
        out = [f"{orders} order lines{span}, {replaced}" + (f"; {master}" if master else "")]
        out += [f"read {name} as {how}" for name, how in self.read_as.items()]
        if self.mapping:
            out += ["columns mapped:", *(f"    {line}" for line in self.mapping)]
        if self.quarantined:
            shown = ", ".join(self.quarantined[:5])
            out.append(f"quarantined {len(self.quarantined)} line(s) with implausible dates (not imported): {shown}")
        return out


def read_table_file(path: str | Path, table: str, dialect: CsvDialect | None = None) -> tuple[pd.DataFrame, str]:
    """Read `path` (CSV or Parquet, by extension) and conform it to the contract of `table`; returns the frame
    and how the file was read.

    Raises SchemaError naming the file, the column and the offending lines.
    """
    frame, dialect, first_line = _read_raw(path, dialect)
    frame, how = _normalised(path, frame, dialect, first_line)
    return conform(frame, table, f"file {path}", first_line=first_line), how


def _read_raw(path: str | Path, dialect: CsvDialect | None) -> tuple[pd.DataFrame, CsvDialect | None, int]:
    """The file's columns as stored (CSV: text), the CSV dialect (None for Parquet) and the file line of row 0."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".txt", *PARQUET):
        raise SchemaError(f"{path}: unsupported file type '{path.suffix}'; use .csv or .parquet")
    if not path.exists():
        raise SchemaError(f"{path}: file not found")
    try:
        if suffix in PARQUET:
            return pd.read_parquet(path), None, 1
        frame, used = read_csv_text(path, dialect or CsvDialect())
        return frame, used, 2  # line 1 is the header
    except Exception as error:
        raise SchemaError(f"{path}: cannot read as {suffix[1:]}: {error}") from error


def _normalised(
    path: str | Path, frame: pd.DataFrame, dialect: CsvDialect | None, first_line: int
) -> tuple[pd.DataFrame, str]:
    """Numbers and dates held as text normalised (refusing what they cannot decide), and how the file was read."""
    try:
        frame, used = normalise_values(frame, dialect or CsvDialect(), first_line)
    except SchemaError as error:
        raise SchemaError(f"file {path}: {error}") from error
    return frame, "Parquet" if dialect is None else used.describe()


def read_orders_file(
    path: str | Path,
    dialect: CsvDialect | None = None,
    columns: ColumnMapping | None = None,
    confirm: Callable[[ResolvedMapping], bool] | None = None,
    default_currency: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, str, ResolvedMapping]:
    """The orders of `path` in the contract's shape, the extras of its lines (product names, customer regions), how
    it was read and the column mapping used.

    The mapping's guesses (recognised or derived columns the user did not state) are put to `confirm`; without
    it, or when it declines, MappingNotConfirmed shows the mapping and how to accept it."""
    frame, used, first_line = _read_raw(path, dialect)
    try:
        mapping = resolve_mapping(frame, columns or ColumnMapping(), default_currency)
    except SchemaError as error:
        raise SchemaError(f"file {path}: {error}") from error
    if mapping.guesses and (confirm is None or not confirm(mapping)):
        missing = [c for c in ORDER_COLUMNS if c not in frame.columns]
        shown = "\n".join(f"    {line}" for line in mapping.describe())
        raise MappingNotConfirmed(
            f"file {path} lacks the contract column(s) {missing}; it would be read with this mapping:\n{shown}\n"
            "Accept it with --yes, or save it as a file (below), correct it and pass --columns FILE:\n"
            + mapping.as_yaml(),
            mapping,
        )
    orders, extras = mapping.apply(frame)
    orders, how = _normalised(path, orders, used, first_line)
    orders = mapping.finish(conform(orders, "orders", f"file {path}", first_line=first_line))
    return orders, extras.reset_index(drop=True), how, mapping


def check_order_dates(
    orders: pd.DataFrame, path: str | Path, first_line: int, quarantine: bool
) -> tuple[pd.DataFrame, list[str]]:
    """Refuse (SchemaError naming the lines) order dates no history has, or with `quarantine` leave those lines
    out; returns the orders kept and the lines left out."""
    bad, bulk_start = implausible_dates(orders["order_ts"])
    if not bad.any():
        return orders, []
    positions = np.flatnonzero(bad.to_numpy())
    lines = [f"line {first_line + int(p)}: {orders['order_ts'].iloc[p]}" for p in positions]
    if quarantine:
        return orders[~bad.to_numpy()].reset_index(drop=True), lines
    bulk = f"the bulk of the history starts about {bulk_start.date()}" if bulk_start is not None else "no other date"
    raise SchemaError(
        f"file {path}: column 'order_ts' has {len(lines)} implausible date(s) (placeholders before 1980, or far "
        f"before the rest: {bulk}): {', '.join(lines[:5])}. Imported, they would start the daily partitions there. "
        "Correct them in the export, or pass --quarantine-implausible-dates to import the other lines without them"
    )


def derive_master_data(orders: pd.DataFrame, extras: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Minimal products and customers tables from the ids seen in `orders`, for users without master data; product
    names and customer regions from the order lines' `extras` (product_name, customer_region) where they have them
    (the last one given per id), else the id and 'unknown'."""
    product_ids = pd.Series(orders["product_id"].dropna().unique(), dtype="string")
    customer_ids = pd.Series(orders["customer_id"].dropna().unique(), dtype="string")
    names = _last_per_id(extras, "product_id", "product_name", product_ids)
    regions = _last_per_id(extras, "customer_id", "customer_region", customer_ids)
    products = pd.DataFrame(
        {"product_id": product_ids, "name": names.fillna(product_ids), "category": "unknown", "brand": "unknown",
         "active": True}
    )  # fmt: skip
    customers = pd.DataFrame(
        {"customer_id": customer_ids, "name": customer_ids, "segment": "unknown", "region": regions.fillna("unknown")}
    )
    return conform(products, "products", "derived products"), conform(customers, "customers", "derived customers")


def _last_per_id(extras: pd.DataFrame | None, key: str, column: str, ids: pd.Series) -> pd.Series:
    """The last non-empty `column` of each id of `ids` in `extras` (<NA> where none), aligned with `ids`."""
    if extras is None or column not in extras:
        return pd.Series(pd.NA, index=ids.index, dtype="string")
    values = extras[[key, column]].astype("string")
    values[column] = values[column].str.strip().replace("", pd.NA)
    last = values.dropna().drop_duplicates(key, keep="last").set_index(key)[column]
    return pd.Series(ids.map(last).to_numpy(), index=ids.index, dtype="string")


def import_files(
    database: SourceDatabase,
    orders_path: str | Path,
    products_path: str | Path | None = None,
    customers_path: str | Path | None = None,
    append: bool = False,
    allow_empty: bool = False,
    dialect: CsvDialect | None = None,
    columns: ColumnMapping | None = None,
    confirm: Callable[[ResolvedMapping], bool] | None = None,
    default_currency: str | None = None,
    quarantine: bool = False,
) -> ImportSummary:
    """Validate every file first, then write them to `database` in one transaction.

    The orders file's columns are mapped to the contract (`read_orders_file`: `columns` stated, guesses put to
    `confirm`). Implausible order dates are refused, or with `quarantine` left out and counted. Without a products
    or customers file the table is derived from the order ids (names and regions from the order lines when they
    have them), unless appending, when the existing master data stays. An orders file with no line is refused (it
    would replace the whole history with nothing) unless `allow_empty`.
    """
    read_as = {}
    orders, extras, read_as[Path(orders_path).name], mapping = read_orders_file(
        orders_path, dialect, columns, confirm, default_currency
    )
    first_line = 1 if Path(orders_path).suffix.lower() in PARQUET else 2
    orders, quarantined = check_order_dates(orders, orders_path, first_line, quarantine)
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
        derived_products, derived_customers = derive_master_data(orders, extras)
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
        # a confirmed mapping was shown when it was confirmed; a stated one is shown here
        mapping=[] if mapping.is_identity() or mapping.guesses else mapping.describe(),
        quarantined=quarantined,
    )
