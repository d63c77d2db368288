"""CSV files as European ERP systems export them: semicolons, decimal commas, latin-1 or UTF-8 with a BOM,
day-first dates, SAP's trailing minus. Read them into contract-shaped text columns, and write them (tests, demos).

Every choice is detected from the file unless given, and reported back (`CsvDialect.describe`), so an import
says how it read the file. What the values do not decide for sure is refused (`SchemaError`) naming the column,
the lines and the option that decides it, never guessed: dates that read both day-first and month-first, a
column with two decimal conventions or several date formats, a lone `1.250` that may be 1250 or 1.25.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.schema import SchemaError

DELIMITERS = (";", ",", "\t", "|")
NUMERIC_COLUMNS = ("quantity", "unit_price", "line_no")
DATE_COLUMNS = ("order_ts",)
# day and month (either order), year, optional time; RE2 (Arrow's regex engine, no back-references): the two
# separators are compared after the match
_DAY_MONTH = (
    r"^\s*(?P<first>\d{1,2})(?P<sep>[./-])(?P<second>\d{1,2})(?P<sep2>[./-])(?P<year>\d{2,4})"
    r"(?:[ T](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<sec>\d{2}))?)?\s*$"
)
_ISO_DATE = r"\s*\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?\s*"
# the shapes of a number's digits and marks (sign, spaces and SAP's trailing minus removed): what each says about
# the decimal mark. A lone mark before exactly three digits (1.250, 1,250) says nothing: 1250 or 1.25.
_NUMBER_SHAPES = {
    "comma": r"\d*,\d{1,2}|\d*,\d{4,}|\d{1,3}(?:\.\d{3})+,\d*|\d{1,3}(?:\.\d{3}){2,}",  # 12,5 0,1234 1.234,5 1.234.567
    "point": r"\d*\.\d{1,2}|\d*\.\d{4,}|\d{1,3}(?:,\d{3})+\.\d*|\d{1,3}(?:,\d{3}){2,}",  # 12.5 0.1234 1,234.5 1,234,567
    "lone_point": r"\d+\.\d{3}",
    "lone_comma": r"\d+,\d{3}",
    "plain": r"\d+\.?",
}
_MARK = {"comma": ",", "point": ".", "lone_comma": ",", "lone_point": "."}
MAX_EXAMPLES = 5


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


def _lines(values: pd.Series, mask, first_line: int, limit: int = MAX_EXAMPLES) -> str:
    """'line 7: '05.03.2026', ...' for the first rows of `mask` (row positions counted from `first_line`)."""
    positions = np.flatnonzero(np.asarray(mask, dtype=bool))[:limit]
    return ", ".join(f"line {first_line + int(p)}: {values.iloc[p]!r}" for p in positions)


def _text(values: pd.Series) -> pd.Series:
    return values.astype("string[pyarrow]").str.strip()


def day_month_parts(values: pd.Series) -> pd.DataFrame:
    """The fields of each day-month date (`first`, `second`, `year`, `hour`, `minute`, `sec` as numbers, `sep` as
    text); <NA> rows for values of another shape. Matched in C++ by Arrow: a column of millions of dates."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(values.astype("string[pyarrow]").array, type=pa.large_string())
    matched = pc.extract_regex(text, _DAY_MONTH)
    fields = {name: pc.struct_field(matched, name) for name in ("first", "sep", "second", "sep2", "year")}
    same = pc.fill_null(pc.equal(fields["sep"], fields["sep2"]), False).to_numpy(zero_copy_only=False)
    parts = {"sep": pd.Series(fields["sep"].to_pandas(), index=values.index, dtype="string[pyarrow]")}
    for name in ("first", "second", "year", "hour", "minute", "sec"):
        field = pc.struct_field(matched, name)
        number = pc.cast(pc.if_else(pc.equal(field, ""), None, field), pa.int64())
        parts[name] = pd.Series(number.to_pandas(), index=values.index).astype("Int64")
    frame = pd.DataFrame(parts, index=values.index)
    return frame.where(pd.Series(same, index=values.index), pd.NA)


def number_shapes(values: pd.Series) -> pd.Series:
    """Each value's shape (see _NUMBER_SHAPES), 'other' for text that is no number in either convention, and
    <NA> for empty values."""
    text = _text(values).str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    body = text.str.replace(r"^[+-]|-$", "", regex=True)
    shapes = pd.Series(pd.NA, index=values.index, dtype="string[pyarrow]")
    for shape, pattern in reversed(_NUMBER_SHAPES.items()):  # the first pattern listed wins
        shapes = shapes.mask(body.str.fullmatch(pattern).fillna(False).astype(bool), shape)
    return shapes.mask(shapes.isna() & text.notna() & (text != ""), "other")


def decide_decimal(frame: pd.DataFrame, columns: list[str], given: str | None, first_line: int) -> str:
    """The decimal mark of the numeric `columns`: the given one, else the one the values prove. Refused
    (SchemaError): values that are no number in either convention, a column or file with both conventions, values
    that contradict the given mark, and lone `1.250`-like values that nothing decides."""
    proofs: dict[str, tuple[str, str]] = {}  # mark -> (column, example lines)
    lone: dict[str, tuple[str, str]] = {}  # mark of a lone 3-digit group -> (column, example lines)
    for column in columns:
        values = frame[column]
        shapes = number_shapes(values)
        # 1.2.3 or 12,5,0 is no number in either convention (values without a mark, e.g. 'viele', are left for the
        # contract, which names them)
        broken = ((shapes == "other") & _text(values).str.contains(r"[.,]")).fillna(False)
        if broken.any():
            raise SchemaError(
                f"column '{column}' must hold numbers; these are no number with either decimal mark: "
                f"{_lines(values, broken, first_line)}"
            )
        comma, point = (shapes == "comma").fillna(False), (shapes == "point").fillna(False)
        if comma.any() and point.any():
            raise SchemaError(
                f"column '{column}' mixes two decimal conventions: decimal comma ({_lines(values, comma, first_line)})"
                f" and decimal point ({_lines(values, point, first_line)}). Write every number of the column the "
                "same way in the export (e.g. 1234,50 or 1234.50) and import again"
            )
        for mark, proof in ((",", comma), (".", point)):
            if proof.any():
                proofs.setdefault(mark, (column, _lines(values, proof, first_line, 3)))
        for mark, shape in ((",", "lone_comma"), (".", "lone_point")):
            found = (shapes == shape).fillna(False)
            if found.any():
                lone.setdefault(mark, (column, _lines(values, found, first_line, 3)))
    if len(proofs) == 2:
        (c_col, c_lines), (p_col, p_lines) = proofs[","], proofs["."]
        raise SchemaError(
            f"the file mixes two decimal conventions: decimal comma in column '{c_col}' ({c_lines}) and decimal "
            f"point in column '{p_col}' ({p_lines}). Export every number the same way and import again"
        )
    proven = next(iter(proofs), None)
    if given is not None and proven is not None and proven != given:
        column, lines = proofs[proven]
        raise SchemaError(
            f"--decimal {given!r} was given, but column '{column}' has numbers whose decimal mark is {proven!r} "
            f"({lines}). Pass --decimal {proven!r}, or leave the option out to detect it"
        )
    decimal = given or proven
    if given is None:
        # a lone 1.250 is 1250 only with a decimal comma, and 1.25 only with a decimal point: refuse to pick
        other = {",": ".", ".": ","}
        doubtful = [mark for mark in lone if decimal is None or mark == other[decimal]]
        if doubtful:
            column, lines = lone[doubtful[0]]
            mark = doubtful[0]
            if decimal is None:
                reason = "nothing in the file shows which mark is the decimal mark"
                fix = (
                    f"Pass --decimal {other[mark]!r} if {mark!r} separates thousands, or --decimal {mark!r} if it is "
                    "the decimal mark"
                )
            else:
                proof_column, proof_lines = proofs[decimal]
                reason = f"yet column '{proof_column}' writes decimals with {decimal!r} ({proof_lines})"
                fix = f"If {mark!r} separates thousands there, pass --decimal {decimal!r}; else correct those lines"
            raise SchemaError(
                f"column '{column}' has numbers such as {lines} that read as thousands (1{mark}250 = 1250) or as "
                f"decimals (1{mark}250 = 1.25): {reason}. {fix}"
            )
    return decimal or "."


def normalise_numbers(values: pd.Series, decimal: str) -> pd.Series:
    """Text numbers as Python reads them: thousands separators dropped, '.' as decimal mark, a trailing minus
    (SAP: '12,50-') moved to the front. Empty stays empty; anything else is left for the contract to reject."""
    text = _text(values).str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    thousands = "." if decimal == "," else ","
    text = text.str.replace(thousands, "", regex=False)
    if decimal == ",":
        text = text.str.replace(",", ".", regex=False)
    trailing = text.str.endswith("-", na=False) & (text.str.len() > 1)
    text = text.where(~trailing, "-" + text.str[:-1])
    return text.replace("", pd.NA)


def date_shapes(values: pd.Series, separators: pd.Series | None = None) -> pd.Series:
    """Each date's format: 'YYYY-MM-DD' (ISO 8601), 'NN.NN.YYYY' / 'NN/NN/YYYY' / 'NN-NN-YYYY' (day and month in
    either order), 'other'; <NA> for empty values."""
    text = _text(values)
    sep = day_month_parts(values)["sep"] if separators is None else separators
    shapes = ("NN" + sep + "NN" + sep + "YYYY").astype("string[pyarrow]")
    shapes = shapes.mask(text.str.fullmatch(_ISO_DATE).fillna(False).astype(bool), "YYYY-MM-DD")
    return shapes.mask(shapes.isna() & text.notna() & (text != ""), "other")


def check_one_date_format(values: pd.Series, column: str, first_line: int, separators: pd.Series | None = None) -> None:
    """Refuse a column whose dates come in more than one format (the odd lines named): `05.03.2026` among ISO dates
    would otherwise be read as whatever a parser guesses."""
    shapes = date_shapes(values, separators)
    counts = shapes.value_counts()
    if len(counts) > 1:
        usual = counts.index[0]
        odd = (shapes != usual).fillna(False)
        formats = ", ".join(f"{count} as {shape}" for shape, count in counts.items())
        raise SchemaError(
            f"column '{column}' has dates in {len(counts)} formats ({formats}); the lines not written {usual}: "
            f"{_lines(values, odd, first_line)}. Write every date of the column in one format in the export and "
            "import again"
        )


def decide_dayfirst(
    values: pd.Series, column: str, given: bool | None, first_line: int, parts: pd.DataFrame | None = None
) -> bool | None:
    """The date order of `column`: None for ISO 8601, else the one the values prove, else the given one. Refused:
    both orders in one column, values that contradict the given order, and a column that reads both ways."""
    parts = day_month_parts(values) if parts is None else parts
    matched = parts["first"].notna()
    if not matched.any():
        return None
    first = parts["first"].fillna(0)
    second = parts["second"].fillna(0)
    day_first, month_first = (first > 12).to_numpy(bool), (second > 12).to_numpy(bool)
    if day_first.any() and month_first.any():
        raise SchemaError(
            f"column '{column}' has day-first dates ({_lines(values, day_first, first_line, 3)}) and month-first "
            f"dates ({_lines(values, month_first, first_line, 3)}). Write every date in one order and import again"
        )
    proven = True if day_first.any() else False if month_first.any() else None
    if given is not None and proven is not None and proven != given:
        said, proof = ("--dayfirst", month_first) if given else ("--monthfirst", day_first)
        raise SchemaError(
            f"{said} was given, but column '{column}' has dates that can only be "
            f"{'month' if given else 'day'}-first ({_lines(values, proof, first_line, 3)}). Leave the option out"
        )
    if proven is not None or given is not None:
        return proven if proven is not None else given
    differs = (first != second).to_numpy(bool) & matched.to_numpy(bool)
    if not differs.any():
        return True  # 01.01.2026: the same date either way
    p = int(np.flatnonzero(differs)[0])
    a, b = int(first.iloc[p]), int(second.iloc[p])
    months = [pd.Timestamp(2026, m, 1).strftime("%B") for m in range(1, 13)]
    raise SchemaError(
        f"column '{column}': every date reads both day-first and month-first (line {first_line + p}: "
        f"{values.iloc[p]!r} is {a} {months[b - 1]} or {b} {months[a - 1]}), so the file cannot say which. Pass "
        "--dayfirst or --monthfirst (or set RECSYS_IMPORT_DATES=day-first|month-first)"
    )


def parse_day_month(values: pd.Series, dayfirst: bool, parts: pd.DataFrame | None = None) -> pd.Series:
    """Day-first (or month-first) dates with '.', '/' or '-', two- or four-digit years, optional time; values
    that do not have that shape become NaT (the contract then names them)."""
    parts = day_month_parts(values) if parts is None else parts
    day, month = (parts["first"], parts["second"]) if dayfirst else (parts["second"], parts["first"])
    year = parts["year"].where(parts["year"] >= 100, parts["year"] + 2000)
    frame = pd.DataFrame(
        {
            "year": year,
            "month": month,
            "day": day,
            "hour": parts["hour"].fillna(0),
            "minute": parts["minute"].fillna(0),
            "second": parts["sec"].fillna(0),
        }
    )
    return pd.to_datetime(frame, errors="coerce")


def read_csv_text(path: Path, given: CsvDialect) -> tuple[pd.DataFrame, CsvDialect]:
    """All columns of `path` as text (headers stripped), and the encoding and delimiter it was read with."""
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
    return frame, replace(given, encoding=encoding, delimiter=delimiter)


def normalise_values(
    frame: pd.DataFrame,
    given: CsvDialect,
    first_line: int = 2,
    numeric: tuple[str, ...] = NUMERIC_COLUMNS,
    dates: tuple[str, ...] = DATE_COLUMNS,
) -> tuple[pd.DataFrame, CsvDialect]:
    """The `numeric` and `dates` columns of `frame` held as text (default: the orders contract's), normalised to
    what the contract parses; refuses (SchemaError) what the values do not decide for sure. Columns that are not
    text are left as they are."""
    frame = frame.copy()
    text_columns = {c for c in frame.columns if pd.api.types.is_object_dtype(frame[c]) or frame[c].dtype == "string"}
    numbers = [column for column in numeric if column in text_columns]
    decimal = decide_decimal(frame, numbers, given.decimal, first_line) if numbers else given.decimal or "."
    for column in numbers:
        frame[column] = normalise_numbers(frame[column], decimal)
    dayfirst = None
    for column in (c for c in dates if c in text_columns):
        parts = day_month_parts(frame[column])
        check_one_date_format(frame[column], column, first_line, parts["sep"])
        dayfirst = decide_dayfirst(frame[column], column, given.dayfirst, first_line, parts)
        if dayfirst is not None:
            parsed = parse_day_month(frame[column], dayfirst, parts)
            # keep the text where the shape did not match, so the contract reports the value and its line
            frame[column] = parsed.astype(object).where(parsed.notna(), frame[column])
    return frame, replace(given, decimal=decimal, dayfirst=dayfirst)


def read_erp_csv(path: Path, given: CsvDialect) -> tuple[pd.DataFrame, CsvDialect]:
    """All columns of `path` as text, numbers and dates normalised to what the data contract parses, and the
    dialect it was read with (the given settings, the rest detected)."""
    frame, dialect = read_csv_text(path, given)
    return normalise_values(frame, dialect)


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
