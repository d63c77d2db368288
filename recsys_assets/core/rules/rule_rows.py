"""The rule tables as one long frame, the shape the `business_rules_suite` validates (one row per table row, the
columns every table shares, plus what a row must name)."""

from __future__ import annotations

import pandas as pd

from .rule_data import RULE_OF_TABLE, RuleTables

ROW_COLUMNS = ("customer_id", "segment", "category", "product_id", "campaign_id", "available", "share",
               "start_date", "end_date")  # fmt: skip


def rule_rows(tables: RuleTables) -> pd.DataFrame:
    """Every row of every rule table: `table`, `row` (1-based, per table), the shared columns (empty where a table
    has no such column), `names_owner` (an assortment or block names a customer or a segment) and `allows_something`
    (an assortment row names a category or a product); both True for the other tables."""
    parts = []
    for table in RULE_OF_TABLE:
        frame = tables.table(table)
        if frame is None or frame.empty:
            continue
        part = pd.DataFrame({"table": table, "row": range(1, len(frame) + 1)})
        for column in ROW_COLUMNS:
            # object columns throughout: the tables' typed columns meet empty ones in the concatenation below
            values = frame[column].to_numpy(dtype=object) if column in frame.columns else [None] * len(frame)
            part[column] = pd.Series(values, dtype=object)
        owned = table in ("assortments", "blocked_products")
        part["names_owner"] = (frame["customer_id"].notna() | frame["segment"].notna()).to_numpy() if owned else True
        allows = table != "assortments" or None
        part["allows_something"] = (
            (frame["category"].notna() | frame["product_id"].notna()).to_numpy() if allows is None else True
        )
        parts.append(part)
    if not parts:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in ("table", "row", *ROW_COLUMNS)}).assign(
            names_owner=pd.Series(dtype=bool), allows_something=pd.Series(dtype=bool)
        )
    rows = pd.concat(parts, ignore_index=True)
    for column in ("available", "share"):
        rows[column] = pd.to_numeric(rows[column]).astype("float64")
    for column in ("start_date", "end_date"):
        rows[column] = pd.to_datetime(rows[column]).astype("datetime64[ns]")
    for column in ("customer_id", "segment", "category", "product_id", "campaign_id"):
        rows[column] = rows[column].astype(object).where(rows[column].notna(), None)
    return rows
