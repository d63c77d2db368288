"""The source data contract (DESIGN §3): table and column names, and the dtype each column must have.

Every reader (source database, CSV/Parquet import) coerces frames through `conform`, so a missing or
mistyped column fails with one error naming the column and where it came from.
"""

from __future__ import annotations

import contextlib

import pandas as pd

ORDER_COLUMNS: dict[str, str] = {
    "order_id": "string",
    "line_no": "int64",
    "order_ts": "datetime64[ns]",
    "customer_id": "string",
    "product_id": "string",
    "quantity": "float64",
    "unit_price": "float64",
    "currency": "string",
    "order_status": "string",
}
PRODUCT_COLUMNS: dict[str, str] = {
    "product_id": "string",
    "name": "string",
    "category": "string",
    "brand": "string",
    "active": "bool",
}
CUSTOMER_COLUMNS: dict[str, str] = {
    "customer_id": "string",
    "name": "string",
    "segment": "string",
    "region": "string",
}
TABLE_COLUMNS: dict[str, dict[str, str]] = {
    "orders": ORDER_COLUMNS,
    "products": PRODUCT_COLUMNS,
    "customers": CUSTOMER_COLUMNS,
}
CANCELLED_STATUS = "cancelled"
# text columns are Arrow-backed: hashing, isin, strip and group-by on ids run in C++, not per Python object
TEXT_DTYPE = pd.StringDtype("pyarrow")


class SchemaError(ValueError):
    """A frame does not match the data contract; the message names the column and the source."""


def _coerce(series: pd.Series, dtype: str, column: str, source: str) -> pd.Series:
    if dtype == "string":
        return series.astype(TEXT_DTYPE)
    if dtype.startswith("datetime"):
        if pd.api.types.is_datetime64_any_dtype(series):
            converted = series
        else:
            # offsets are converted to UTC; timestamps without an offset are taken as UTC. ISO 8601 text is
            # parsed vectorised; only values it cannot read go through the slow per-value "mixed" parser.
            converted = pd.to_datetime(series, errors="coerce", format="ISO8601", utc=True)
            retry = converted.isna() & series.notna()
            if retry.any():
                converted[retry] = pd.to_datetime(series[retry], errors="coerce", format="mixed", utc=True)
        if getattr(converted.dt, "tz", None) is not None:
            converted = converted.dt.tz_convert("UTC").dt.tz_localize(None)
        bad = converted.isna() & series.notna()
        _raise_if_bad(series, bad, column, source, "a timestamp")
        return converted.astype("datetime64[ns]")
    if dtype == "bool":
        if pd.api.types.is_bool_dtype(series):
            return series.astype(bool)
        mapped = series.map(lambda v: {"true": True, "1": True, "false": False, "0": False}.get(str(v).strip().lower()))
        _raise_if_bad(series, mapped.isna(), column, source, "a boolean (true/false/1/0)")
        return mapped.astype(bool)
    converted = pd.to_numeric(series, errors="coerce")
    _raise_if_bad(series, converted.isna() & series.notna(), column, source, "a number")
    if dtype == "int64":
        if converted.isna().any():
            raise SchemaError(f"{source}: column '{column}' has empty values; it must be an integer")
        if (converted != converted.round()).any():
            raise SchemaError(f"{source}: column '{column}' has fractional values; it must be an integer")
        return converted.astype("int64")
    return converted.astype(dtype)


def _raise_if_bad(series: pd.Series, bad: pd.Series, column: str, source: str, expected: str) -> None:
    if bad.any():
        sample = series[bad].astype(str).unique()[:5].tolist()
        raise SchemaError(
            f"{source}: column '{column}' must hold {expected}; {int(bad.sum())} value(s) do not, e.g. {sample}"
        )


def conform(frame: pd.DataFrame, table: str, source: str) -> pd.DataFrame:
    """Return `frame` with exactly the contract's columns of `table`, in order, with the contract's dtypes.

    Extra columns are dropped. Raises `SchemaError` naming `source` and the first missing or mistyped column.
    """
    columns = TABLE_COLUMNS[table]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{source}: missing column(s) {missing} for table '{table}'; expected columns {list(columns)}"
        )
    return pd.DataFrame(
        {c: _coerce(frame[c], dtype, c, source) for c, dtype in columns.items()}, index=frame.index
    ).reset_index(drop=True)


def conform_lenient(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Coerce each contract column of `table` that `frame` has and that converts cleanly; keep the rest as stored.

    Missing columns stay missing and columns that do not convert keep their stored values and dtype, so a
    validation suite sees (and can report) exactly what breaks the contract. Extra columns are kept.
    """
    result = frame.reset_index(drop=True).copy()
    for column, dtype in TABLE_COLUMNS[table].items():
        if column in result.columns:
            with contextlib.suppress(SchemaError, ValueError, TypeError):  # kept as stored, for the suite to report
                result[column] = _coerce(result[column], dtype, column, "lenient")
    return result


def empty(table: str) -> pd.DataFrame:
    """An empty frame with the contract's columns and dtypes of `table`."""
    return pd.DataFrame(
        {c: pd.Series(dtype=TEXT_DTYPE if d == "string" else d) for c, d in TABLE_COLUMNS[table].items()}
    )
