"""The source data contract (DESIGN §3): table and column names, and the dtype each column must have.

Every reader (source database, CSV/Parquet import) coerces frames through `conform`, so a missing or
mistyped column fails with one error naming the column and where it came from.
"""

from __future__ import annotations

import contextlib

import numpy as np
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
BOOLEAN_WORDS = {
    **dict.fromkeys(("true", "1", "yes", "y", "ja", "j", "x"), True),
    **dict.fromkeys(("false", "0", "no", "n", "nein"), False),
}
# text columns are Arrow-backed: hashing, isin, strip and group-by on ids run in C++, not per Python object
TEXT_DTYPE = pd.StringDtype("pyarrow")


class SchemaError(ValueError):
    """A frame does not match the data contract; the message names the column and the source."""


def _coerce(series: pd.Series, dtype: str, column: str, source: str, first_line: int | None = None) -> pd.Series:
    if dtype == "string":
        return series.astype(TEXT_DTYPE)
    if dtype.startswith("datetime"):
        if pd.api.types.is_datetime64_any_dtype(series):
            converted = series
        elif (arrow_parsed := _arrow_timestamps(series)) is not None:
            converted = arrow_parsed
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
        _raise_if_bad(series, bad, column, source, "a timestamp", first_line)
        return converted.astype("datetime64[ns]")
    if dtype == "bool":
        if pd.api.types.is_bool_dtype(series):
            return series.astype(bool)
        mapped = series.map(lambda v: BOOLEAN_WORDS.get(str(v).strip().lower()))
        _raise_if_bad(series, mapped.isna(), column, source, "a boolean (true/false, 1/0, yes/no, ja/nein)", first_line)
        return mapped.astype(bool)
    converted = pd.to_numeric(series, errors="coerce")
    _raise_if_bad(series, converted.isna() & series.notna(), column, source, "a number", first_line)
    if dtype == "int64":
        _raise_if_bad(series, converted.isna(), column, source, "an integer (it has empty values)", first_line)
        fractional = converted != converted.round()
        _raise_if_bad(series, fractional, column, source, "an integer (it has fractional values)", first_line)
        return converted.astype("int64")
    return converted.astype(dtype)


def _arrow_timestamps(series: pd.Series) -> pd.Series | None:
    """Naive ISO 8601 text (what SQLite and CSV exports hold) parsed by Arrow in C++, 25x faster than pandas; None
    when any value is not such text (offsets, other formats, non-text): the pandas path then parses and reports."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pa.array(series, type=pa.string(), from_pandas=True)
        stamps = pc.cast(text, pa.timestamp("ns"))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    return pd.Series(stamps.to_numpy(zero_copy_only=False), index=series.index, name=series.name)


def _raise_if_bad(
    series: pd.Series, bad: pd.Series, column: str, source: str, expected: str, first_line: int | None = None
) -> None:
    """SchemaError naming the column, how many values break it and examples (with their file lines when the
    frame came from a file whose first data line is `first_line`)."""
    if bad.any():
        if first_line is None:
            sample = series[bad].astype(str).unique()[:5].tolist()
        else:
            positions = np.flatnonzero(bad.to_numpy())[:5]
            sample = [f"line {first_line + int(p)}: {series.iloc[p]!r}" for p in positions]
        raise SchemaError(
            f"{source}: column '{column}' must hold {expected}; {int(bad.sum())} value(s) do not, e.g. {sample}"
        )


def conform(frame: pd.DataFrame, table: str, source: str, first_line: int | None = None) -> pd.DataFrame:
    """Return `frame` with exactly the contract's columns of `table`, in order, with the contract's dtypes.

    Extra columns are dropped. Raises `SchemaError` naming `source` and the first missing or mistyped column;
    with `first_line` (the file line of the frame's first row) the examples carry their line numbers.
    """
    columns = TABLE_COLUMNS[table]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{source}: missing column(s) {missing} for table '{table}'; expected columns {list(columns)}"
        )
    return pd.DataFrame(
        {c: _coerce(frame[c], dtype, c, source, first_line) for c, dtype in columns.items()}, index=frame.index
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
