"""Property: an order table written in any supported CSV dialect (delimiter, decimal mark, thousands separators,
date order and format, encoding with or without a byte-order mark, quoting, SAP's trailing minus) reads back with
exactly the values written; where the values cannot decide the dialect (dates that read both ways, a lone
`1.250`), the import refuses, and reads exactly once the option is given."""

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys_assets.core.data.schema import ORDER_COLUMNS, SchemaError
from recsys_assets.core.stores.erp_csv import DELIMITERS, CsvDialect
from recsys_assets.core.stores.importer import read_orders_file

# modest: each example reads a file (~0.2 s of pandas on a busy machine)
FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ID_CHARS = "ABCXYZ0123456789äöüßé-;,|\"'"
DATE_FORMATS = {  # name -> (strftime format, dayfirst)
    "iso": ("%Y-%m-%d %H:%M:%S", None),
    "iso_t": ("%Y-%m-%dT%H:%M", None),
    "german": ("%d.%m.%Y %H:%M", True),
    "british": ("%d/%m/%Y", True),
    "dashes": ("%d-%m-%Y %H:%M:%S", True),
    "us": ("%m/%d/%Y %H:%M", False),
}


@st.composite
def dialects(draw):
    delimiter = draw(st.sampled_from(DELIMITERS))
    return {
        "delimiter": delimiter,
        "decimal": draw(st.sampled_from([",", "."])),
        "thousands": draw(st.booleans()),
        "trailing_minus": draw(st.booleans()),
        "dates": draw(st.sampled_from(sorted(DATE_FORMATS))),
        "encoding": draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"])),
        "quoting": draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
    }


@st.composite
def order_tables(draw, ambiguous_days=False):
    """Order lines with the values the contract holds; day-of-month up to 12 only with `ambiguous_days`."""
    n = draw(st.integers(2, 12))
    ids = st.text(ID_CHARS, min_size=1, max_size=6)
    day = st.integers(1, 12) if ambiguous_days else st.integers(1, 28)
    stamps = [
        dt.datetime(draw(st.integers(2020, 2026)), draw(st.integers(1, 12)), draw(day), draw(st.integers(0, 23)),
                    draw(st.integers(0, 59)))
        for _ in range(n)
    ]  # fmt: skip
    if ambiguous_days and all(s.day == s.month for s in stamps):
        stamps[0] = stamps[0].replace(day=stamps[0].month % 12 + 1)  # at least one date that reads two ways
    if not ambiguous_days:
        stamps[0] = stamps[0].replace(day=draw(st.integers(13, 28)))  # one date decides the order
    # quantities: whole numbers below 1000, or tenths (always written with a decimal mark); prices in cents
    quantities = [
        draw(st.one_of(st.integers(-999, 999).map(float), st.integers(-99_999_999, 99_999_999).map(lambda v: v / 10)))
        for _ in range(n)
    ]
    return pd.DataFrame(
        {
            "order_id": [draw(ids) for _ in range(n)],
            "line_no": [draw(st.integers(1, 500)) for _ in range(n)],
            "order_ts": stamps,
            "customer_id": [draw(st.from_regex(r"0{0,3}[0-9]{1,5}", fullmatch=True)) for _ in range(n)],
            "product_id": [draw(ids) for _ in range(n)],
            "quantity": quantities,
            "unit_price": [draw(st.integers(0, 500_000_00)) / 100 for _ in range(n)],
            "currency": [draw(st.sampled_from(["EUR", "CHF", "GBP"])) for _ in range(n)],
            "order_status": [draw(st.sampled_from(["completed", "cancelled"])) for _ in range(n)],
        }
    )


def number(value: float, places: int, dialect: dict) -> str:
    text = f"{abs(value):{',' if dialect['thousands'] else ''}.{places}f}"
    if dialect["decimal"] == ",":
        text = text.translate(str.maketrans(",.", ".,"))
    if value < 0:
        text = text + "-" if dialect["trailing_minus"] else "-" + text
    return text


def write(table: pd.DataFrame, dialect: dict, lone_thousands: int | None = None) -> Path:
    """The table as an export in `dialect`; `lone_thousands` (1000..999999) appended as a whole quantity written
    with its thousands separator and no decimals (1.250): the ambiguous shape."""
    date_format = DATE_FORMATS[dialect["dates"]][0]
    rows = [list(ORDER_COLUMNS)]
    for line in table.itertuples(index=False):
        quantity = f"{line.quantity:.0f}" if line.quantity.is_integer() and abs(line.quantity) < 1000 else None
        rows.append([line.order_id, str(line.line_no), line.order_ts.strftime(date_format), line.customer_id,
                     line.product_id, quantity or number(line.quantity, 1, dialect),
                     number(line.unit_price, 2, dialect), line.currency, line.order_status])  # fmt: skip
    if lone_thousands is not None:
        rows[-1][5] = number(lone_thousands, 0, {**dialect, "thousands": True})
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=dialect["delimiter"], quoting=dialect["quoting"], lineterminator="\n").writerows(rows)
    path = Path(tempfile.mkdtemp()) / "orders.csv"
    path.write_bytes(buffer.getvalue().encode(dialect["encoding"]))
    return path


def read(path: Path, dayfirst=None, decimal=None) -> pd.DataFrame:
    orders, _, _, _ = read_orders_file(path, CsvDialect(dayfirst=dayfirst, decimal=decimal))
    return orders


def assert_same(read_back: pd.DataFrame, table: pd.DataFrame, dialect: dict) -> None:
    """Every value as written (timestamps to the precision the date format writes)."""
    date_format = DATE_FORMATS[dialect["dates"]][0]
    precision = "s" if "%S" in date_format else "min" if "%M" in date_format else "D"
    want = table.assign(order_ts=table["order_ts"].dt.floor(precision))
    for column in ORDER_COLUMNS:
        assert read_back[column].tolist() == want[column].tolist(), (column, dialect)


@FAST
@given(table=order_tables(), dialect=dialects())
def test_every_dialect_reads_back_exactly_the_values_written(table, dialect):
    assert_same(read(write(table, dialect)), table, dialect)


@FEWER
@given(table=order_tables(ambiguous_days=True), dialect=dialects().filter(lambda d: not d["dates"].startswith("iso")))
def test_dates_that_read_both_ways_are_refused_and_read_exactly_once_the_order_is_said(table, dialect):
    path = write(table, dialect)
    with pytest.raises(SchemaError, match="reads both day-first and month-first.*--dayfirst or --monthfirst"):
        read(path)
    assert_same(read(path, dayfirst=DATE_FORMATS[dialect["dates"]][1]), table, dialect)


@FEWER
@given(table=order_tables(), dialect=dialects(), lone=st.integers(1000, 999_999))
def test_a_lone_thousands_group_is_refused_and_read_exactly_once_the_decimal_mark_is_said(table, dialect, lone):
    path = write(table, dialect, lone_thousands=lone)
    with pytest.raises(SchemaError, match=r"read as thousands .* or as decimals .*--decimal"):
        read(path)
    table.loc[table.index[-1], "quantity"] = float(lone)
    assert_same(read(path, decimal=dialect["decimal"]), table, dialect)
