"""CSV files as European ERP systems export them: semicolons, decimal commas, latin-1 or UTF-8 with a BOM,
day-first dates, SAP's trailing minus. Read them into contract-shaped text columns, and write them (tests, demos).

Every choice is detected from the file unless given, and reported back (`CsvDialect.describe`), so an import
says how it read the file.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

DELIMITERS = (";", ",", "\t", "|")
NUMERIC_COLUMNS = ("quantity", "unit_price", "line_no")
DATE_COLUMNS = ("order_ts",)
_DECIMAL_COMMA = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+-?$")
_DECIMAL_POINT = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)\.\d+-?$")
_DAY_MONTH = re.compile(r"^\s*(\d{1,2})([./-])(\d{1,2})\2(\d{2,4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$")


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is read: text encoding, field delimiter, decimal mark and date order."""

    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    dayfirst: bool | None = None  # None: ISO 8601, or decided from the values

    def describe(self) -> str:
        order = {True: "day-first dates", False: "month-first dates", None: "ISO 8601 dates"}[self.dayfirst]
        return f"encoding {self.encoding}, delimiter {self.delimiter!r}, decimal {self.decimal!r}, {order}"


def detect_encoding(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark) when the bytes decode as such, else Windows-1252 / latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"  # decodes any byte


def detect_delimiter(header: str) -> str:
    """The candidate delimiter that splits the header line into the most fields."""
    counts = {candidate: len(next(csv.reader([header], delimiter=candidate))) for candidate in DELIMITERS}
    return max(counts, key=lambda candidate: (counts[candidate], -DELIMITERS.index(candidate)))


def detect_decimal(values: pd.Series, delimiter: str) -> str:
    """',' when numbers are written 1.234,56 or 12,5; '.' when 1,234.56 or 12.5; else ',' with a ';' delimiter."""
    sample = values.dropna().astype(str).str.strip()
    sample = sample[sample != ""].head(5_000)
    commas = int(sample.str.match(_DECIMAL_COMMA).sum())
    points = int(sample.str.match(_DECIMAL_POINT).sum())
    if commas != points:
        return "," if commas > points else "."
    return "," if delimiter == ";" else "."


def normalise_numbers(values: pd.Series, decimal: str) -> pd.Series:
    """Text numbers as Python reads them: thousands separators dropped, '.' as decimal mark, a trailing minus
    (SAP: '12,50-') moved to the front. Empty stays empty; anything else is left for the contract to reject."""
    text = values.astype("string").str.strip().str.replace("\u00a0", "", regex=False).str.replace(" ", "")
    thousands = "." if decimal == "," else ","
    text = text.str.replace(thousands, "", regex=False)
    if decimal == ",":
        text = text.str.replace(",", ".", regex=False)
    trailing = text.str.endswith("-", na=False) & (text.str.len() > 1)
    text = text.where(~trailing, "-" + text.str[:-1])
    return text.replace("", pd.NA)


def detect_dayfirst(values: pd.Series) -> bool | None:
    """None when the dates are ISO 8601 (year first); else True for day-first (31.12.2025, the European norm and
    the default when every value is ambiguous) and False when a second field above 12 proves month-first."""
    sample = values.dropna().astype(str).str.strip()
    sample = sample[sample != ""].head(20_000)
    parts = sample.str.extract(_DAY_MONTH)
    matched = parts[0].notna()
    if not matched.any() or matched.mean() < 0.5:
        return None
    first, second = parts.loc[matched, 0].astype(int), parts.loc[matched, 2].astype(int)
    month_first = (second > 12).any() and not (first > 12).any()
    return not month_first


def parse_day_month(values: pd.Series, dayfirst: bool) -> pd.Series:
    """Day-first (or month-first) dates with '.', '/' or '-', two- or four-digit years, optional time; values
    that do not have that shape become NaT (the contract then names them)."""
    parts = values.astype("string").str.extract(_DAY_MONTH)
    day, month = (parts[0], parts[2]) if dayfirst else (parts[2], parts[0])
    year = parts[3].astype("Int64")
    year = year.where(year >= 100, year + 2000)
    frame = pd.DataFrame(
        {
            "year": year,
            "month": month.astype("Int64"),
            "day": day.astype("Int64"),
            "hour": parts[4].astype("Int64").fillna(0),
            "minute": parts[5].astype("Int64").fillna(0),
            "second": parts[6].astype("Int64").fillna(0),
        }
    )
    return pd.to_datetime(frame, errors="coerce")


def read_erp_csv(path: Path, given: CsvDialect) -> tuple[pd.DataFrame, CsvDialect]:
    """All columns of `path` as text, numbers and dates normalised to what the data contract parses, and the
    dialect it was read with (the given settings, the rest detected)."""
    data = path.read_bytes()
    encoding = given.encoding or detect_encoding(data)
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise ValueError(f"{path}: cannot decode as {encoding}: {error}") from error
    text = text.removeprefix("\ufeff")
    header = text.split("\n", 1)[0].rstrip("\r")
    delimiter = given.delimiter or detect_delimiter(header)
    frame = pd.read_csv(
        io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True
    )
    frame.columns = [str(column).strip() for column in frame.columns]
    numbers = [column for column in NUMERIC_COLUMNS if column in frame.columns]
    decimal = given.decimal or (
        detect_decimal(pd.concat([frame[c] for c in numbers], ignore_index=True), delimiter) if numbers else "."
    )
    for column in numbers:
        frame[column] = normalise_numbers(frame[column], decimal)
    dayfirst = given.dayfirst
    for column in (c for c in DATE_COLUMNS if c in frame.columns):
        dayfirst = detect_dayfirst(frame[column]) if given.dayfirst is None else given.dayfirst
        if dayfirst is not None:
            parsed = parse_day_month(frame[column], dayfirst)
            # keep the text where the shape did not match, so the contract reports the value and its line
            frame[column] = parsed.astype(object).where(parsed.notna(), frame[column])
    return frame, replace(given, encoding=encoding, delimiter=delimiter, decimal=decimal, dayfirst=dayfirst)


def write_erp_csv(
    frame: pd.DataFrame,
    path: str | Path,
    delimiter: str = ";",
    decimal: str = ",",
    encoding: str = "latin-1",
    date_format: str = "%d.%m.%Y %H:%M:%S",
) -> Path:
    """Write `frame` the way an ERP export looks (defaults: semicolons, decimal commas, latin-1, day-first)."""
    path = Path(path)
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime(date_format)
    out.to_csv(path, sep=delimiter, decimal=decimal, encoding=encoding, index=False)
    return path
